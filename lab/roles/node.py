"""The cluster nodes (ha1, ha2): what heartbeat, the VIP, the share and Apache look like on
one node, heartbeat's logs and its own view of the cluster (cl_status), the fault chains,
the heal's one-exec look, ipfail, the serial test, the audit window, and the few commands
the workshop, CTS and the exerciser run there."""

from __future__ import annotations

from ..engine.handle import LabHandle
from ..errors import CommandError
from ..model.config import LabConfig
from .pacemaker import PACEMAKERD, PacemakerNode
from ..model.contract import (APACHE_KILL, APACHE_RESOURCE, APACHE_RUNNING, AUDIT_WINDOW_FILE, AUTOSTART_MARK,
                              BOOTED_MARK, FAULT_CHAIN_IN, FAULT_CHAIN_OUT, HA_CF_FILE, HA_DEBUG, HA_ETC, HA_LOG,
                              HARESOURCES_FILE, HB_STANDBY, HB_TAKEOVER, HEARTBEAT_PROCESS, HEARTBEAT_STARTED,
                              IPFAIL, MESSAGES, SEND_ARP, SERIAL_DEVICE, SHARE_MOUNT)

HELD = ("heartbeat", "vip", "mounted", "apache")  # "heartbeat": the node's cluster stack runs
STACK_PROCESS = {"heartbeat": HEARTBEAT_PROCESS, "pacemaker": PACEMAKERD}  # pgrep -f patterns
NodeState = dict  # {"container": str, "heartbeat", "vip", "mounted", "apache": bool}
IPFAIL_TAIL = 400  # ipfail's lines of the debug log read: the running ipfail's recent ones
# heartbeat's lines on fencing its peer (hb_resource.c, cluster-glue's plugins)
FENCE_LINE = r"Resetting node|now reset|not reset|STONITH of .* failed|OPERATOR INTERVENTION|meatclient"


# ---- build and parse: pure -----------------------------------------------------------------
def holds_script(vip: str, process: str = HEARTBEAT_PROCESS) -> str:
    """One exec for all four: the waits poll this on every node several times a second.
    `process`: the cluster stack's (heartbeat's master control, or pacemakerd)."""
    return (f"pgrep -f '{process}' >/dev/null && echo heartbeat=1 || echo heartbeat=0; "
            f"ip -4 -o addr show dev eth0 | grep -q ' {vip}/' && echo vip=1 || echo vip=0; "
            f"awk '$2==\"{SHARE_MOUNT}\"{{m=1}} END{{print \"mounted=\" (m?1:0)}}' /proc/mounts; "
            f"{APACHE_RUNNING} && echo apache=1 || echo apache=0")


def parse_holds(output: str) -> dict[str, bool] | None:
    """{"heartbeat": .., "vip": .., "mounted": .., "apache": ..}; None when the answer is cut
    short (the node went down, by a power cut or a fence, while it was asked)."""
    held = {}
    for line in output.split():
        key, sep, val = line.partition("=")
        if sep and key in HELD:
            held[key] = val == "1"
    return held if len(held) == len(HELD) else None


TRANSITION_PATTERN = "[R]esourceManager|[h]b_standby|[h]b_takeover|[r]eq_resource"  # heartbeat's movers


def transition_processes_script() -> str:
    """heartbeat's resource movers running now, as `pgrep -a` lists them (a diagnosis)."""
    return f"pgrep -a -f '{TRANSITION_PATTERN}' || true"


def in_transition_script() -> str:
    """Exit 0 while heartbeat acquires or releases resources: its resource scripts run, or it
    says so itself (`cl_status rscstatus` is "transition"). One exec, not three (bench/LOAD.md)."""
    return (f"pgrep -f '{TRANSITION_PATTERN}' >/dev/null && exit 0; "
            f"pgrep -f '{HEARTBEAT_PROCESS}' >/dev/null || exit 1; "
            "[ \"$(cl_status rscstatus 2>/dev/null)\" = transition ]")


def ha_log_argv(lines: int | None = None) -> list[str]:
    return ["tail", "-n", str(lines), HA_LOG] if lines else ["cat", HA_LOG]


def last_fence_script() -> str:
    """heartbeat's last line on fencing since it last started, or nothing."""
    return (f"tac {HA_LOG} 2>/dev/null | sed '/{HEARTBEAT_STARTED}/q' | "
            f"grep -m1 -E '{FENCE_LINE}' || true")


