"""Files rendered from the LabConfig: heartbeat's ha.cf, haresources and authkeys, the
nodes' fstab, the pages, and nfs-ganesha's configuration. One function per file;
`render_tree` lays them out as the folders the containers receive (/lab/etc, /lab/share)."""

from __future__ import annotations

import html
import os
import re
from pathlib import Path

from .config import CLIENT, NFS_SERVER, NODES, LabConfig, _secs
from .contract import HA_LOG, IPFAIL, LAB_DIR, SERIAL_DEVICE, SHARE_MOUNT


def ha_cf(cfg: LabConfig) -> str:
    t = cfg.times
    peers = "\n".join(f"ucast eth0 {cfg.lan_ip(n)}" for n in NODES)
    nodes = "\n".join(f"node\t{n}" for n in NODES)
    return f"""\
# /etc/ha.d/ha.cf rendered by the heartbeat lab {cfg.name!r} (timing profile {cfg.timing!r}).
# The article's Listing 6, with an Ethernet medium beside the serial cable.
#	File to write debug messages to
debugfile /var/log/ha-debug
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
#	haresources mode (heartbeat v1 style), not the CRM/pacemaker
crm	no
#	Treats as a pseudo-cluster-member: the client ha3.
#	Used together with ipfail below: the node that loses sight of it hands over.
ping	{cfg.lan_ip(CLIENT)}
#	Processes started and stopped with heartbeat.  Restarted unless
#		they exit with rc=100
apiauth	ipfail	gid=haclient uid=hacluster
respawn hacluster {IPFAIL}
"""


def haresources(cfg: LabConfig) -> str:
    return (
        f"# /etc/ha.d/haresources rendered by the heartbeat lab {cfg.name!r}; identical on both nodes.\n"
        f"# At start: take the cluster IP, mount the shared /ha, start Apache; at stop, the reverse.\n"
        f"{cfg.master} IPaddr2::{cfg.vip}/{cfg.prefixlen}/eth0 "
        f"Filesystem::{cfg.share_source}::{SHARE_MOUNT}::{cfg.share_fstype}::rw,hard apache2\n"
    )


def fstab(cfg: LabConfig) -> str:
    """The article's Listing 2: the share in /etc/fstab, noauto (heartbeat mounts it), so
    that `mount /ha` and `umount /ha` work by hand while heartbeat is stopped."""
    return (
        f"# /etc/fstab rendered by the heartbeat lab {cfg.name!r}\n"
        f"{cfg.share_source}\t{SHARE_MOUNT}\t{cfg.share_fstype}\tnoauto,rw,hard 0 0\n"
    )


def authkeys(cfg: LabConfig) -> str:
    key = "" if cfg.auth == "crc" else f" {cfg.auth_key}"
    return f"auth 1\n1 {cfg.auth}{key}\n"


def _page(text: str) -> str:
    return f"<html>\n<body>\n{html.escape(text)}\n</body>\n</html>\n"


def index_text(cfg: LabConfig) -> str:
    return f"Hello!!! I am being served from a High Availability Cluster {cfg.cluster}"


def hostname_text(cfg: LabConfig, node: str) -> str:
    return f"Hello!!! I am being served from a node {node} in a High Availability Cluster {cfg.cluster}"


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
}}
NFSV4 {{
    # A lab restarts its server on purpose: short lease, no grace period to wait out.
    Graceless = true;
    Lease_Lifetime = 10;
    Grace_Period = 10;
    Allow_Numeric_Owners = true;
    Only_Numeric_Owners = true;
}}
EXPORT {{
    Export_Id = 1;
    # a docker volume: the VFS FSAL cannot export the container's overlayfs
    Path = /export;
    Pseudo = /ha;
    Access_Type = RW;
    Squash = No_Root_Squash;
    SecType = sys;
    Protocols = 4;
    Transports = TCP;
    FSAL {{
        Name = VFS;
    }}
}}
LOG {{
    Default_Log_Level = EVENT;
}}
"""


def render_tree(cfg: LabConfig, dest: Path) -> dict[str, Path]:
    """Write every rendered file under dest; return, per host, the folder (named lab) that
    becomes /lab in its container."""
    dest = Path(dest)
    out: dict[str, Path] = {}
    for node in NODES:
        etc = dest / node / Path(LAB_DIR).name / "etc"
        _write(etc / "ha.cf", ha_cf(cfg))
        _write(etc / "haresources", haresources(cfg))
        _write(etc / "fstab", fstab(cfg))
        _write(etc / "authkeys", authkeys(cfg), mode=0o600)
        _write(etc / "hostname.html", _page(hostname_text(cfg, node)))
        out[node] = dest / node / Path(LAB_DIR).name
    nfs = dest / NFS_SERVER / Path(LAB_DIR).name
    _write(nfs / "etc" / "ganesha.conf", ganesha_conf(cfg))
    # The article's shared tree: /ha/www/html (mode 775) with index.html, and hostname.html
    # a link to each node's local page.
    html_dir = nfs / "share" / "www" / "html"
    _write(html_dir / "index.html", _page(index_text(cfg)))
    link = html_dir / "hostname.html"
    if link.is_symlink() or link.exists():
        link.unlink()
    os.symlink("/var/www/htmllocal/hostname.html", link)
    os.chmod(nfs / "share" / "www", 0o775)
    os.chmod(html_dir, 0o775)
    out[NFS_SERVER] = nfs
    return out


def _write(path: Path, text: str, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.chmod(path, mode)
