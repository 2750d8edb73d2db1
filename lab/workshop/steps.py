"""The article's steps as data: each with its section of the article, what the trainee
does in the lab, and the checks that prove it, each with the hint its failure prints.
A new step is a new declaration here, not new control flow."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Callable

from .. import heartbeat
from ..engine.handle import LabHandle
from ..model import hacf
from ..model.config import NFS_SERVER, NODES, LabConfig, Timing, check_timing
from ..model.contract import (APACHE_PATTERN, AUTHKEYS_FILE, GANESHA, HARESOURCES_FILE, HA_CF_FILE, HA_LOG,
                              HEARTBEAT_PROCESS, HEARTBEAT_STARTED, SERIAL_DEVICE, SHARE_MOUNT)
from ..model.render import ARTICLE_CLUSTER, hostname_text, index_text, page_text
from ..observe.state import heartbeat_running, link_status
from ..roles import host
from ..roles.host import Host
from ..roles.node import mount_test_script, parse_mount_test
from . import solutions
from .checks import (Check, Probe, Settled, address, cl_status, each_node, exists, file_matches, file_mode, mounted,
                     page, process, same_file, symlink)


@dataclass(frozen=True)
class Step:
    id: str
    title: str
    article: str  # where in the article
    todo: str  # what the trainee does in the lab (the article's commands, adapted where the lab must differ)
    checks: Callable[[LabConfig], tuple[Check, ...]]
    solve: solutions.Solution  # the lab's reference solution: `lab solve`, and `lab up --stage` for the steps before

    def instructions(self, cfg: LabConfig) -> str:
        """todo with the lab's own values: {lan}, {vip}, {master}, {backup}, {cluster}, {fstype}."""
        return self.todo.format(lan=cfg.lan, vip=cfg.vip, master=cfg.master, backup=cfg.backup,
                                cluster=cfg.cluster, fstype=cfg.share_fstype)


@dataclass(frozen=True)
class Exercise(Step):
    setup: Callable[[LabHandle], None] | None = None  # what `lab exercise NAME` does to the cluster first


def _read(lab: LabHandle, node: str, path: str) -> str:
    res = lab.run(node, host.read_argv(path), timeout=10)  # as it is: line numbers count
    if not res.ok:
        raise FileNotFoundError(f"{path} does not exist on {node}")
    return res.output


# ---- probes that need more than one look -------------------------------------------------------
def serial_carries_bytes(lab: LabHandle) -> tuple[bool, str]:
    """With heartbeat running on both nodes, heartbeat's view of the serial link; else the
    article's cat/echo test in both directions."""
    a, b = NODES
    if all(heartbeat_running(lab, n) for n in NODES):
        out = link_status(lab, a, SERIAL_DEVICE)
        return out == "up", f"heartbeat on {a} sees the serial link to {b} {out!r}"
    if any(heartbeat_running(lab, n) for n in NODES):
        return False, "heartbeat runs on one node only: it reads the port, so the cable cannot be tested"
    heartbeat.serial_test(lab, b, a)
    heartbeat.serial_test(lab, a, b)
    return True, f"'{heartbeat.SERIAL_TEST_TEXT}' crossed the cable both ways"


def hacf_nodes_match_uname(node: str) -> Probe:
    def probe(lab: LabHandle) -> tuple[bool, str]:
        names = [n for v in hacf.values(_read(lab, node, HA_CF_FILE), "node") for n in v.split()]
        unames = {n: Host(lab, n).ask(host.name_argv(), timeout=10)[1] for n in NODES}
        missing = [u for u in unames.values() if u not in names]
        return not missing, f"node lines name {names or 'no node'}; uname -n says {sorted(unames.values())}"
    return probe


def hacf_timers_sound(node: str) -> Probe:
    def probe(lab: LabHandle) -> tuple[bool, str]:
        t = hacf.timers(_read(lab, node, HA_CF_FILE))
        missing = [k for k in ("keepalive", "deadtime", "initdead") if k not in t]
        if missing:
            return False, f"ha.cf on {node} sets no {', '.join(missing)}"
        seen = f"keepalive {t['keepalive']:g} s, deadtime {t['deadtime']:g} s, initdead {t['initdead']:g} s"
        # heartbeat's own rules, as `lab up` checks them; warntime is not this check's concern
        problems = check_timing(Timing(t["keepalive"], t["deadtime"], t["keepalive"], t["initdead"]))
        return not problems, "; ".join([seen, *problems])
    return probe