def parse_last_fence(output: str) -> str | None:
    return output.strip() or None


def peer_status_argv(cfg: LabConfig, node: str) -> list[str]:
    return ["cl_status", "nodestatus", cfg.hb_peer(node)]


def link_status_argv(cfg: LabConfig, node: str, link: str) -> list[str]:
    return ["cl_status", "hblinkstatus", cfg.hb_peer(node), link]


def booted_script(cfg: LabConfig, node: str) -> str:
    """Exit 0 once the node booted: init done, its serial port and the cable's UDP socket bound
    (socat opens the pty, and makes its link, before it binds the socket: a line the peer sent
    in between was lost, run 43's `lab up`), the LAN on eth0, the serial network."""
    return (f"test -e {BOOTED_MARK} && test -e {SERIAL_DEVICE} "
            f"&& grep -q ' 00000000:{cfg.serial_port:04X} ' /proc/net/udp "
            f"&& ip -4 -o addr show dev eth0 | grep -q ' {cfg.lan_ip(node)}/' "
            f"&& ip -4 -o addr show | grep -q ' {cfg.serial_ip(node)}/'")


# The fault catalogue's packet filter: iptables rules in chains of the lab's own, hooked first
# into INPUT and OUTPUT, as heartbeat's CTS and Jepsen do.
def fault_chains_script() -> str:
    """Create the fault chains and hook them first into INPUT and OUTPUT (idempotent)."""
    return (f"iptables -N {FAULT_CHAIN_IN} 2>/dev/null; iptables -N {FAULT_CHAIN_OUT} 2>/dev/null; "
            f"iptables -C INPUT -j {FAULT_CHAIN_IN} 2>/dev/null || iptables -I INPUT 1 -j {FAULT_CHAIN_IN}; "
            f"iptables -C OUTPUT -j {FAULT_CHAIN_OUT} 2>/dev/null || iptables -I OUTPUT 1 -j {FAULT_CHAIN_OUT}")


def drop_script(net: str, outgoing: bool = True) -> str:
    """Drop what arrives from `net` (an address or subnet) and, if `outgoing`, what is sent to it."""
    rules = f"iptables -A {FAULT_CHAIN_IN} -s {net} -j DROP"
    return rules + (f" && iptables -A {FAULT_CHAIN_OUT} -d {net} -j DROP" if outgoing else "")


def fault_rules_script() -> str:
    """Both fault chains' rules (`iptables -S`), nothing where they do not exist yet."""
    return f"iptables -S {FAULT_CHAIN_IN} 2>/dev/null; iptables -S {FAULT_CHAIN_OUT} 2>/dev/null; true"


def parse_drops(rules: str) -> list[tuple[str, str]]:
    """The DROP rules of the fault chains as (direction "in" or "out", address or subnet)."""
    found = []
    for line in rules.splitlines():
        words = line.split()
        if len(words) >= 6 and words[0] == "-A" and words[-2:] == ["-j", "DROP"]:
            if words[1] == FAULT_CHAIN_IN and words[2] == "-s":
                found.append(("in", words[3]))
            elif words[1] == FAULT_CHAIN_OUT and words[2] == "-d":
                found.append(("out", words[3]))
    return found


def clear_rules_script() -> str:
    return f"iptables -F {FAULT_CHAIN_IN} 2>/dev/null; iptables -F {FAULT_CHAIN_OUT} 2>/dev/null; true"


def running_for_script() -> str:
    """Whole seconds heartbeat's master control process has run (ps etimes); nothing if it does not."""
    return f"pid=$(pgrep -o -f '{HEARTBEAT_PROCESS}') && ps -o etimes= -p $pid"


def parse_running_for(output: str) -> int | None:
    return int(output.strip()) if output.strip().isdigit() else None


