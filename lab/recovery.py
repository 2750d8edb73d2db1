"""Back to the known-good state after faults: both nodes up, no fault rules, nothing paused,
the master holding every resource and serving, heartbeat settled."""

from __future__ import annotations

import time

from . import heartbeat, pacemaker
from .wake import wake
from .roles import board
from .engine.handle import LabHandle
from .errors import CommandError, LabError
from .faults import cut_from_ping_node
from .model.config import CLIENT, FENCE_BUDGET, NFS_SERVER, NODES
from .model.contract import MESSAGES, SEND_ARP
from .ipfail_settle import settle_ipfail, wait_ipfail_settled
from .observe import ipfail
from .observe.audit import audit, heal_ends, line_count, lines_since
from .roles.node import (Node, announce_argv, at_rest_script, parse_at_rest, parse_started_and_declared_dead,
                         started_and_declared_dead_script, transition_processes_script)
from .observe.state import (ha_log, heartbeat_running, in_transition, last_fence, line_is_fencing, node_state,
                             peer_status, settled, wait_node_ready, who_serves)
from .waiting import WaitTimeout, wait_until

FENCE_RETRY = 5  # heartbeat retries a failed fence every 5 s (hb_resource.c)
STANDBY_WINDOW = 12  # heartbeat cancels an unanswered standby request after 10 s


def heal(lab: LabHandle, wait: bool = True) -> None:
    """Undo every fault: resume and restart containers, remove the rules, start what is
    stopped; then (wait=True) wait until the master serves again with one owner. A lab
    already in that state, with no fault since the last heal, is only marked healed."""
    if lab.cfg.stack == "pacemaker":
        return pacemaker.heal(lab, wait)
    why = needs_healing(lab) if wait else None
    if wait and why is None:
        lab.say("heal: the lab is healthy, no fault since the last heal; nothing to undo")
        heal_ends(lab)
        return
    lab.say(f"heal{f' ({why})' if why else ''}: resuming, restarting, removing fault rules ...")
    began = time.time()
    running = [n for n in NODES if lab.container_status(n) == "running"]
    marks = {n: line_count(lab, n, MESSAGES) for n in running}
    restarts = [n for n in running if will_restart(lab, n)]
    isolated = [n for n in running if cut_from_ping_node(lab, n)]
    wake(lab)
    for node in NODES:
        Node(lab, node).clear_drops()
    if lab.cfg.has_boards:
        wait_fencing_over(lab)
    for node in isolated:
        wait_ipfail_settled(lab, node, marks)
    if restarts:
        wait_restarted(lab, restarts, marks, began)
    if not wait:
        return
    for node in (lab.cfg.master, lab.cfg.backup):
        if not node_state(lab, node)["heartbeat"]:
            heartbeat.start_heartbeat(lab, node)
    restore_owner(lab)
    announce(lab, lab.cfg.master)
    finish_start_up_rounds(lab)
    if settle_ipfail(lab):
        restore_owner(lab)
    heal_ends(lab)  # the fault episode is over: the next fault opens a new audit window


def needs_healing(lab: LabHandle) -> str | None:
    """Why the lab is not in the heal's end state, or None when it is: every container
    running, no fault since the last heal ended, no fault rule, heartbeat past its start-up
    round and start-up dead time on both nodes, each seeing the other active on both media,
    nothing in transition, ipfail meaning to do nothing, the master holding everything and
    serving, the backup nothing; on a lab with boards, no power action or fence under way. A few execs instead of the full heal's thirty: the suite
    heals before every test, mostly a lab that is fine."""
    for host in dict.fromkeys((NFS_SERVER, lab.topo.nfs_server, *NODES, CLIENT)):
        if (status := lab.container_status(host)) != "running":
            return f"{host} is {status}"
    if lab.audit_window_open:
        return "a fault was injected since the last heal"
    for node in NODES if lab.cfg.has_boards else ():
        if action := board.action_in_flight(lab, node):
            return f"{node}'s board: {action}"
        if (line := last_fence(lab, node)) and "now reset" not in line:
            return f"{node}: {line.split(': ', 2)[-1].strip()}"
    for node in NODES:
        res = lab.sh(node, at_rest_script(lab.cfg, node), timeout=10)
        seen, debug = parse_at_rest(res.output)
        holds = node == lab.cfg.master
        wanted = {"booted": "1", "heartbeat": "1", "vip": "01"[holds], "mounted": "01"[holds],
                  "apache": "01"[holds], "busy": "0", "peer": "active", "lan": "up", "serial": "up",
                  "rules": "0", "round": "1"}
        if not res.ran or (bad := [k for k, v in wanted.items() if seen.get(k) != v]):
            return f"{node}: " + (", ".join(f"{k}={seen.get(k)!r}" for k in bad) if res.ran else "no answer")
        if seen.get("rsc") == "transition":
            return f"{node} is in transition"
        if seen.get("window", "").strip() == "open":
            return f"{node}'s audit window is open (a fault since the last heal)"
        ran = seen.get("ran", "")
        if not ran.isdigit() or int(ran) < heartbeat.START_UP_WINDOW + heartbeat.START_UP_MARGIN:
            return f"heartbeat on {node} started {ran or '?'} s ago"
        if (pending := ipfail.pending(debug))[0]:
            return f"ipfail on {node}: {pending[0]}"
    if (who := who_serves(lab)) != lab.cfg.master:
        return f"the cluster URL is served by {who}"
    return None


