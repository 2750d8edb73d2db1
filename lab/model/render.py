"""Files rendered from the LabConfig: heartbeat's ha.cf, haresources and authkeys, the
nodes' fstab, the pages, and nfs-ganesha's configuration. One function per file;
`render_tree` lays them out as the folders the containers receive (/lab)."""

from __future__ import annotations

import gzip
import html
import io
import os
import re
import tarfile
from pathlib import Path

from .config import BMC_USER, CLIENT, NFS_SERVER, NODES, LabConfig, _secs, bmc_host
from . import pacemaker
from .custom import Custom
from .contract import GANESHA_EXPORTS, HA_DEBUG, HA_LOG, IPFAIL, LAB_DIR, SERIAL_DEVICE, SHARE_MOUNT

ARTICLE_DOMAIN = "haw2.ibm.com"  # the article's names, as its sample pages carry them
ARTICLE_CLUSTER = f"ha.{ARTICLE_DOMAIN}"
ARCHIVE_MTIME = 1104537600  # 2005-01-01, about when the article appeared: the archive is reproducible


def ha_cf(cfg: LabConfig) -> str:
    t = cfg.times
    peers = "\n".join(f"ucast eth0 {cfg.lan_ip(n)}" for n in NODES)
    nodes = "\n".join(f"node\t{cfg.hb_name(n)}" for n in NODES)
    return f"""\
# /etc/ha.d/ha.cf rendered by the heartbeat lab {cfg.name!r} (timing profile {cfg.timing!r}).
# The article's Listing 6, with an Ethernet medium beside the serial cable.
#	File to write debug messages to
debugfile {HA_DEBUG}
#	File to write other messages to
logfile	{HA_LOG}
#	Facility to use for syslog()/logger
logfacility	local0
#	keepalive: how long between heartbeats?
keepalive {_secs(t.keepalive)}
#	deadtime: how long-to-declare-host-dead?
deadtime {_secs(t.deadtime)}
#	warntime: how long before issuing "late heartbeat" warning?
warntime {_secs(t.warntime)}
#	Very first dead time (initdead)
initdead {_secs(t.initdead)}
#	udpport and baud must come before the media lines that use them
udpport	{cfg.udpport}
#	Baud rate for serial ports...
baud	{cfg.baud}
#	serial	serialportname ...
serial	{SERIAL_DEVICE}
#	Ethernet heartbeats over the LAN; heartbeat skips the line naming its own address,
#	so both nodes share this file.
{peers}
#	auto_failback:  determines whether a resource will
#	automatically fail back to its "primary" node, or remain
#	on whatever node is serving it until that node fails, or
#	an administrator intervenes.
auto_failback {cfg.auto_failback}
#	Tell what machines are in the cluster
#	node	nodename ...	-- must match uname -n
{nodes}
{stonith_lines(cfg)}#	haresources mode (heartbeat v1 style), not the CRM/pacemaker
crm	no
#	Treats as a pseudo-cluster-member: the client ha3.
#	Used together with ipfail below: the node that loses sight of it hands over.
ping	{cfg.lan_ip(CLIENT)}
#	Processes started and stopped with heartbeat.  Restarted unless
#		they exit with rc=100
apiauth	ipfail	gid=haclient uid=hacluster
respawn hacluster {IPFAIL}
"""


def stonith_lines(cfg: LabConfig) -> str:
    """ha.cf's fencing (`stonith_host FROM TYPE PARAMS...`, release-1 style: no CRM). A node
    uses the lines naming it (or *). ipmi: each node resets its peer through the peer's
    board, with cluster-glue's external/ipmi (hostname ipaddr userid passwd interface).
    meatware: the survivor waits until an operator runs `meatclient -c NODE`."""
    if cfg.stonith == "ipmi":
        lines = "".join(
            f"stonith_host {cfg.hb_name(n)} external/ipmi {cfg.hb_peer(n)} "
            f"{cfg.mgmt_ip(bmc_host(cfg.peer(n)))} "
            f"{BMC_USER} {cfg.bmc_password} lan\n" for n in NODES)
        return ("#	Fencing: before taking over, reset the peer through its management board (IPMI)\n"
                + lines)
    if cfg.stonith == "meatware":
        return ("#	Fencing by hand: before taking over, wait for an operator's `meatclient -c NODE`\n"
                f"stonith_host * meatware {' '.join(map(cfg.hb_name, NODES))}\n")
    return ""


