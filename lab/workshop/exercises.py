"""Exercises beyond the article, declared like its steps: what to do, the checks that prove
it (some of them measure: they kill or cut the master and watch with the probe on ha3, so
they run only when named: `lab check fast-takeover`), and the lab's reference solution.
An exercise may begin with something the lab does to the cluster (`lab exercise NAME`)."""

from __future__ import annotations

import re
from typing import Callable

from .. import heartbeat, recovery, scenario
from ..engine.handle import LabHandle
from ..faults import inject
from ..model import hacf
from ..model.config import CLIENT, Timing, check_timing
from ..model.contract import HA_CF_FILE, HA_LOG, IPFAIL, SERIAL_DEVICE
from ..observe.audit import audit
from ..observe.state import link_status, wait_serving, who_serves
from ..waiting import wait_until
from .checks import Check, Probe, each_node, file_matches, process, same_file
from .solutions import Solution
from .migration import MIGRATE
from .steps import Exercise

TARGET = 5.0  # seconds: the fast-takeover exercise's goal for a crash of the master
# what a takeover after the detection takes on a trainee's quiet lab, with room: 0.7-1.6 s
# measured with up to two other labs busy (bench/LOAD.md). Not lab.model.config's TAKEOVER_BUDGET,
# which allows the worst load the test suite puts on a 2-core machine
TAKEOVER_ALLOWANCE = 2.0


def _timers(lab: LabHandle, node: str) -> dict[str, float]:
    return hacf.timers(lab.read_file(node, HA_CF_FILE).decode())


def fast_timers(node: str) -> Probe:
    def probe(lab: LabHandle) -> tuple[bool, str]:
        t = _timers(lab, node)
        if not {"keepalive", "deadtime"} <= t.keys():
            return False, f"ha.cf on {node} sets no keepalive or deadtime"
        problems = check_timing(Timing(t["keepalive"], t["deadtime"], t.get("warntime", t["keepalive"]),
                                       t.get("initdead", t["deadtime"])))
        slow = t["deadtime"] + TAKEOVER_ALLOWANCE > TARGET
        if slow:
            problems.append(f"deadtime {t['deadtime']:g} s + about {TAKEOVER_ALLOWANCE:g} s of takeover is more than "
                            f"{TARGET:g} s")
        return not problems, "; ".join(problems) or f"ha.cf on {node}: keepalive {t['keepalive']:g} s, deadtime " \
                                                     f"{t['deadtime']:g} s"
    return probe


def measured(name: str, judge: Callable[[dict], tuple[bool, str]]) -> Probe:
    """Run a scenario of the lab's table (the probe on ha3 throughout) and judge its result."""
    def probe(lab: LabHandle) -> tuple[bool, str]:
        return judge(scenario.run(lab, name))
    return probe


def takeover_within(result: dict) -> tuple[bool, str]:
    outage = result["steps"][0]["outage_s"]
    return outage is not None and outage <= TARGET, f"the crash of the master cost clients {outage} s"


def ipfail_moved(result: dict) -> tuple[bool, str]:
    held = result["steps"][0]["holds"]
    bad = [h["seen"] for h in held if not h["ok"]]
    return not bad, "; ".join(bad) or "cut off from its clients, the master handed everything to the backup"


def links_up(node: str) -> Probe:
    def probe(lab: LabHandle) -> tuple[bool, str]:
        peer = lab.cfg.peer(node)
        seen = {link: link_status(lab, node, link) for link in (SERIAL_DEVICE, "eth0")}
        return all(s == "up" for s in seen.values()), f"{node} sees {peer}'s links: " + ", ".join(
            f"{link} {s}" for link, s in seen.items())
    return probe


def one_owner(lab: LabHandle) -> tuple[bool, str]:
    a = audit(lab, read_logs=False)
    held = ", ".join(f"{r} on {'+'.join(v) or 'none'}" for r, v in a.owners.items())
    return a.owner is not None and not a.split_brain, held


def failback_off_kept(lab: LabHandle) -> tuple[bool, str]:
    """The article's failover test with auto_failback off: the backup keeps serving after the
    master comes back. The master is given its resources back afterwards (hb_takeover)."""
    master, backup = lab.cfg.master, lab.cfg.backup
    heartbeat.stop_heartbeat(lab, master)
    wait_serving(lab, backup, timeout=lab.cfg.failover_wait)
    heartbeat.start_heartbeat(lab, master)
    heartbeat.wait_joined(lab, master)
    serving = who_serves(lab)
    recovery.restore_owner(lab)
    return serving == backup, f"after {master} came back, {serving or 'nobody'} served"


def _split_brain(lab: LabHandle) -> None:
    """From a healed cluster, both media cut: each node declares the other dead and takes
    the resources (what `lab scenario run split-brain` shows)."""
    recovery.heal(lab)
    inject(lab, "cut-lan")
    inject(lab, "cut-serial")
    wait_until("both nodes to hold the VIP (the split brain)", lambda: scenario.split_brain(lab),
               timeout=2 * lab.cfg.failover_wait, interval=0.2)


def _reconfigure(**changes: object) -> Callable[[LabHandle], None]:
    return lambda lab: heartbeat.reconfigure(lab, **changes)