def announce(lab: LabHandle, node: str) -> None:
    """`node` announces the cluster address it holds (gratuitous ARP, with the send_arp that
    IPaddr2 runs when it takes the address). After a fault in which both nodes held the
    address (a pause, a split brain), the node that kept it never announced it again: the
    clients' ARP entries still name the other node, which no longer answers for it, until
    they expire (measured 46 s on ha3). An operator re-announces; so does the heal."""
    if node_state(lab, node)["vip"]:
        res = lab.run(node, announce_argv(lab.cfg.vip), timeout=10)
        if res.ran and not res.ok:  # one that stopped under it (a board's reset) holds nothing to announce
            raise CommandError(f"in {node}: {SEND_ARP} of {lab.cfg.vip} exited {res.code}: {res.output.strip()}")


def finish_start_up_rounds(lab: LabHandle) -> None:
    """Every node has finished heartbeat's start-up round since it last started. A node
    wedged in a standby is power-cycled; a round the wedge blocked (its peer's) never ends
    by itself, so heartbeat restarts on that node."""
    for _ in range(3):
        try:
            wedged = wait_joined_or_wedged(lab)
        except WaitTimeout:
            blocked = [n for n in NODES if not heartbeat.joined(lab, n)[0]]
            lab.say(f"heal: heartbeat's start-up round on {' and '.join(blocked)} did not end; restarting "
                    "heartbeat there")
            for node in blocked:
                heartbeat.restart_heartbeat(lab, node)
        else:
            if wedged is None:
                return
            unwedge(lab, wedged)
            restart_blocked_round(lab, lab.cfg.peer(wedged))
        restore_owner(lab)
    for node in NODES:
        heartbeat.wait_joined(lab, node)


def restart_blocked_round(lab: LabHandle, node: str) -> None:
    """A start-up round of `node` still open once its wedged peer was power-cycled was waiting
    on the wedged heartbeat, which is gone: it does not end by itself (the first long soak
    waited 30 s for one, the heal's whole budget), so heartbeat restarts on `node` at once."""
    if heartbeat_running(lab, node) and not heartbeat.round_done(lab, node):
        lab.say(f"heal: heartbeat's start-up round on {node} waited on the wedged peer; restarting heartbeat there")
        heartbeat.restart_heartbeat(lab, node)


WEDGED_STANDBY = "Standby in progress- new request from"


def wedged_in_standby(lab: LabHandle, node: str, transition_outlasted_standby: bool = False) -> bool:
    """heartbeat on `node` is stuck in a standby that a fault interrupted: it says it is in
    transition while no resource script runs, and answers every standby request of its peer
    with "Standby in progress- new request from <peer> ignored [3591 seconds left]". It keeps
    that state for an hour; its peer's start-up round (auto_failback's giveup) never ends.
    The log line comes only with a request: where none was made (the master already holds
    everything, so the heal asks nothing) a transition with no resource script that has
    outlasted heartbeat's standby window (`transition_outlasted_standby`, the caller's clock)
    is the same wedge."""
    if not heartbeat_running(lab, node) or Node(lab, node).rsc_status() != "transition":
        return False
    if lab.sh(node, transition_processes_script(), timeout=10).output.strip():
        return False  # a resource script runs: a transition under way, not a wedge
    return transition_outlasted_standby or WEDGED_STANDBY in ha_log(lab, node, lines=40)