def haresources(cfg: LabConfig) -> str:
    return (
        f"# /etc/ha.d/haresources rendered by the heartbeat lab {cfg.name!r}; identical on both nodes.\n"
        f"# At start: take the cluster IP, mount the shared /ha, start Apache; at stop, the reverse.\n"
        f"{cfg.hb_name(cfg.master)} IPaddr2::{cfg.vip}/{cfg.prefixlen}/eth0 "
        f"Filesystem::{cfg.share_source}::{SHARE_MOUNT}::{cfg.share_fstype}::rw,hard apache2\n"
    )


def fstab(cfg: LabConfig) -> str:
    """The article's Listing 2: the share's line for /etc/fstab, noauto (heartbeat mounts
    it), so that `mount /ha` and `umount /ha` work by hand while heartbeat is stopped."""
    return f"{cfg.share_source}\t{SHARE_MOUNT}\t{cfg.share_fstype}\tnoauto,rw,hard 0 0\n"


def exports(cfg: LabConfig) -> str:
    """The article's Listing 1 (lost from the web copy): nfsha exports /ha to the LAN,
    read-write, root not squashed (root on the nodes unpacks the pages and Apache's files)."""
    return f"{SHARE_MOUNT}\t{cfg.lan}(rw,sync,no_root_squash)\n"


def hahbcode_archive() -> bytes:
    """The article's download, hahbcode.tar.gz, made from the lab's own pages with the
    article's names in them: hahbcode/www/index.html and hostname.html, which the trainee
    copies into place and edits (cluster name, node name). Byte-for-byte reproducible."""
    article = LabConfig(cluster=ARTICLE_CLUSTER)
    files = {"hahbcode/www/index.html": _page(index_text(article)),
             "hahbcode/www/hostname.html": _page(hostname_text(article, f"ha1.{ARTICLE_DOMAIN}"))}
    raw = io.BytesIO()
    with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz, tarfile.open(fileobj=gz, mode="w") as tar:
        for name in ("hahbcode", "hahbcode/www"):
            info = tarfile.TarInfo(name)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, ARCHIVE_MTIME
            tar.addfile(info)
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, ARCHIVE_MTIME
            tar.addfile(info, io.BytesIO(data))
    return raw.getvalue()


def authkeys(cfg: LabConfig) -> str:
    key = "" if cfg.auth == "crc" else f" {cfg.auth_key}"
    return f"auth 1\n1 {cfg.auth}{key}\n"


def _page(text: str) -> str:
    return f"<html>\n<body>\n{html.escape(text)}\n</body>\n</html>\n"


def index_text(cfg: LabConfig) -> str:
    return f"Hello!!! I am being served from a High Availability Cluster {cfg.cluster}"


def hostname_text(cfg: LabConfig, node: str) -> str:
    """hostname.html's text on `node` (ha1, ha2: named by its hostname), or on a host so named."""
    name = cfg.hb_name(node) if node in NODES else node
    return f"Hello!!! I am being served from a node {name} in a High Availability Cluster {cfg.cluster}"


def page_text(body: str) -> str:
    """What a browser shows of one of the lab's pages: the text without tags, spaces folded."""
    return " ".join(html.unescape(re.sub(r"<[^>]*>", " ", body)).split())


def serving_node(body: str) -> str | None:
    """The node named by a hostname.html body, or None if it names none."""
    m = re.search(r"served from a node (\S+) in a High Availability Cluster", page_text(body))
    return m.group(1) if m else None