EXERCISES: tuple[Exercise, ...] = (
    Exercise(
        "fast-takeover", f"Take over a crash within {TARGET:g} s", "Beyond the article: heartbeat's timers (ha.cf)",
        "Tune keepalive, deadtime, warntime and initdead in ha.cf on both nodes (heartbeat takes `ms` values, "
        "e.g. `keepalive 500ms`) so that a power cut of the master is taken over within "
        f"{TARGET:g} s; heartbeat's own rules still hold (deadtime above twice keepalive, initdead at least "
        "deadtime). Restart heartbeat, master first. `lab check fast-takeover` kills the master and measures.",
        lambda cfg: (
            *each_node(lambda n: Check(f"fast-timers-{n}", f"ha.cf on {n} allows a takeover within {TARGET:g} s",
                                   fast_timers(n), f"deadtime at most {TARGET - TAKEOVER_ALLOWANCE:g} s (the "
                                   "takeover itself takes up to 2 s), keepalive below half of it, initdead >= "
                                   "deadtime; e.g. keepalive 500ms, deadtime 2, warntime 1, initdead 4")),
            Check("fast-hacf-same", "ha.cf is the same on both nodes", same_file(HA_CF_FILE),
                  "copy ha.cf to the other node and restart heartbeat on both, master first"),
            Check("fast-takeover-measured", f"a power cut of the master is taken over within {TARGET:g} s "
                  "(measured: the master is killed, then powered on)", measured("hard-kill", takeover_within),
                  "restart heartbeat on both nodes (master first) so that the new timers are in force", breaks=True),
        ),
        Solution(act=_reconfigure(keepalive=0.5, deadtime=2.0, warntime=1.0, initdead=4.0)),
    ),
    Exercise(
        "ipfail", "Hand over when the master loses its clients", "Beyond the article: ipfail (Listing 6's respawn)",
        "In ha.cf on both nodes: `ping <ha3's address>` (ha3 stands for the clients' router), "
        f"`apiauth ipfail gid=haclient uid=hacluster` and `respawn hacluster {IPFAIL}` (Debian's path, not the "
        "article's /usr/lib/heartbeat). Restart heartbeat, master first. `lab check ipfail` cuts the master off "
        "from its clients and the ping node (serial cable and storage intact) and watches the service move.",
        lambda cfg: (
            *each_node(lambda n: Check(f"ping-node-{n}", f"ha.cf on {n} pings ha3 ({cfg.lan_ip(CLIENT)})",
                                   file_matches(n, HA_CF_FILE,
                                                rf"^\s*ping(_group\s+\S+)?\s+.*\b{re.escape(cfg.lan_ip(CLIENT))}\b"),
                                   f"add `ping {cfg.lan_ip(CLIENT)}`")),
            *each_node(lambda n: Check(f"ipfail-respawn-{n}", f"ha.cf on {n} respawns ipfail",
                                   file_matches(n, HA_CF_FILE, rf"^\s*respawn\s+hacluster\s+{re.escape(IPFAIL)}"),
                                   f"add `respawn hacluster {IPFAIL}` and `apiauth ipfail gid=haclient uid=hacluster`")),
            *each_node(lambda n: Check(f"ipfail-runs-{n}", f"ipfail runs on {n}", process(n, "ipfail"),
                                   "restart heartbeat (master first): it starts what ha.cf respawns")),
            Check("ipfail-measured", "cut off from its clients, the master hands over (measured)",
                  measured("isolate", ipfail_moved), f"read {HA_LOG} on both nodes: ipfail must see the ping node "
                  "on one side and not on the other", breaks=True),
        ),
        Solution(act=_reconfigure()),  # the lab's ha.cf has ipfail and the ping node
    ),
    Exercise(
        "split-brain", "Find and heal a split brain", "Beyond the article: what two media are for",
        "`lab exercise split-brain` breaks something between the nodes and does not say what. Find what happened "
        "(lab status, cl_status hblinkstatus ha2 eth0 on ha1, /var/log/ha-log: look for \"Both machines own\"), "
        "find the cause on the nodes (it is in their firewall: iptables -S) and remove it, on both. heartbeat "
        "then settles who owns the resources.",
        lambda cfg: (
            *each_node(lambda n: Check(f"links-up-{n}", f"{n} sees both of its peer's links up", links_up(n),
                                   "both links are down: look at the nodes' firewall rules (iptables -S) and "
                                   "remove what drops the peer's traffic", wait=cfg.failover_wait)),
            Check("one-owner", "one node holds the VIP, /ha and Apache; the other none", one_owner,
                  "once the links are back, heartbeat restarts on the node that had declared its peer dead; "
                  "wait for it (lab status)", wait=2 * cfg.failover_wait),
        ),
        Solution(act=lambda lab: recovery.heal(lab)),
        setup=lambda lab: _split_brain(lab),
    ),
    Exercise(
        "auto-failback-off", "Keep the backup serving after a failover", "Beyond the article: auto_failback",
        "Set `auto_failback off` in ha.cf on both nodes and restart heartbeat, master first. Redo the article's "
        "failover test: the backup takes over, and keeps the service when the master comes back (one move "
        "instead of two). `lab check auto-failback-off` runs that test and then gives the master its resources "
        "back (hb_takeover).",
        lambda cfg: (
            *each_node(lambda n: Check(f"failback-off-{n}", f"ha.cf on {n} says auto_failback off",
                                   file_matches(n, HA_CF_FILE, r"^\s*auto_failback\s+off\b"),
                                   "set `auto_failback off` (on both nodes: heartbeat refuses to differ)")),
            Check("failback-off-measured", "the backup keeps serving when the master returns (measured)",
                  failback_off_kept, "restart heartbeat on both nodes (master first) so that the setting is in force",
                  breaks=True),
        ),
        Solution(act=_reconfigure(auto_failback="off")),
    ),
    MIGRATE,
)