def unwedge(lab: LabHandle, node: str) -> None:
    """Nothing but a restart clears the stuck standby, and `heartbeat stop` itself hangs on it
    ("Shutdown delayed until current resource activity finishes"): power-cycle the node, as
    an operator (or STONITH) would. Its peer takes over, the node boots, heartbeat starts
    again, and auto_failback or hb_takeover gives the master its resources back."""
    lab.say(f"heal: heartbeat on {node} is stuck in a standby a fault interrupted (it ignores its peer's "
            "standby requests, and would not stop); power-cycling it")
    container = lab.container(node)
    container.kill()
    lab.wait_container(node, "exited")
    container.start()
    wait_node_ready(lab, node)
    if not heartbeat_running(lab, node):
        heartbeat.start_heartbeat(lab, node)


def wait_joined_or_wedged(lab: LabHandle) -> str | None:
    """Wait until every node has finished its start-up round (heartbeat.joined) and return
    None; or return the node wedged in a standby, as soon as one is."""
    def state() -> tuple[bool, tuple[str | None, str]]:
        seen = [heartbeat.joined(lab, n) for n in NODES]
        if all(ok for ok, _ in seen):
            return True, (None, "joined")
        stuck = next((n for n in NODES if wedged_in_standby(lab, n)), None)
        return stuck is not None, (stuck, "; ".join(what for _, what in seen))

    return wait_until("both nodes to finish heartbeat's start-up round", state, timeout=lab.cfg.start_wait,
                      interval=0.2)[0]


def will_restart(lab: LabHandle, node: str) -> bool:
    """heartbeat on `node` has declared its peer dead while the peer's heartbeat lives on
    (paused, or cut off): when it hears the peer again it gives up its resources and
    restarts itself ("Performing heartbeat restart exec"). A peer that was stopped or
    powered off (a board's reset included) comes back as a new heartbeat, and nobody
    restarts; nor does a `node` that was itself reset, whose heartbeat only started after
    the fault and has not declared anyone dead: both read from the nodes' logs."""
    if peer_status(lab, node) != "dead":
        return False
    peer = lab.cfg.peer(node)
    _, declared = _started_and_declared_dead(lab, node, peer)
    if declared is None:  # this heartbeat has not declared the peer dead: a fresh start's view
        return False
    status = lab.container_status(peer)
    if status == "paused":
        return True
    if status != "running" or not heartbeat_running(lab, peer):
        return False
    peer_started, _ = _started_and_declared_dead(lab, peer, node)
    return peer_started is not None and peer_started < declared


def _started_and_declared_dead(lab: LabHandle, node: str, peer: str) -> tuple[str | None, str | None]:
    """From `node`'s syslog (RFC 3339 stamps, which sort as text): when its running heartbeat
    started (its last "Heartbeat generation" line), and when that heartbeat last declared
    `peer` dead (None if it has not)."""
    return parse_started_and_declared_dead(
        lab.sh(node, started_and_declared_dead_script(lab.cfg.hb_name(peer)), timeout=10).output)


def wait_fencing_over(lab: LabHandle) -> None:
    """On a lab with boards, once the fault rules are gone: every fence heartbeat began has
    ended and no board is in the middle of a power action. A fenced split brain resets one
    node or both, while the heal looks at them; what the heal then does must not race a
    board's reset (an exec into a node being reset fails, and a node reset after the heal
    decided what to wait for never does what was awaited: it boots, heartbeat starts)."""
    def quiet() -> tuple[bool, str]:
        busy = [f"{n}'s board: {line}" for n in NODES if (line := board.action_in_flight(lab, n))]
        for node in NODES:
            if lab.container_status(node) != "running" or not heartbeat_running(lab, node):
                continue
            line = last_fence(lab, node)
            if line and line_is_fencing(line):
                busy.append(f"{node}: {line.split(': ', 2)[-1].strip()}")
        return not busy, "; ".join(busy)

    lab.say("heal: waiting for fencing and the boards' power actions to end ...")
    wait_until("every fence to end and every board to finish its power action", quiet,
               timeout=lab.cfg.failover_wait + FENCE_RETRY + FENCE_BUDGET, interval=0.2)
    for node in NODES:
        if lab.container_status(node) == "running":
            wait_node_ready(lab, node)


