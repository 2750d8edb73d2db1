"""The contracts between the lab and its images: paths and names that the lab and an
image's scripts both use (node-init and serial-cable on the nodes, bmc-init and chassis on
the boards, client-init on ha3). They are read from the one file each image installs,
images/<image>/contract.env, so neither side can rename one alone."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parents[1]
# The images' build contexts: images/ at the top of a checkout (an editable install runs
# from there); an installed wheel carries them inside the package as images
# (pyproject.toml maps the package lab.images to images/).
IMAGES = _PACKAGE / "images" if (_PACKAGE / "images").is_dir() else _PACKAGE.parent / "images"
CONTRACT_SOURCE = IMAGES / "node" / "contract.env"


def _load(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, sep, val = line.partition("=")
            if not sep:
                raise ValueError(f"{path}: expected KEY=value, got {line!r}")
            values[key] = val
    return values


_C = _load(CONTRACT_SOURCE)
BMC_LOG = _load(IMAGES / "bmc" / "contract.env")["BMC_LOG"]  # each board's actions, RFC 3339 stamps
CLUSTER_LOG = _load(IMAGES / "client" / "contract.env")["CLUSTER_LOG"]  # rsyslog on ha3: every node's syslog

LAB_DIR = _C["LAB_DIR"]  # where a container receives the files rendered for it
LAB_ETC = _C["LAB_ETC"]  # the reference files `lab up` renders; the lab's solution installs them from here
BOOTED_MARK = _C["BOOTED_MARK"]  # node-init touches it when the boot is over
AUTOSTART_MARK = _C["AUTOSTART_MARK"]  # if present, heartbeat starts at boot (an enabled service)
HA_LOG = _C["HA_LOG"]  # heartbeat's logfile (ha.cf)
HA_DEBUG = _C["HA_DEBUG"]  # heartbeat's debugfile (ha.cf): its clients' debug lines, ipfail's among them
MESSAGES = _C["MESSAGES"]  # rsyslog's file: heartbeat's local0 lines, microsecond stamps
SERIAL_DEVICE = _C["SERIAL_DEVICE"]  # the null-modem cable's end
SHARE_MOUNT = _C["SHARE_MOUNT"]  # where heartbeat mounts the share
FAULT_CHAIN_IN = _C["FAULT_CHAIN_IN"]  # iptables chains the faults put their rules in
FAULT_CHAIN_OUT = _C["FAULT_CHAIN_OUT"]

# Debian's paths of heartbeat's tools (the article's were under /usr/lib/heartbeat)
HEARTBEAT_INIT = "/etc/rc.d/init.d/heartbeat"  # the article's path (a link to /etc/init.d in the image)
HB_STANDBY = "/usr/share/heartbeat/hb_standby"
HB_TAKEOVER = "/usr/share/heartbeat/hb_takeover"
IPFAIL = "/usr/libexec/heartbeat/ipfail"
SEND_ARP = "/usr/libexec/heartbeat/send_arp"  # IPaddr2's gratuitous ARP sender
# heartbeat's configuration, where Debian's package (and the article) keep it
HA_ETC = "/etc/ha.d"
HA_CF_FILE = f"{HA_ETC}/ha.cf"
HARESOURCES_FILE = f"{HA_ETC}/haresources"
AUTHKEYS_FILE = f"{HA_ETC}/authkeys"
RESOURCE_D = f"{HA_ETC}/resource.d"
APACHE_RESOURCE = f"{RESOURCE_D}/apache2"
# Apache itself, told by its command line: `pgrep -x apache2` also matches the resource script
# above while heartbeat runs it (a script's process name is its file's name), which made a
# backup asked `apache2 status` look like a second Apache. (Not by its executable: Apache
# is not dumpable, so /proc/PID/exe, which `killall /usr/sbin/apache2` reads, is refused.)
APACHE_PATTERN = "^(/usr/sbin/)?apache2( |$)"  # pgrep -f: apache2ctl runs /usr/sbin/apache2 -k start
APACHE_RUNNING = f"pgrep -f '{APACHE_PATTERN}' >/dev/null"  # shell: exit 0 when Apache runs
APACHE_KILL = ["pkill", "-KILL", "-f", APACHE_PATTERN]
# nfsha (images/nfs): the file its exportfs stand-in renders /etc/exports into, which
# ganesha.conf includes
_NFS = _load(IMAGES / "nfs" / "contract.env")
GANESHA = _NFS["GANESHA_PROCESS"]  # nfs-ganesha's process
GANESHA_EXPORTS = _NFS["GANESHA_EXPORTS"]  # the EXPORT blocks nfsha's exportfs renders /etc/exports into
EXPORTS_DROP = _NFS["EXPORTS_DROP"]  # user-namespaced engine: nfsha's exportfs leaves /etc/exports here
HEARTBEAT_PROCESS = "^heartbeat: master control"  # pgrep -f pattern of a running heartbeat
AUDIT_WINDOW_FILE = "/var/lib/heartbeat-lab/audit-window"  # where each node keeps its audit window (observe.audit)
HEARTBEAT_STARTED = "Configuration validated. Starting heartbeat"  # ha-log: where a run of heartbeat begins
