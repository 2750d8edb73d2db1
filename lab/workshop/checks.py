"""Declarative checks, in the spirit of netlab's `validate`: each names a node, what to
inspect there, what is expected and the hint a failure prints, with a retry window where
the state takes time to settle. Checks read the real state (files, modes, links, mounts,
processes, addresses, heartbeat's own view, the pages as ha3 fetches them), never a mark
the lab wrote itself."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Callable

from ..engine.handle import LabHandle
from ..model.config import NFS_SERVER, NODES
from ..model.contract import GANESHA
from ..model.render import page_text
from ..roles import host
from ..roles.client import Client
from ..roles.host import Host

# what a check looks at: (lab) -> (holds, what was seen)
Probe = Callable[[LabHandle], tuple[bool, str]]


class Settled(Exception):
    """Raised by a probe whose failure waiting cannot change (the backup already declared the
    master dead, say): the check fails at once instead of retrying to the end of its window."""

    def __init__(self, seen: str) -> None:
        super().__init__(seen)
        self.seen = seen


@dataclass(frozen=True)
class Check:
    name: str  # stable id, e.g. "authkeys-mode-ha1"
    what: str  # what must hold, for a person
    probe: Probe
    hint: str  # what to do when it fails
    wait: float = 0.0  # retry for this long before calling it failed
    breaks: bool = False  # it measures by breaking the cluster: run only when the checks before it pass


@dataclass
class Outcome:
    check: Check
    ok: bool
    seen: str
    extra: dict = field(default_factory=dict)

    def line(self) -> str:
        if self.ok:
            return f"  PASS  {self.check.what}"
        return f"  FAIL  {self.check.what}\n        seen: {self.seen}\n        hint: {self.check.hint}"


def evaluate(lab: LabHandle, check: Check, interval: float = 0.5, patient: bool = True) -> Outcome:
    """Run a check, retrying within its window (if patient); an error while inspecting is a
    failure that says what went wrong."""
    deadline = time.monotonic() + (check.wait if patient else 0)
    while True:
        try:
            ok, seen = check.probe(lab)
        except Settled as final:
            return Outcome(check, False, final.seen)
        except Exception as exc:  # a node that is down, a file that is missing ...
            ok, seen = False, f"{type(exc).__name__}: {exc}"
        if ok or time.monotonic() >= deadline:
            return Outcome(check, ok, seen)
        time.sleep(interval)


def each_node(make: Callable[[str], Check]) -> tuple[Check, ...]:
    """The same check made for each node (`make` takes the node's name)."""
    return tuple(make(n) for n in NODES)


# ---- what a check can look at -------------------------------------------------------------------
def _out(lab: LabHandle, node: str, argv: list[str]) -> tuple[int, str]:
    return Host(lab, node).ask(argv)


def exists(node: str, path: str) -> Probe:
    def probe(lab: LabHandle) -> tuple[bool, str]:
        ok = _out(lab, node, host.exists_argv(path))[0] == 0
        return ok, f"{path} {'exists' if ok else 'is missing'} on {node}"
    return probe


def file_mode(node: str, path: str, mode: int) -> Probe:
    def probe(lab: LabHandle) -> tuple[bool, str]:
        code, out = _out(lab, node, host.mode_argv(path))
        if code:
            return False, f"{path} does not exist on {node}"
        return host.parse_mode(out) == mode, f"{path} on {node} is mode {out}"
    return probe


def file_matches(node: str, path: str, pattern: str, present: bool = True) -> Probe:
    """A line of the file matches the regular expression (or, present=False, none does)."""
    rx = re.compile(pattern, re.M)

    def probe(lab: LabHandle) -> tuple[bool, str]:
        code, out = _out(lab, node, host.read_argv(path))
        if code:
            return False, f"{path} does not exist on {node}"
        m = rx.search(out)
        seen = f"{path} on {node} has {m.group(0).strip()!r}" if m else f"no line of {path} on {node} matches"
        return bool(m) == present, seen
    return probe


def symlink(node: str, path: str, target: str) -> Probe:
    def probe(lab: LabHandle) -> tuple[bool, str]:
        code, out = _out(lab, node, host.link_argv(path))
        if code:
            kind = _out(lab, node, host.kind_argv(path))[1] or "nothing"
            return False, f"{path} on {node} is not a symbolic link ({kind})"
        return out == target, f"{path} on {node} -> {out}"
    return probe


def same_file(path: str, nodes: tuple[str, ...] = NODES) -> Probe:
    def probe(lab: LabHandle) -> tuple[bool, str]:
        sums = {}
        for n in nodes:
            code, out = _out(lab, n, host.sum_argv(path))
            sums[n] = host.parse_sum(out) if code == 0 else "missing"
        if "missing" in sums.values():
            return False, f"{path} is missing on " + ", ".join(n for n, s in sums.items() if s == "missing")
        same = len(set(sums.values())) == 1
        return same, "identical" if same else "differs: " + ", ".join(f"{n} {s[:12]}" for n, s in sums.items())
    return probe


def mounted(node: str, path: str, wanted: bool = True) -> Probe:
    def probe(lab: LabHandle) -> tuple[bool, str]:
        _, out = _out(lab, node, host.mount_argv(path))
        return bool(out) == wanted, f"{path} on {node}: " + (f"mounted from {out}" if out else "not mounted")
    return probe


def process(node: str, name: str, running: bool = True, label: str = "", full: bool = False) -> Probe:
    """A process called `name` runs (or not). full=True matches `name` as a pattern against
    whole command lines (anchor it: the check's own command line contains it too)."""
    def probe(lab: LabHandle) -> tuple[bool, str]:
        # ganesha, on a user-namespaced engine, runs beside nfsha in a container of its own
        where = lab.topo.nfs_server if node == NFS_SERVER and name == GANESHA else node
        code, _ = _out(lab, where, host.process_argv(name, full))
        return (code == 0) == running, f"{label or name} {'runs' if code == 0 else 'does not run'} on {node}"
    return probe


def address(node: str, ip: Callable[[LabHandle], str], present: bool = True) -> Probe:
    def probe(lab: LabHandle) -> tuple[bool, str]:
        _, out = _out(lab, node, host.addresses_argv())
        has = host.has_address(out, ip(lab))
        return has == present, f"{ip(lab)} {'is' if has else 'is not'} on {node}"
    return probe


def cl_status(node: str, args: Callable[[LabHandle], list[str]], expected: str) -> Probe:
    """heartbeat's own view of the cluster, as `cl_status` prints it on the node."""
    def probe(lab: LabHandle) -> tuple[bool, str]:
        argv = ["cl_status", *args(lab)]
        code, out = _out(lab, node, argv)
        return code == 0 and out == expected, f"`{' '.join(argv)}` on {node} says {out!r}"
    return probe


def page(path: str, text: Callable[[LabHandle], str]) -> Probe:
    """The page as the article's browser sees it: fetched by ha3 at the cluster address."""
    def probe(lab: LabHandle) -> tuple[bool, str]:
        code, body = Client(lab).get(path, timeout=3)
        shown = page_text(body)
        return code == 200 and shown == text(lab), f"HTTP {code or 'no answer'}: {shown[:100]!r}"
    return probe