def wait_restarted(lab: LabHandle, nodes: list[str], marks: dict[str, int], began: float) -> None:
    """Each of `nodes` has restarted heartbeat since `marks`, or was rebooted since the heal
    began (a board's reset: heartbeat starts at boot, and there is no restart to see). Until
    then one owner seen is not the end state: the cluster re-forms after the restarts,
    RQSTDELAY later."""
    wanted = "Performing heartbeat restart exec"

    def one(n: str) -> str | None:
        if wanted in lines_since(lab, n, MESSAGES, marks[n]):
            return "restarted"
        if lab.started_at(n) > began:
            return "rebooted"
        return None

    def restarted() -> tuple[bool, str]:
        done = {n: one(n) for n in nodes}
        return all(done.values()), "restarted: " + ", ".join(f"{n} {d or 'not yet'}" for n, d in done.items())

    lab.say(f"heal: waiting for heartbeat to restart on {' and '.join(nodes)} (it had declared its peer dead) ...")
    wait_until(f"heartbeat to restart (or the node to reboot) on {' and '.join(nodes)}", restarted,
               timeout=lab.cfg.failover_wait + 15, interval=0.2)


def round_over(lab: LabHandle, node: str) -> bool:
    """heartbeat on `node` is past its start-up round, or the round has outlasted start_wait.
    While it runs, auto_failback and ipfail make their own standby requests: an hb_takeover
    then crosses them, and a standby crossed in the middle wedges a node for an hour (the
    first long soak: a heal's hb_takeover 2 s after heartbeat started on the master, then
    "No one owns our local resources!" once heal power-cycled the wedged backup)."""
    if heartbeat.round_done(lab, node):
        return True
    ran = heartbeat.running_for(lab, node)
    return ran is not None and ran > lab.cfg.start_wait


def _why_not_back(lab: LabHandle, calm: bool) -> str:
    """What kept restore_owner waiting besides the owners: a node in transition (with what it
    runs), or the cluster URL answered by someone else."""
    lines = [f"the cluster URL: {who_serves(lab) or 'no answer'}"]
    if not calm:
        for n in NODES:
            if lab.container_status(n) == "running" and in_transition(lab, n):
                lines.append(f"{n} is in transition (cl_status rscstatus: {Node(lab, n).rsc_status()!r}); "
                             f"it runs: {lab.sh(n, transition_processes_script(), timeout=10).output.strip() or 'nothing'}")
    return "\n".join(lines)


def restore_owner(lab: LabHandle, timeout: float | None = None) -> None:
    """Bring the resources back to the master, everything on it and nothing on the backup.
    heartbeat settles first (a healed split brain restarts both nodes' resources); then
    hb_takeover on the master if the backup holds them, and Apache started again where a
    fault killed it (haresources mode monitors nothing, so heartbeat never will)."""
    master, backup = lab.cfg.master, lab.cfg.backup
    timeout = timeout or 3 * lab.cfg.failover_wait + lab.cfg.times.initdead
    deadline = time.monotonic() + timeout
    apache_started = False
    last_takeover = -1e9
    unsettled_since: float | None = None
    last_announce = -1e9
    while True:
        a = audit(lab, read_logs=False)
        calm = settled(lab)
        if a.owner == master and not a.unreachable and calm:
            if who_serves(lab) == master:
                return
            if time.monotonic() - last_announce > 1.0:
                # it holds everything, yet the cluster address does not reach it: after both
                # nodes held it, the clients' ARP entries still name the other node (announce)
                announce(lab, master)
                last_announce = time.monotonic()
        unsettled_since = None if calm else unsettled_since or time.monotonic()
        if unsettled_since and time.monotonic() - unsettled_since > STANDBY_WINDOW:
            stuck = next((n for n in NODES if wedged_in_standby(lab, n, transition_outlasted_standby=True)), None)
            if stuck:
                unwedge(lab, stuck)
                unsettled_since, deadline = None, time.monotonic() + timeout  # a fresh start
                continue
        held = a.owners
        if held["vip"] == [master] and held["mounted"] == [master] and not held["apache"] and not apache_started:
            Node(lab, master).start_apache()
            apache_started = True
        elif (a.owner == backup and node_state(lab, master)["heartbeat"]
                and time.monotonic() - last_takeover > STANDBY_WINDOW and round_over(lab, master)):
            # heartbeat ignores a standby request while the other side is "in flux" (just
            # booted, or answering another request) and never retries it: ask again once
            # its 10 s standby window has passed
            lab.say(f"{master}: hb_takeover (give the resources back to the master)")
            Node(lab, master).takeover()
            last_takeover = time.monotonic()
        if time.monotonic() > deadline:
            raise LabError(f"could not bring the resources back to {master} within {timeout:.0f} s:\n"
                           f"{a.report()}\n{_why_not_back(lab, calm)}")
        time.sleep(0.5)