def hacf_medium(node: str, kind: str) -> Probe:
    def probe(lab: LabHandle) -> tuple[bool, str]:
        found = hacf.media(_read(lab, node, HA_CF_FILE))[kind]
        ok = bool(found) and (kind != "serial" or SERIAL_DEVICE in found)
        return ok, f"{kind} media in ha.cf on {node}: {found or 'none'}"
    return probe


def authkeys_sound(node: str) -> Probe:
    def probe(lab: LabHandle) -> tuple[bool, str]:
        read = hacf.authkeys(_read(lab, node, AUTHKEYS_FILE))
        if read.method is None:
            return False, f"authkeys on {node}: " + "; ".join(
                f"line {n}: {what}" if n else what for n, what in read.problems)
        return True, f"authkeys on {node}: auth {read.use[1]} uses {read.method}"
    return probe


def haresources_line(cfg: LabConfig) -> Probe:
    def probe(lab: LabHandle) -> tuple[bool, str]:
        groups = hacf.resource_groups(_read(lab, cfg.master, HARESOURCES_FILE))
        if len(groups) != 1:
            return False, f"haresources on {cfg.master} has {len(groups)} resource lines (expected one)"
        words = groups[0][1]
        problems = []
        if words[0] != cfg.master:
            problems.append(f"it names {words[0]} as the preferred node, not the master {cfg.master}")
        ip = next((w.split("::", 1)[1].split("/")[0] for w in words if re.match(r"IPaddr2?::", w)), None)
        if ip is None:
            problems.append("no IPaddr2::<VIP> resource")
        elif ipaddress.IPv4Address(ip) not in cfg.lan:
            problems.append(f"the address {ip} is not in the LAN {cfg.lan}")
        if not any(w.startswith(f"Filesystem::{cfg.share_source}::{SHARE_MOUNT}::") for w in words):
            problems.append(f"no Filesystem::{cfg.share_source}::{SHARE_MOUNT}::<type>::rw,hard resource")
        if not any(w in ("apache2", "httpd") for w in words):
            problems.append("no Apache resource (apache2)")
        return not problems, "; ".join(problems) or " ".join(words)
    return probe


def started_master_first(cfg: LabConfig) -> Probe:
    """The backup's heartbeat, in its current run, found the master's already running: it saw
    the master before it ever declared it dead. Started first, the backup waits initdead,
    logs "node <master>: is dead" and takes the resources itself."""
    def probe(lab: LabHandle) -> tuple[bool, str]:
        log = _read(lab, cfg.backup, HA_LOG)
        start = log.rfind(HEARTBEAT_STARTED)
        if start < 0:
            return False, f"heartbeat never started on {cfg.backup}"
        run = log[start:]
        name = re.escape(cfg.hb_name(cfg.master))
        seen = re.search(rf"Link {name}:\S+ up|Status update for node {name}:", run)
        dead = run.find(f"node {cfg.hb_name(cfg.master)}: is dead")
        if dead >= 0 and (seen is None or dead < seen.start()):
            raise Settled(f"heartbeat on {cfg.backup} started while {cfg.master}'s was not running: it declared "
                          f"{cfg.master} dead after initdead and took the resources itself")
        if seen is None:  # just started: the first heartbeat from the master is a keepalive away
            return False, f"heartbeat on {cfg.backup} has not seen {cfg.master} since it started"
        return True, f"heartbeat on {cfg.backup} found {cfg.master} running when it started"
    return probe


def failed_over_and_back(cfg: LabConfig) -> Probe:
    """The article's test, read from the backup's log: it received the master's shutdown
    notice and took the resources over; and the master serves again now."""
    def probe(lab: LabHandle) -> tuple[bool, str]:
        log = _read(lab, cfg.backup, HA_LOG)
        at = log.find(f"Received shutdown notice from '{cfg.master}'")
        if at < 0:
            return False, f"{cfg.backup}'s {HA_LOG} shows no shutdown of heartbeat on {cfg.master}"
        took = "mach_down takeover complete" in log[at:] or "Taking over resource group" in log[at:]
        return took, f"{cfg.backup} {'took' if took else 'did not take'} the resources over after the stop"
    return probe


