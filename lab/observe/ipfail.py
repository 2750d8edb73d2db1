"""What ipfail on a node still means to do, read from its debug log.

ipfail (heartbeat's contrib/ipfail/ipfail.c) keeps two things no status command shows:
- a delayed give-up: "Delayed giveup in N seconds." arms a timer (twice the keepalive) that
  ends in "giveup() called", unless "Aborted delayed giveup" comes first;
- a give-up held back: when the timer fires while heartbeat is in transition, giveup()
  sends nothing and sets `need_standby`. Only the next "Other side is now stable." clears
  it: ipfail then sleeps 10 s (blocked, silent) and asks its peer for its ping-node count
  again; a balanced count makes the peer give up its foreign resources (auto_failback).
  In a quiet cluster no such message comes, so the held give-up waits for the next
  transition, whatever it is: the next standby of the master, minutes later, is handed
  back to the master by its backup's ipfail 10 s after it started (seed 777001's soak,
  fault 98).

The info lines are in heartbeat's logfile too; the two that tell a give-up sent from one
held ("Message [ask_resources] sent.", "Other side is now stable.") are debug lines, in
the debugfile only (/var/log/ha-debug in the lab's ha.cf)."""

from __future__ import annotations

import re

LINE = re.compile(r"ipfail: \[(\d+)\]: \w+: (.*)$")

ARMED = "Delayed giveup in"
ABORTED = "Aborted delayed giveup"
FIRED = "giveup() called"
SENT = "Message [ask_resources] sent."
STABLE = "Other side is now stable."
ASKED = "Asking other side for ping node count."

# msg_ping_nodes: its three answers to a peer's count of ping nodes
ANSWERS = ("Ping node count is balanced.", "Telling other node that we have more visible ping nodes.",
           "Giving up because we have less visible ping nodes.")

TIMER = "a delayed give-up armed"
HELD = "a give-up held until its peer is stable"
ASLEEP = "asleep 10 s before asking its peer's ping-node count again"


def pending(debug_log: str) -> tuple[str | None, str]:
    """What the running ipfail (the last pid in the log) still means to do: (TIMER, ASLEEP,
    HELD or None, the stamp of the line that began it)."""
    lines = [(m.group(1), m.group(2), ln) for ln in debug_log.splitlines() if (m := LINE.search(ln))]
    if not lines:
        return None, ""
    pid = lines[-1][0]
    timer = need = asleep = ""  # each: the stamp it began at, or "" when it is not so
    for p, text, line in lines:
        if p != pid:
            continue
        stamp = line.split(" ipfail:")[0].rsplit(" ", 1)[0]
        if text.startswith(ARMED):
            timer = stamp
        elif text.startswith(ABORTED):
            timer = ""
        elif text.startswith(FIRED):
            timer, need = "", stamp  # held, unless the next line says the give-up was sent
        elif text.startswith(SENT):
            need = ""
        elif text.startswith(STABLE) and need:
            asleep = stamp
        elif text.startswith(ASKED) and asleep:
            need = asleep = ""
    if timer:
        return TIMER, timer
    if asleep:
        return ASLEEP, asleep
    if need:
        return HELD, need
    return None, ""
