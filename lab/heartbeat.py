"""Driving heartbeat as the article does: test the serial cable, start heartbeat on the
master then on the backup, stop it, change its configuration and restart it."""

from __future__ import annotations

import threading
import time

from .engine.handle import LabHandle
from .errors import LabError
from .model.config import NODES, check_node
from .model.contract import HA_ETC, HEARTBEAT_INIT, HEARTBEAT_STARTED, LAB_ETC, SERIAL_DEVICE
from .model.render import authkeys, ha_cf
from .roles.node import (Node, serial_cable_state_script, serial_read_script, serial_write_script,
                         udp_counters_script)
from .observe.state import ha_log, heartbeat_running, peer_status, wait_serving
from .waiting import wait_until

SERIAL_TEST_TEXT = "Serial Connection test"


def serial_test(lab: LabHandle, sender: str, receiver: str, timeout: float = 30) -> str:
    """`cat < /dev/ttyS0` on the receiver prints what `echo ... > /dev/ttyS0` sends on the
    sender. heartbeat must not be running on either node (it would read the line itself).
    `timeout` bounds the whole exchange (the reader ends as soon as the line arrives): its
    three `docker exec`s take seconds each in an emulated VM, where 5 s timed out."""
    got: dict = {}
    ready = f"/tmp/serial-test-reading-{time.monotonic_ns()}"
    script = serial_read_script(SERIAL_TEST_TEXT, ready)
    reader = threading.Thread(target=lambda: got.setdefault("r", lab.sh(receiver, script, timeout=timeout)))
    reader.start()
    wait_until(f"the reader on {receiver}", lambda: (lab.run(receiver, ["test", "-e", ready]).ok, "not started"),
               timeout, interval=0.05)
    before = {n: lab.sh(n, udp_counters_script(), timeout=10).output.strip() for n in (sender, receiver)}
    lab.sh(sender, serial_write_script(SERIAL_TEST_TEXT), timeout=timeout, check=True)
    reader.join()
    lab.run(receiver, ["rm", "-f", ready])
    res = got["r"]
    if SERIAL_TEST_TEXT not in res.output:
        seen = {n: lab.sh(n, serial_cable_state_script(), timeout=10).output.strip() for n in (sender, receiver)}
        raise LabError(
            f"serial test {sender} -> {receiver}: expected {receiver} to read {SERIAL_TEST_TEXT!r} from "
            f"{SERIAL_DEVICE}, got {res.output.strip()!r} (exit {res.code}). Check `lab logs {receiver}` and "
            "the serial-cable process (ps ax | grep socat). The cable now (UDP counters before the line "
            "was sent: " + "; ".join(f"{n}: {text.splitlines()[-1] if text else '?'}" for n, text in before.items())
            + "):\n" + "\n".join(f"--- {n}:\n{text}" for n, text in seen.items())
        )
    return res.output.strip()


def start_heartbeat(lab: LabHandle, node: str) -> None:
    check_node(node, NODES)
    if heartbeat_running(lab, node):
        return
    lab.say(f"{node}: {HEARTBEAT_INIT} start")
    lab.run(node, [HEARTBEAT_INIT, "start"], timeout=60, check=True)


def stop_heartbeat(lab: LabHandle, node: str) -> None:
    check_node(node, NODES)
    if not heartbeat_running(lab, node):
        return
    lab.say(f"{node}: {HEARTBEAT_INIT} stop")
    lab.run(node, [HEARTBEAT_INIT, "stop"], timeout=120, check=True)


def restart_heartbeat(lab: LabHandle, node: str) -> None:
    stop_heartbeat(lab, node)
    start_heartbeat(lab, node)