def at_rest_script(cfg: LabConfig, node: str) -> str:
    """One exec that reports everything the heal would otherwise ask a node one by one."""
    peer = cfg.hb_peer(node)
    return (
        f"test -e {BOOTED_MARK} && test -e {SERIAL_DEVICE} && echo booted=1 || echo booted=0; "
        f"{holds_script(cfg.vip)}; "
        "pgrep -f '[R]esourceManager|[h]b_standby|[h]b_takeover|[r]eq_resource' >/dev/null && echo busy=1 "
        "|| echo busy=0; "
        "echo rsc=$(cl_status rscstatus 2>/dev/null); "
        f"echo peer=$(cl_status nodestatus {peer} 2>/dev/null); "
        f"echo lan=$(cl_status hblinkstatus {peer} eth0 2>/dev/null); "
        f"echo serial=$(cl_status hblinkstatus {peer} {SERIAL_DEVICE} 2>/dev/null); "
        f"echo rules=$({{ iptables -S {FAULT_CHAIN_IN}; iptables -S {FAULT_CHAIN_OUT}; }} 2>/dev/null "
        "| grep -c '^-A'); "
        f"pid=$(pgrep -o -f '{HEARTBEAT_PROCESS}') && echo ran=$(ps -o etimes= -p $pid | tr -d ' '); "
        f"echo window=$(tail -n 1 {AUDIT_WINDOW_FILE} 2>/dev/null); "
        f"s=$(grep -an '{HEARTBEAT_STARTED}' {HA_LOG} | tail -n 1 | cut -d: -f1); "
        f"tail -n +${{s:-1}} {HA_LOG} | grep -q 'Initial resource acquisition complete' && echo round=1 || echo round=0; "
        f"echo --ipfail--; grep -a 'ipfail: \\[' {HA_DEBUG} 2>/dev/null | tail -n {IPFAIL_TAIL}"
    )


def parse_at_rest(output: str) -> tuple[dict[str, str], str]:
    """The at-rest script's answers ({"booted": "1", "peer": "active", ...}) and ipfail's
    recent debug lines."""
    head, _, debug = output.partition("--ipfail--\n")
    return dict(ln.partition("=")[::2] for ln in head.splitlines() if "=" in ln), debug


def started_and_declared_dead_script(peer_hb_name: str) -> str:
    """From the node's syslog: when its running heartbeat started (its last "Heartbeat
    generation" line) and when that heartbeat last declared the peer dead ("-" if not)."""
    return (f"awk '/heartbeat: .*Heartbeat generation:/ {{s=$1; d=\"-\"}} "
            f"/heartbeat: .*node {peer_hb_name}: is dead/ {{d=$1}} END {{print s, d}}' {MESSAGES}")


def parse_started_and_declared_dead(output: str) -> tuple[str | None, str | None]:
    fields = output.split()
    started = fields[0] if fields else None
    declared = fields[1] if len(fields) > 1 and fields[1] != "-" else None
    return started, declared


def announce_argv(vip: str) -> list[str]:
    """Announce the VIP held here (gratuitous ARP, with the send_arp IPaddr2 runs)."""
    return [SEND_ARP, "-i", "100", "-r", "3", "eth0", vip, "auto", "not_used", "not_used"]


# heartbeat's logs and ipfail, as the audit and the heal read them
def line_count_script(path: str) -> str:
    return f"wc -l < {path} 2>/dev/null || echo 0"


def parse_count(output: str) -> int:
    """The count on the last line; 0 when there is none (no such file: the shell's complaint,
    then the script's own 0)."""
    last = output.strip().rpartition("\n")[2].strip()
    return int(last) if last.isdigit() else 0


def lines_since_argv(path: str, mark: int) -> list[str]:
    """What a log file holds after its first `mark` lines."""
    return ["tail", "-n", f"+{mark + 1}", path]


def ipfail_debug_script() -> str:
    """ipfail's recent lines of heartbeat's debug log (IPFAIL_TAIL of them)."""
    return f"grep -a 'ipfail: \\[' {HA_DEBUG} 2>/dev/null | tail -n {IPFAIL_TAIL}"


def ipfail_lines_of_script(pid: str) -> str:
    """The debug log's lines of one ipfail process."""
    return f"grep -a 'ipfail: \\[{pid}\\]' {HA_DEBUG}"


def pids_script(command: str) -> str:
    """The pids of the processes whose whole command line is `command` (none: nothing)."""
    return f"pgrep -xf {command} || true"


def stop_script(command: str) -> str:
    return f"pkill -TERM -xf {command} || true"


# the article's serial test: `cat < /dev/ttyS0` on one node, `echo ... > /dev/ttyS0` on the other
def serial_read_script(text: str, ready: str) -> str:
    """Read the cable until `text` arrives; `ready` exists once the reader is about to open
    the port (a line sent before the open waits in the pty: the cable's keeper holds it open)."""
    return f"touch {ready}; grep -m1 -F '{text}' < {SERIAL_DEVICE}"


