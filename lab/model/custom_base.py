"""What `lab up --from DIR` knows of heartbeat's files and the node image (the directives heartbeat
3.0.6 accepts, the scripts the image holds), and what a check of DIR finds (Note) and makes
(Custom). lab.model.custom checks ha.cf, authkeys and the folders; lab.model.custom_haresources
checks haresources and places its resources."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from .config import LabConfig


# ---- what heartbeat 3.0.6 accepts in ha.cf ---------------------------------------------------------
# heartbeat's config.c: its Directives[] and WLdirectives[] tables, and the communication
# plugins Debian's heartbeat ships (HBcomm: each is a directive of its own)
OPTION_DIRECTIVES = frozenset("""
node hopfudge keepalive deadtime deadping initdead warntime watchdog baud udpport logfacility
logfile debugfile nice_failback auto_failback rtprio hbgenmethod realtime debug normalpoll
msgfmt use_logd conn_logd_time use_apphbd log_badpack coredumps coreroot crm autojoin uuidfrom
compression compression_threshold traditional_compression env max_rexmit_delay
record_config_changes record_pengine_inputs enable_config_writes
stonith stonith_host apiauth respawn
""".split())
MEDIA_DIRECTIVES = frozenset("serial bcast mcast mcast6 ucast ucast6 ping ping6 ping_group".split())
ETHERNET = ("bcast", "mcast", "mcast6", "ucast", "ucast6")
PING = ("ping", "ping6", "ping_group")
DIRECTIVES = OPTION_DIRECTIVES | MEDIA_DIRECTIVES
# heartbeat's defaults where ha.cf is silent (config.c: init_config)
DEFAULT_KEEPALIVE, DEFAULT_DEADTIME = 1.0, 30.0

# The resource scripts the node image has, that haresources may name (heartbeat looks in
# /etc/ha.d/resource.d, then /etc/init.d). tests/e2e checks this list against the image.
IMAGE_RESOURCE_SCRIPTS = frozenset("""
AudibleAlarm Delay Filesystem ICP IPaddr IPaddr2 IPsrcaddr IPv6addr LVM LinuxSCSI MailTo OCF
Raid1 SendArp ServeRAID WAS WinPopup Xinetd apache apache2 db2 hto-mapfuncs ids portblock
""".split())
IMAGE_INIT_SCRIPTS = frozenset("apache-htcacheclean apache2 corosync dbus heartbeat hwclock.sh ipmievd kmod logd "
                               "nfs-common pacemaker procps rpcbind ssh".split())  # corosync ...: --stack pacemaker
# other distributions' names of the lab's scripts
SCRIPT_ALIASES = {"httpd": "apache2"}
WEB_SERVERS = ("apache2",)  # a script that starts the web server the lab's probe asks
IP_AGENTS = ("IPaddr", "IPaddr2")

FILES = ("ha.cf", "haresources", "authkeys")
FOLDERS = {"resource.d": "resource scripts (installed into /etc/ha.d/resource.d)",
           "www": "pages served from the shared disk (/ha/www/html)"}
LAB_PAGE = "hostname.html"  # the lab's own page: it names the node that answers
HOSTNAME_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")


@dataclass(frozen=True)
class Note:
    """A problem (refused) or a difference (changed to run in the lab), at a file's line."""

    file: str
    line: int | None
    text: str

    def __str__(self) -> str:
        return f"{self.file}{f':{self.line}' if self.line else ''}: {self.text}"


@dataclass
class Custom:
    """A checked directory, adapted to the lab: the files to install (text, mode) by their
    path under the lab's etc/, the LabConfig changes it implies, and the differences."""

    source: Path
    files: dict[str, tuple[bytes, int]] = field(default_factory=dict)
    changes: dict[str, object] = field(default_factory=dict)
    differences: list[Note] = field(default_factory=list)
    given: tuple[str, ...] = ()  # which of FILES the directory held

    def config(self, cfg: LabConfig) -> LabConfig:
        return cfg.with_(**self.changes)

    def fixes(self) -> set[str]:
        """The addresses the files decide, which `lab up` must not pick from its pool: the
        VIP, and with it the LAN (and the serial network beside it) that holds it."""
        fixed = self.changes.keys() & {"lan_subnet", "serial_subnet", "vip"}
        return fixed | ({"lan_subnet", "serial_subnet"} if "vip" in fixed else set())


