"""The node-side contract: paths and names that the lab and the node image's scripts
(node-init, serial-cable) both use. They are read from the one file the image installs,
lab/images/node/contract.env, so neither side can rename one alone."""

from __future__ import annotations

from pathlib import Path

CONTRACT_SOURCE = Path(__file__).resolve().parents[1] / "images" / "node" / "contract.env"


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
APACHE_RESOURCE = "/etc/ha.d/resource.d/apache2"
# nfsha (lab/images/nfs): the file its exportfs stand-in renders /etc/exports into, which
# ganesha.conf includes
GANESHA_EXPORTS = "/etc/ganesha/exports.conf"
HEARTBEAT_PROCESS = "^heartbeat: master control"  # pgrep -f pattern of a running heartbeat