def ganesha_conf(cfg: LabConfig) -> str:
    return f"""\
# nfs-ganesha configuration rendered by the heartbeat lab {cfg.name!r}.
# NFSv4 only: rpcbind does not come up usefully in a container and v4 needs none.
NFS_CORE_PARAM {{
    Protocols = 4;
    Enable_NLM = false;
    Enable_RQUOTA = false;
    Enable_UDP = false;
    # Each filesystem's id from its device numbers, not statfs: a container's overlay root
    # reports the fsid of the disk under Docker's data, so where the volume holding /ha is
    # on that same disk (a stock host: one root filesystem) ganesha took /ha for a duplicate
    # of / and refused the export (resolve_posix_filesystem: ENOENT; found by the test
    # matrix's stock-kernel VM).
    Fsid_Device = true;
}}
NFSV4 {{
    # A lab restarts its server on purpose: short lease, no grace period to wait out.
    Graceless = true;
    Lease_Lifetime = 10;
    Grace_Period = 10;
    Allow_Numeric_Owners = true;
    Only_Numeric_Owners = true;
}}
# The exports: what exportfs (the lab's stand-in on nfsha) renders from /etc/exports.
%include "{GANESHA_EXPORTS}"
LOG {{
    Default_Log_Level = EVENT;
}}
"""


def render_tree(cfg: LabConfig, dest: Path, custom: Custom | None = None) -> dict[str, Path]:
    """Write every rendered file under dest; return, per host, the folder (named lab) that
    becomes /lab in its container: etc/ the reference files the lab's solution installs,
    download/ the article's sample code. A `custom` directory's files (`lab up --from`)
    replace the rendered ones they stand for; its resource.d/ goes to the nodes, its www/
    to nfsha."""
    dest = Path(dest)
    out: dict[str, Path] = {}
    archive = hahbcode_archive()
    for node in NODES:
        lab_dir = dest / node / Path(LAB_DIR).name
        etc = lab_dir / "etc"
        _write(etc / "ha.cf", ha_cf(cfg))
        _write(etc / "haresources", haresources(cfg))
        _write(etc / "fstab", fstab(cfg))
        _write(etc / "authkeys", authkeys(cfg), mode=0o600)
        _write(etc / "hostname.html", _page(hostname_text(cfg, node)))
        # the same cluster on Pacemaker and Corosync (--stack pacemaker; the migration's reference)
        _write(etc / "corosync.conf", pacemaker.corosync_conf(cfg))
        _write_bytes(etc / "authkey", pacemaker.corosync_authkey(cfg), mode=0o400)
        _write(etc / "article.crm", pacemaker.crm_script(cfg))
        _write_bytes(lab_dir / "download" / "hahbcode.tar.gz", archive)
        for rel, (data, mode) in (custom.files if custom else {}).items():
            if not rel.startswith("www/"):
                _write_bytes(etc / rel, data, mode)
        if custom and "ha.cf" in custom.files and cfg.stonith != "none":  # fencing is the lab's: --stonith
            _write_bytes(etc / "ha.cf", custom.files["ha.cf"][0] + stonith_lines(cfg).encode())
        out[node] = lab_dir
    lab_dir = dest / NFS_SERVER / Path(LAB_DIR).name
    _write(lab_dir / "etc" / "ganesha.conf", ganesha_conf(cfg))
    _write(lab_dir / "etc" / "exports", exports(cfg))
    _write(lab_dir / "etc" / "index.html", _page(index_text(cfg)))
    _write_bytes(lab_dir / "download" / "hahbcode.tar.gz", archive)
    for rel, (data, mode) in (custom.files if custom else {}).items():
        if rel.startswith("www/"):
            _write_bytes(lab_dir / "etc" / rel, data, mode)
    out[NFS_SERVER] = lab_dir
    return out


def _write(path: Path, text: str, mode: int = 0o644) -> None:
    _write_bytes(path, text.encode(), mode)


def _write_bytes(path: Path, data: bytes, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.chmod(path, mode)