def joined(lab: LabHandle, node: str) -> tuple[bool, str]:
    """`node` is active in its peer's view, heartbeat's start-up round since it last started
    is over (its ha-log says so), and its start-up dead time has lapsed. Until the round ends
    a failure of the peer is taken over only after heartbeat's compiled-in RQSTDELAY (10 s);
    until the dead time lapses the peer declares `node` dead START_UP_EXTRA_DEADTIME late."""
    peer = lab.cfg.peer(node)
    seen = peer_status(lab, peer)
    done = round_done(lab, node)
    if not (seen == "active" and done):
        return False, f"{peer} sees {node} {seen!r}; start-up round done: {done}"
    ran = running_for(lab, node)
    return (ran is not None and ran >= START_UP_WINDOW + START_UP_MARGIN,
            f"heartbeat on {node} has run {ran} s; its start-up dead time (deadtime + "
            f"{START_UP_EXTRA_DEADTIME:.0f} s) lasts {START_UP_WINDOW:.0f} s")


def round_done(lab: LabHandle, node: str) -> bool:
    """heartbeat's start-up round since it last started on `node` is over (its ha-log says so)."""
    log = ha_log(lab, node)
    started = log.rfind(HEARTBEAT_STARTED)
    return "Initial resource acquisition complete" in log[max(started, 0):]


# For its first 5 s a starting heartbeat advertises its deadtime plus 2 s in its status
# messages (heartbeat.c, master_control_process: hb_add_deadtime(2000), popped by a 5 s
# timer), and its peer takes the advertised value: a node killed within 5 s of starting
# heartbeat is declared dead 2 s late. Measured here (fast timing, deadtime 2 s): killed at
# once after a heal, 4.05 s to "node ha1: is dead"; 5 s after, 1.98 s.
START_UP_EXTRA_DEADTIME = 2.0
START_UP_WINDOW = 5.0
START_UP_MARGIN = 2  # the timer starts after the process forked its children (up to ~1 s) + ps's whole seconds


def running_for(lab: LabHandle, node: str) -> int | None:
    """Whole seconds heartbeat's master control process has run on the node (ps etimes),
    None if it does not run."""
    return Node(lab, node).heartbeat_running_for()


def wait_joined(lab: LabHandle, node: str) -> None:
    wait_until(f"{node} to join the cluster", lambda: joined(lab, node), timeout=lab.cfg.start_wait, interval=0.1)


def start_cluster(lab: LabHandle) -> None:
    """The article's start: heartbeat on the master, then on the backup; done when the
    master serves and the backup has finished its start-up round.

    Whatever the order, heartbeat's start-up round lasts RQSTDELAY (10 s, compiled in,
    hb_resource.c): a node takes its own resources only once it is "stable", and a starting
    node becomes stable when its peer says it is or when RQSTDELAY has passed. Started
    alone, the master first waits initdead for the silent backup, then RQSTDELAY still
    before the backup may join (tried: 14 s at fast timing). Started together, both pay
    RQSTDELAY once and the master serves at its end."""
    start_heartbeat(lab, lab.cfg.master)
    start_heartbeat(lab, lab.cfg.backup)
    wait_serving(lab, lab.cfg.master, timeout=lab.cfg.start_wait)
    wait_joined(lab, lab.cfg.backup)


def reconfigure(lab: LabHandle, **changes: object) -> None:
    """Change heartbeat's configuration (timing, auto_failback, auth ...) on a running lab:
    render ha.cf and authkeys again, install them on both nodes and restart heartbeat in the
    article's order (backup and master stopped, then master and backup started)."""
    cfg = lab.cfg.with_(**changes).resolved()
    lab.say("reconfigure: " + ", ".join(f"{k}={v}" for k, v in changes.items()))
    for node in (lab.cfg.backup, lab.cfg.master):
        stop_heartbeat(lab, node)
    lab.record_config(cfg)  # every later command reads it: status, scenarios' bounds, reset
    for node in NODES:
        # the lab folder too: node-init installs from there at every boot
        for folder in (HA_ETC, LAB_ETC):
            lab.put_file(node, f"{folder}/ha.cf", ha_cf(cfg).encode(), 0o644)
            lab.put_file(node, f"{folder}/authkeys", authkeys(cfg).encode(), 0o600)
    start_cluster(lab)