def serial_cable_state_script() -> str:
    """What a failed serial test should show: where the port points, who holds it, the
    cable's processes (a socat restarted since makes a new pty), the node's UDP counters and
    the cable's socket (queued bytes, drops), and what is waiting unread on the port."""
    return (f"ls -l {SERIAL_DEVICE}; ps -eo pid,etime,args | grep -E '[s]ocat|[s]erial-cable'; "
            f"for p in /proc/[0-9]*; do ls -l $p/fd 2>/dev/null | grep -q pts/ && "
            f"echo \"holds a pty: $(tr '\\0' ' ' < $p/cmdline)\"; done; "
            f"{udp_counters_script()}; awk -v port=\":$(printf %04X ${{SERIAL_PORT:-7000}})\" 'NR==1 || substr($2, 9) == port' /proc/net/udp; "
            f"echo 'unread on the port:'; timeout 1 cat {SERIAL_DEVICE} | od -c | tail -5")


def udp_counters_script() -> str:
    """The node's UDP counters (InDatagrams, NoPorts, InErrors, OutDatagrams, RcvbufErrors...):
    taken before and after a serial test, they tell whether its datagram left and arrived."""
    return "grep '^Udp:' /proc/net/snmp"


def serial_write_script(text: str) -> str:
    return f"echo '{text}' > {SERIAL_DEVICE}"


# the workshop's test of an export, CTS's needs, the audit window, the writes application
def mount_test_script(fstype: str, source: str, where: str) -> str:
    """Mount `source` read-only on a scratch directory, count its entries, unmount."""
    return (f"mkdir -p {where} && mount -t {fstype} -o ro {source} {where} "
            f"&& ls -A {where} | wc -l; umount {where} 2>/dev/null; rmdir {where}")


def parse_mount_test(ok: bool, output: str) -> int | None:
    """The entries counted, or None when the mount failed."""
    lines = output.strip().splitlines()
    return int(lines[-1]) if ok and lines and lines[-1].isdigit() else None


def configured_script() -> str:
    """Exit 0 when heartbeat's ha.cf and haresources are in place (not empty)."""
    return f"test -s {HA_CF_FILE} && test -s {HARESOURCES_FILE}"


def after_cts_script() -> str:
    """What CTS may leave: an interrupted Split_brain's packet-loss file, and an ipfail whose
    heartbeat was killed (DetectionTime's kill -9), spinning on its lost connection: any ipfail
    that is not a child of a running heartbeat is killed."""
    return (f"rm -f {HA_ETC}/OnlyForTesting; for p in $(pgrep -f {IPFAIL}); do "
            "[ \"$(cat /proc/$(ps -o ppid= -p $p | tr -d ' ')/comm 2>/dev/null)\" = heartbeat ] "
            "|| kill -9 $p; done; true")


def window_write_script(lines: str, unless: str = "false", log: str = HA_LOG) -> str:
    """Rewrite the audit window file with `lines` (shell; $n is the length of `log`, the
    stack's log, now), unless `unless` (shell) holds."""
    return (f'f={AUDIT_WINDOW_FILE}; mkdir -p "${{f%/*}}"; touch "$f"; {unless} && exit 0; '
            f'n=$(wc -l < {log} 2>/dev/null || echo 0); '
            f'{{ {lines}; }} > "$f.new"; mv "$f.new" "$f"')


def window_read_script() -> str:
    return f"cat {AUDIT_WINDOW_FILE} 2>/dev/null"


def enable_apache_conf_script(name: str) -> str:
    """Enable an Apache configuration; a running Apache reloads gracefully."""
    return f"a2enconf -q {name} >/dev/null && {{ ! {APACHE_RUNNING} || apache2ctl graceful; }}"


# the rest: root's ssh folder for the exerciser's key, a syslog line, the operator's word
# that a node was reset by hand, heartbeat started at boot from now on
AUTHORIZED_KEYS = "/root/.ssh/authorized_keys"
HOST_KEY = "/etc/ssh/ssh_host_ed25519_key.pub"


def ssh_dir_argv() -> list[str]:
    return ["install", "-d", "-m", "700", "/root/.ssh"]