def export_mountable(cfg: LabConfig) -> Probe:
    """The real test of an export: the master mounts it (read-only, on a scratch directory,
    with the fstab step's type) and lists it."""
    def probe(lab: LabHandle) -> tuple[bool, str]:
        where = "/run/lab-check-export"
        res = lab.sh(cfg.master, mount_test_script(cfg.share_fstype, cfg.share_source, where), timeout=20)
        entries = parse_mount_test(res.ok, res.output)
        if entries is not None:
            return True, f"{cfg.master} mounted {cfg.share_source} ({entries} entries)"
        shown = " ".join(res.output.strip().splitlines())[-200:]
        return False, f"{cfg.master} could not mount {cfg.share_source}: {shown or 'no answer'}"
    return probe


def not_mounted_by_hand(node: str) -> Probe:
    """/ha is not mounted on the node, unless heartbeat runs there and it is heartbeat's
    mount (a hand mount beside heartbeat is the start-cluster step's backup-not-mounted)."""
    unmounted = mounted(node, SHARE_MOUNT, wanted=False)

    def probe(lab: LabHandle) -> tuple[bool, str]:
        ok, seen = unmounted(lab)
        if not ok and heartbeat_running(lab, node):
            return True, f"{seen} (heartbeat runs on {node}: its mount)"
        return ok, seen
    return probe


def page_file(node: str, path: str, text: Callable[[LabConfig], str]) -> Callable[[LabConfig], Probe]:
    """A page's file says exactly what the browser must show (the sample's names edited)."""
    def make(cfg: LabConfig) -> Probe:
        def probe(lab: LabHandle) -> tuple[bool, str]:
            shown = page_text(_read(lab, node, path))
            return shown == text(cfg), f"{path} on {node} says {shown[:110]!r}"
        return probe
    return make


