"""What a scenario step waits for and what must hold after it (lab.scenario's table): each
check takes the lab and returns (holds, what was seen), for wait_until and for the report."""

from __future__ import annotations

import time
from typing import Callable

from . import faults
from .roles import board
from .engine.handle import LabHandle
from .model.config import bmc_host
from .model.contract import SERIAL_DEVICE
from .model.custom import page_file
from .model.render import hostname_text, index_text, page_text
from .observe.audit import audit
from .observe.audit import window as audit_window
from .observe.state import fetch, ha_log, last_fence, link_status, node_state, peer_status, status, who_serves
from .observe.timeline import events_from_board

Check = Callable[[LabHandle], tuple[bool, str]]


def serving(node: str) -> Check:
    def check(lab: LabHandle) -> tuple[bool, str]:
        who = who_serves(lab)
        return who == node, f"hostname.html names {who}" if who else "no answer"
    return check


def split_brain(lab: LabHandle) -> tuple[bool, str]:
    a = audit(lab, read_logs=False)
    return a.split_brain, a.report()


def both_pages_from(node: str) -> tuple[str, Check]:
    """The article's check in the browser: index.html and hostname.html with its texts."""
    def check(lab: LabHandle) -> tuple[bool, str]:
        pages = {p: fetch(lab, p) for p in ("index.html", "hostname.html")}
        own = page_file(lab.cfg, "index.html")  # `lab up --from`'s own index.html
        want = {"index.html": page_text(own.read_text()) if own else index_text(lab.cfg),
                "hostname.html": hostname_text(lab.cfg, node)}
        seen = {p: (code, page_text(body)) for p, (code, body) in pages.items()}
        return all(seen[p] == (200, want[p]) for p in want), str(seen)
    return f"both pages served with the article's texts, hostname.html naming {node}", check


def holds_nothing(node: str) -> tuple[str, Check]:
    def check(lab: LabHandle) -> tuple[bool, str]:
        st = node_state(lab, node)
        return not any(st[r] for r in ("vip", "mounted", "apache")), str(st)
    return f"{node} holds no resource", check


def serving_alone(node: str, peer: str) -> Check:
    """`node` answers the clients and `peer` holds no resource."""
    serves, empty = serving(node), holds_nothing(peer)[1]

    def check(lab: LabHandle) -> tuple[bool, str]:
        (ok1, seen1), (ok2, seen2) = serves(lab), empty(lab)
        return ok1 and ok2, f"{seen1}; {peer}: {seen2}"
    return check


def serial_link_up(node: str) -> tuple[str, Check]:
    def check(lab: LabHandle) -> tuple[bool, str]:
        out = link_status(lab, node, SERIAL_DEVICE)
        return out == "up", out
    return f"{node} still hears its peer over the serial cable", check


def ipfail_gave_up(node: str) -> tuple[str, Check]:
    def check(lab: LabHandle) -> tuple[bool, str]:
        tail = ha_log(lab, node, lines=200)
        return "giveup() called" in tail, "no 'giveup() called' in the last 200 lines of ha-log"
    return f"ipfail on {node} gave the resources up", check


def status_reports_split_brain(lab: LabHandle) -> tuple[bool, str]:
    found = status(lab)["problems"]
    return any(p.startswith("split brain:") for p in found), str(found)


def board_reset(node: str, after: Callable[[], float] | None = None) -> tuple[str, Check]:
    """The node's board power-cycled it within the last failover_wait seconds, or since
    after() (a dead node's "reset" is a power on: external/ipmi resets a node that is on and
    powers on one that is off)."""
    def check(lab: LabHandle) -> tuple[bool, str]:
        since = after() if after else time.time() - lab.cfg.failover_wait
        done = [e for e in events_from_board(bmc_host(node), board.board_log(lab, node).splitlines(), 0.0)
                if e.t >= since and e.text.startswith("board: done:") and e.text.endswith(f" {node}")]
        return bool(done), [e.line for e in done] or "no power action in the board's log"
    return f"{node}'s board power-cycled it", check


def fencing_stuck(node: str, peer: str) -> Check:
    """`node` tries to fence `peer` and fails, so it has not taken over: lab status says so
    and nobody holds the VIP."""
    def check(lab: LabHandle) -> tuple[bool, str]:
        st = status(lab)
        stuck = [p for p in st["problems"] if p.startswith(f"{node} is fencing")]
        holders = [n for n, s in st["nodes"].items() if s["vip"]]
        return bool(stuck) and not holders, f"problems {st['problems']}; VIP held by {holders}"
    return check


def fenced_and_served(node: str, peer: str) -> Check:
    """`node`'s fence of `peer` succeeded and a node serves again (whichever: see fence-fails)."""
    def check(lab: LabHandle) -> tuple[bool, str]:
        line = last_fence(lab, node)
        who = who_serves(lab)
        done = line is not None and "now reset" in line
        return done and who is not None, f"{node}'s last fence: {line}; hostname.html names {who}"
    return check


def declared_dead(node: str, peer: str) -> Check:
    def check(lab: LabHandle) -> tuple[bool, str]:
        seen = peer_status(lab, node)
        return seen == "dead", f"{node} sees {peer} {seen}"
    return check


def double_owner_logged(lab: LabHandle) -> tuple[bool, str]:
    """heartbeat logged, since the scenario began, that both nodes owned the resources."""
    found = [p for p in audit(lab, since=audit_window(lab)).log_problems if "Both machines own" in p]
    return bool(found), found[0] if found else "no 'Both machines own' in either ha-log since the first step"


DOUBLE_OWNER_LOGGED = "heartbeat logged that both machines owned the resources"


class FencedSplit:
    """The fenced split brain's cut: the serial cable cut (the LAN already is), its time kept
    for the check that a board reset a node after it."""

    def __init__(self) -> None:
        self.t = 0.0

    def act(self, lab: LabHandle) -> None:
        self.t = time.time()
        faults.inject(lab, "cut-serial")


def fenced_one_owner(m: str, b: str, after: Callable[[], float]) -> Check:
    """After a split brain with fencing: a board reset a node (either) since after(), no fence
    or power action is under way any more, and one node holds every resource."""
    resets = (board_reset(m, after)[1], board_reset(b, after)[1])

    def check(lab: LabHandle) -> tuple[bool, str]:
        done = [seen for ok, seen in (r(lab) for r in resets) if ok]
        if not done:
            return False, "no board has reset a node yet"
        busy = [a for n in (m, b) if (a := board.action_in_flight(lab, n))]
        st = status(lab)  # once per poll: it asks every node
        fencing = [p for p in st["problems"] if " is fencing" in p]
        if busy or fencing:
            return False, f"still under way: {busy + fencing}"
        return one_owner(st["nodes"])
    return check


def at_most_one_owner(lab: LabHandle) -> tuple[bool, str]:
    return one_owner(status(lab)["nodes"])


def one_owner(nodes: dict) -> tuple[bool, str]:
    """One node holds every resource and the other none (from lab status's nodes)."""
    owners = {n: [r for r in ("vip", "mounted", "apache") if s[r]] for n, s in nodes.items()}
    holding = [n for n, rs in owners.items() if rs]
    return len(holding) == 1 and len(owners[holding[0]]) == 3, str(owners)