def logger_argv(text: str) -> list[str]:
    """A line into the node's syslog (local0.info, heartbeat's facility)."""
    return ["logger", "-p", "local0.info", text]


def meatclient_script(node: str) -> str:
    """The operator's confirmation that `node` was reset by hand (meatclient asks y/n)."""
    return f"echo y | meatclient -c {node}"


def autostart_argv() -> list[str]:
    """The mark node-init reads: start heartbeat at boot, like an enabled service."""
    return ["touch", AUTOSTART_MARK]


# ---- run them on a lab ---------------------------------------------------------------------
class Node:
    def __init__(self, lab: LabHandle, name: str):
        self.lab, self.name = lab, name

    def holds(self) -> NodeState:
        """What the node holds: heartbeat running, the VIP, the /ha mount, Apache; and its
        container's state (all False unless it runs)."""
        status = self.lab.container_status(self.name)
        if status != "running":
            return {"container": status, **dict.fromkeys(HELD, False)}
        script = holds_script(self.lab.cfg.vip, STACK_PROCESS[self.lab.cfg.stack])
        held = parse_holds(self.lab.sh(self.name, script, timeout=10).output)
        if held is None:
            return {**dict.fromkeys(HELD, False), "container": self.lab.container_status(self.name)}
        return {"container": "running", **held}

    def heartbeat_running(self) -> bool:
        return self.lab.run(self.name, ["pgrep", "-f", HEARTBEAT_PROCESS], timeout=10).ok

    def in_transition(self) -> bool:
        return self.lab.sh(self.name, in_transition_script(), timeout=10).ok

    def ha_log(self, lines: int | None = None) -> str:
        """The cluster stack's log: heartbeat's ha-log, or Corosync's and Pacemaker's."""
        if self.lab.cfg.stack == "pacemaker":
            return PacemakerNode(self.lab, self.name).log(lines)
        return self.lab.run(self.name, ha_log_argv(lines), timeout=10).output

    def last_fence(self) -> str | None:
        return parse_last_fence(self.lab.sh(self.name, last_fence_script(), timeout=10).output)

    def peer_status(self) -> str:
        """How heartbeat here sees its peer: active, dead, ..."""
        return self.lab.run(self.name, peer_status_argv(self.lab.cfg, self.name), timeout=10).output.strip()

    def link_status(self, link: str) -> str:
        """How heartbeat here sees one medium to its peer: up, dead."""
        return self.lab.run(self.name, link_status_argv(self.lab.cfg, self.name, link), timeout=10).output.strip()

    def booted(self) -> bool:
        return self.lab.sh(self.name, booted_script(self.lab.cfg, self.name), timeout=5).ok

    # the fault catalogue's commands on this node
    def add_drops(self, net: str, outgoing: bool = True) -> None:
        self.lab.sh(self.name, fault_chains_script(), check=True)
        self.lab.sh(self.name, drop_script(net, outgoing), check=True)

    def drops(self) -> list[tuple[str, str]]:
        return parse_drops(self.lab.sh(self.name, fault_rules_script(), timeout=10).output)

    def clear_drops(self) -> None:
        """Remove the fault rules. A node that stopped meanwhile (a board reset it) boots
        without them: its network namespace is new."""
        res = self.lab.sh(self.name, clear_rules_script())
        if res.ran and not res.ok:
            raise CommandError(f"in {self.name}: removing the fault rules exited {res.code}: {res.output.strip()}")

    def start_apache(self) -> None:
        """Apache started by heartbeat's own resource script, as heartbeat would."""
        self.lab.run(self.name, [APACHE_RESOURCE, "start"], check=True)

    def kill_apache(self) -> None:
        self.lab.run(self.name, APACHE_KILL)

    def standby(self) -> None:
        """hb_standby: give the resources to the other node."""
        self.lab.run(self.name, [HB_STANDBY], check=True)

    def takeover(self) -> None:
        """hb_takeover: take the resources from the other node."""
        self.lab.run(self.name, [HB_TAKEOVER], check=True)

    def rsc_status(self) -> str:
        """heartbeat's own word on the resources here: all, local, foreign, none, transition."""
        return self.lab.run(self.name, ["cl_status", "rscstatus"], timeout=10).output.strip()

    def heartbeat_running_for(self) -> int | None:
        return parse_running_for(self.lab.sh(self.name, running_for_script(), timeout=10).output)