# ---- the steps ------------------------------------------------------------------------------------
STEPS: tuple[Step, ...] = (
    Step("serial-cable", "Test the serial cable", "Establish a serial connection",
         "On ha1: cat < /dev/ttyS0. On ha2: echo \"Serial Connection test\" > /dev/ttyS0. Then the other way "
         "round. (heartbeat reads the port too: test it while heartbeat is stopped.)",
         lambda cfg: (
             *each_node(lambda n: Check(f"serial-device-{n}", f"{n} has its end of the cable, {SERIAL_DEVICE}",
                                    exists(n, SERIAL_DEVICE),
                                    f"the cable's end is made at boot: restart {n} (lab heal) if it is missing")),
             Check("serial-carries-bytes", "the cable carries bytes both ways", serial_carries_bytes,
                   "stop heartbeat on both nodes and repeat the article's cat/echo test; the serial-cable "
                   "process (ps ax | grep socat) must run on both nodes", wait=cfg.failover_wait),
         ), solutions.SERIAL_CABLE),
    Step("nfs-export", "Export /ha from nfsha", "Create NFS used as a shared file system, steps 1-3 (Listing 1)",
         "On nfsha (lab shell nfsha): mkdir -p /ha; add the export to /etc/exports, e.g. "
         "`/ha {lan}(rw,sync,no_root_squash)`; exportfs -ra. (The lab's exportfs hands /etc/exports to "
         "nfs-ganesha, which cannot read it; in the lab /ha already exists: it is the shared disk.)",
         lambda cfg: (
             Check("nfs-server-runs", "the NFS server runs on nfsha",
                   process(NFS_SERVER, GANESHA, label="nfs-ganesha"),
                   "the NFS server (nfs-ganesha) is started at boot: restart nfsha (lab heal)"),
             Check("nfs-exports-line", "/etc/exports on nfsha exports /ha read-write, root not squashed",
                   file_matches(NFS_SERVER, "/etc/exports", rf"^\s*{SHARE_MOUNT}\s+\S*\(\S*\brw\b\S*\bno_root_squash\b"
                                rf"|^\s*{SHARE_MOUNT}\s+\S*\(\S*\bno_root_squash\b\S*\brw\b"),
                   f"a line `{SHARE_MOUNT} <clients>(rw,sync,no_root_squash)` in /etc/exports (root on the nodes "
                   "writes the pages: without no_root_squash it is squashed to nobody)"),
             Check("nfs-export-mountable", f"{cfg.master} can mount {cfg.share_source}", export_mountable(cfg),
                   "run exportfs -ra on nfsha after editing /etc/exports; its clients must include the LAN",
                   wait=5),
         ), solutions.NFS_EXPORT),
    Step("fstab", "Add the share to /etc/fstab", "Create NFS, step 4 (Listing 2)",
         "On ha1 and ha2: add the line `nfsha:/ha /ha <type> noauto,rw,hard 0 0` to /etc/fstab (<type> is nfs, "
         "or fuse.nfs4fuse where the kernel has no NFS client). heartbeat will mount it: do not mount it at boot.",
         lambda cfg: (
             *each_node(lambda n: Check(f"fstab-line-{n}", f"/etc/fstab on {n} has the share's line",
                                    file_matches(n, "/etc/fstab", rf"^{re.escape(cfg.share_source)}\s+"
                                                 rf"{SHARE_MOUNT}\s+{re.escape(cfg.share_fstype)}\s+\S*rw\S*"),
                                    f"add `{cfg.share_source} {SHARE_MOUNT} {cfg.share_fstype} noauto,rw,hard 0 0`")),
             *each_node(lambda n: Check(f"fstab-noauto-{n}", f"/etc/fstab on {n} does not mount /ha at boot",
                                    file_matches(n, "/etc/fstab", rf"^{re.escape(cfg.share_source)}\s+"
                                                 rf"{SHARE_MOUNT}\s+\S+\s+\S*noauto"),
                                    "add noauto to the options: heartbeat alone mounts /ha, on one node at a time")),
         ), solutions.FSTAB),
    Step("sample-pages", "Unpack the sample pages on the share", "Create NFS, step 5 (Listing 3)",
         "On ha1: mount /ha; cp ~/hahbcode.tar.gz /ha (the lab's copy of the article's download); cd /ha; "
         "tar xvfz hahbcode.tar.gz; cd /; umount /ha (heartbeat mounts /ha from now on).",
         lambda cfg: (
             *(Check(f"sample-{f.split('.')[0]}", f"the share holds the sample's hahbcode/www/{f}",
                     exists(NFS_SERVER, f"{SHARE_MOUNT}/hahbcode/www/{f}"),
                     "mount /ha on ha1, then cd /ha; tar xvfz hahbcode.tar.gz")
               for f in ("index.html", "hostname.html")),
             *each_node(lambda n: Check(f"share-unmounted-{n}", f"/ha is not mounted by hand on {n}",
                                    not_mounted_by_hand(n),
                                    f"cd /; umount /ha on {n}: from now on heartbeat alone mounts it")),
         ), solutions.SAMPLE_PAGES),
    Step("apache-layout", "Serve pages from the shared disk", "Configure the ha of the Apache HTTP Server, steps 2-8",
         "On ha1 with /ha mounted: mkdir -p /ha/www/html; chmod 775 /ha/www /ha/www/html; "
         "cp /ha/hahbcode/www/index.html /ha/www/html and change the cluster name in it to the lab's. "
         "On both nodes: mv /var/www/html /var/www/htmllocal; ln -s /ha/www/html /var/www/html; "
         "cp /ha/hahbcode/www/hostname.html /var/www/htmllocal (the article's `/var/www/html` there is a slip: "
         "the text says htmllocal) and change the cluster and node names in it. Once, with /ha mounted: "
         "ln -s /var/www/htmllocal/hostname.html /ha/www/html/hostname.html. Then umount /ha.",
         lambda cfg: (
             *(Check(f"share-mode-{d.strip('/').replace('/', '-')}", f"{d} is mode 775",
                     file_mode(NFS_SERVER, d, 0o775), f"mkdir -p /ha/www/html; chmod 775 {d}")
               for d in (f"{SHARE_MOUNT}/www", f"{SHARE_MOUNT}/www/html")),
             Check("index-page-file", f"the share's index.html names the cluster {cfg.cluster}",
                   page_file(NFS_SERVER, f"{SHARE_MOUNT}/www/html/index.html", index_text)(cfg),
                   f"cp /ha/hahbcode/www/index.html /ha/www/html/ and replace {ARTICLE_CLUSTER} by {cfg.cluster}"),
             *each_node(lambda n: Check(f"docroot-link-{n}", f"/var/www/html on {n} links to the shared /ha/www/html",
                                    symlink(n, "/var/www/html", "/ha/www/html"),
                                    "mv /var/www/html /var/www/htmllocal; ln -s /ha/www/html /var/www/html")),
             *each_node(lambda n: Check(f"hostname-page-{n}", f"/var/www/htmllocal/hostname.html on {n} names {n} "
                                    f"and the cluster {cfg.cluster}",
                                    page_file(n, "/var/www/htmllocal/hostname.html",
                                              lambda c, n=n: hostname_text(c, n))(cfg),
                                    f"cp /ha/hahbcode/www/hostname.html /var/www/htmllocal/ on {n}, then name {n} "
                                    f"and the cluster {cfg.cluster} in it")),
             Check("hostname-link-on-share", "the share's hostname.html links to each node's local page",
                   symlink(NFS_SERVER, f"{SHARE_MOUNT}/www/html/hostname.html", "/var/www/htmllocal/hostname.html"),
                   "ln -s /var/www/htmllocal/hostname.html /ha/www/html/hostname.html (with /ha mounted)"),
             *each_node(lambda n: Check(f"apache-layout-unmounted-{n}", f"/ha is not mounted by hand on {n}",
                                    not_mounted_by_hand(n),
                                    f"cd /; umount /ha on {n}: heartbeat alone mounts it")),
         ), solutions.APACHE_LAYOUT),
    Step("authkeys", "Write /etc/ha.d/authkeys", "Configure heartbeat, 1 (Listing 5)",
         "On both nodes: /etc/ha.d/authkeys with `auth 1` and `1 sha1 <key>` (or md5 <key>, or crc), the same "
         "on both; chmod 600.",
         lambda cfg: (
             *each_node(lambda n: Check(f"authkeys-mode-{n}", f"authkeys on {n} is mode 600",
                                    file_mode(n, AUTHKEYS_FILE, 0o600),
                                    "chmod 600 /etc/ha.d/authkeys: heartbeat refuses to start otherwise")),
             *each_node(lambda n: Check(f"authkeys-valid-{n}", f"authkeys on {n} names a key with crc, md5 or sha1",
                                    authkeys_sound(n), "write `auth 1` then `1 sha1 <secret>`")),
             Check("authkeys-same", "authkeys is the same on both nodes", same_file(AUTHKEYS_FILE),
                   "copy authkeys from one node to the other: the keys and methods must match"),
         ), solutions.AUTHKEYS),
    Step("ha-cf", "Write /etc/ha.d/ha.cf", "Configure heartbeat, 2 (Listing 6)",
         "On both nodes: the article's ha.cf, with the lab's node names (ha1, ha2), the serial port /dev/ttyS0, "
         "and an Ethernet medium (`ucast eth0 <peer address>` or `bcast eth0`).",
         lambda cfg: (
             *each_node(lambda n: Check(f"hacf-nodes-{n}", f"ha.cf on {n} names both nodes as `uname -n` does",
                                    hacf_nodes_match_uname(n), "node lines must equal `uname -n`: node ha1, node ha2")),
             *each_node(lambda n: Check(f"hacf-timers-{n}", f"ha.cf on {n}: deadtime above 2 x keepalive, "
                                    "initdead at least deadtime", hacf_timers_sound(n),
                                    "heartbeat refuses deadtime <= 2 x keepalive; initdead must be >= deadtime")),
             *each_node(lambda n: Check(f"hacf-serial-{n}", f"ha.cf on {n} uses the serial cable {SERIAL_DEVICE}",
                                    hacf_medium(n, "serial"), f"add `serial {SERIAL_DEVICE}` (and `baud 19200` "
                                    "before it)")),
             *each_node(lambda n: Check(f"hacf-lan-{n}", f"ha.cf on {n} also heartbeats over the LAN",
                                    hacf_medium(n, "ethernet"), "add `ucast eth0 <the other node's address>` "
                                    "(or `bcast eth0`): two media, so one cut cable is not a failover")),
         ), solutions.HA_CF),
    Step("haresources", "Write /etc/ha.d/haresources", "Configure heartbeat, 3 (Listing 7)",
         "On both nodes, the same line: `ha1 IPaddr2::<VIP>/24/eth0 Filesystem::nfsha:/ha::/ha::<type>::rw,hard "
         "apache2` (the article's line lost its IP; IPaddr2, since the nodes have no ifconfig).",
         lambda cfg: (
             Check("haresources-same", "haresources is the same on both nodes", same_file(HARESOURCES_FILE),
                   "copy haresources from one node to the other: it must be identical"),
             Check("haresources-line", "haresources gives the master the VIP, the share and Apache",
                   haresources_line(cfg), f"one line, the same on both nodes, with the VIP in the LAN {cfg.lan}: "
                   f"`{cfg.master} IPaddr2::{cfg.vip}/{cfg.prefixlen}/eth0 "
                   f"Filesystem::{cfg.share_source}::{SHARE_MOUNT}::{cfg.share_fstype}::rw,hard apache2`"),
         ), solutions.HARESOURCES),
    Step("start-cluster", "Start heartbeat, master first", "Test the ha of Apache, step 1",
         "/etc/rc.d/init.d/heartbeat start on ha1, then on ha2. Check /var/log/ha-log (and /var/log/messages if "
         "it fails).",
         lambda cfg: (
             *each_node(lambda n: Check(f"heartbeat-runs-{n}", f"heartbeat runs on {n}",
                                    process(n, HEARTBEAT_PROCESS, label="heartbeat", full=True),
                                    f"/etc/rc.d/init.d/heartbeat start on {n}; if it fails, read /var/log/messages")),
             Check("master-started-first", f"heartbeat was started on the master ({cfg.master}) first",
                   started_master_first(cfg), "stop heartbeat on both nodes, start it on the master, then the backup",
                   wait=cfg.failover_wait),
             *each_node(lambda n: Check(f"peer-active-{n}", f"{n} sees its peer active",
                                    cl_status(n, lambda lab, n=n: ["nodestatus", lab.cfg.hb_peer(n)], "active"),
                                    "both nodes must run heartbeat with the same authkeys and see each other",
                                    wait=cfg.failover_wait)),
             Check("master-holds-vip", f"the master {cfg.master} holds the VIP {cfg.vip}",
                   address(cfg.master, lambda lab: lab.cfg.vip), "read the master's /var/log/ha-log: the takeover "
                   "failed or has not happened", wait=cfg.start_wait),
             Check("master-mounted", f"/ha is mounted on {cfg.master}", mounted(cfg.master, SHARE_MOUNT),
                   "heartbeat mounts /ha through haresources' Filesystem resource", wait=cfg.failover_wait),
             Check("backup-not-mounted", f"/ha is not mounted on the backup {cfg.backup}",
                   mounted(cfg.backup, SHARE_MOUNT, wanted=False),
                   f"umount /ha on {cfg.backup}: the shared disk belongs to one node at a time"),
             Check("master-apache", f"Apache runs on {cfg.master}",
                   process(cfg.master, APACHE_PATTERN, label="Apache", full=True),
                   "heartbeat starts Apache through haresources", wait=cfg.failover_wait),
             Check("backup-no-apache", f"Apache does not run on the backup {cfg.backup}",
                   process(cfg.backup, APACHE_PATTERN, running=False, label="Apache", full=True),
                   f"stop Apache on {cfg.backup}: it belongs to heartbeat alone, never started by hand or at boot"),
         ), solutions.START_CLUSTER),
    Step("browser-test", "Point the browser at the cluster", "Test the ha of Apache, step 2",
         "From ha3 (lab shell ha3): curl http://ha/index.html and http://ha/hostname.html, or a browser at the "
         "127.0.0.1 URL `lab status` prints.",
         lambda cfg: (
             Check("index-page", "index.html at the cluster address shows the article's text",
                   page("index.html", lambda lab: index_text(lab.cfg)), "index.html must be on the share, in /ha/www/html",
                   wait=cfg.failover_wait),
             Check("hostname-page", f"hostname.html at the cluster address names {cfg.master}",
                   page("hostname.html", lambda lab: hostname_text(lab.cfg, lab.cfg.master)),
                   "hostname.html on the share links to each node's /var/www/htmllocal/hostname.html",
                   wait=cfg.failover_wait),
         ), solutions.BROWSER_TEST),
    Step("failover-test", "Fail over and back", "Test the ha of Apache, steps 3-5",
         "/etc/rc.d/init.d/heartbeat stop on ha1: ha2 serves within a minute (look at hostname.html); then "
         "/etc/rc.d/init.d/heartbeat start on ha1: it takes everything back.",
         lambda cfg: (
             Check("failed-over", f"{cfg.backup} took over when heartbeat stopped on {cfg.master}",
                   failed_over_and_back(cfg), f"/etc/rc.d/init.d/heartbeat stop on {cfg.master}, and watch "
                   f"hostname.html name {cfg.backup}"),
             Check("served-again-by-master", f"{cfg.master} serves again", page(
                 "hostname.html", lambda lab: hostname_text(lab.cfg, lab.cfg.master)),
                   f"/etc/rc.d/init.d/heartbeat start on {cfg.master} (auto_failback on)", wait=cfg.failover_wait),
         ), solutions.FAILOVER_TEST),
)
