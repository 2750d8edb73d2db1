"""The timeline of a scenario: the probe's samples, heartbeat's log events from both nodes,
and the marks of the faults and heals, on one monotonic clock.

heartbeat stamps its log to the second; a failover takes about as long. So each node's
/var/log/ha-log is followed live (`tail -F`) and every line is stamped when it arrives."""

from __future__ import annotations

import re
import threading
import time
from dataclasses import asdict, dataclass

import docker.errors

from .config import NODES


@dataclass(frozen=True)
class Event:
    t: float
    node: str
    kind: str  # dead, standby, release, released, acquire, acquired, resource, ipfail, alarm
    text: str  # short, for the picture
    line: str  # the log line


# What a reader of ha-log looks for during a failover, in the order it happens.
PATTERNS: list[tuple[str, re.Pattern[str], str]] = [
    ("dead", re.compile(r"node (\S+): is dead"), "{0} declared dead"),
    ("dead", re.compile(r"Link (\S+) dead"), "link {0} dead"),
    ("standby", re.compile(r"(\S+) wants to go standby"), "{0} goes standby"),
    ("ipfail", re.compile(r"giveup\(\) called"), "ipfail gives up"),
    ("release", re.compile(r"Releasing resource group"), "releasing"),
    ("released", re.compile(r"(?i)resource release completed|local standby process completed"), "released"),
    ("acquire", re.compile(r"Acquiring resource group|Taking over resource group"), "acquiring"),
    ("acquired", re.compile(r"(?i)resource acquisition (?:completed?|done)|takeover complete"), "acquired"),
    ("resource", re.compile(r"Running /etc/(?:init\.d|ha\.d/resource\.d)/(\S+)\s.*?\b(start|stop)\s*$"), "{0} {1}"),
    ("alarm", re.compile(r"(Both machines own|No one owns)"), "{0}"),
]


def classify(line: str) -> tuple[str, str] | None:
    """The (kind, short text) of a heartbeat log line worth showing, or None."""
    for kind, rx, fmt in PATTERNS:
        m = rx.search(line)
        if m:
            return kind, fmt.format(*m.groups())
    return None


class LogWatcher:
    """Follows ha-log on both nodes while in a with-block; keeps the lines worth showing.
    A node that is killed and powered on again is followed again from where it stopped."""

    def __init__(self, lab):  # noqa: ANN001
        self.lab = lab
        self.events: list[Event] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._follow, args=(n,), daemon=True, name=f"log-{n}")
                         for n in NODES]

    def __enter__(self) -> "LogWatcher":
        self._start_lines = {n: self._line_count(n) for n in NODES}
        for th in self._threads:
            th.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for n in NODES:
            self.lab.run(n, ["pkill", "-f", r"tail -n \+[0-9]+ -F /var/log/ha-lo[g]"], timeout=5)
        for th in self._threads:
            th.join(timeout=5)

    def _line_count(self, node: str) -> int:
        out = self.lab.sh(node, "wc -l < /var/log/ha-log 2>/dev/null || echo 0", timeout=10).output.strip()
        return int(out) if out.isdigit() else 0

    def _follow(self, node: str) -> None:
        seen = self._start_lines[node]
        while not self._stop.is_set():
            c = self.lab.container(node)
            c.reload()
            if c.status != "running":
                self._stop.wait(0.2)
                continue
            try:
                res = c.exec_run(["tail", "-n", f"+{seen + 1}", "-F", "/var/log/ha-log"], stream=True)
            except docker.errors.APIError:  # the node went down between the check and the exec
                self._stop.wait(0.2)
                continue
            buf = b""
            for chunk in res.output:
                now = time.monotonic()
                buf += chunk
                *lines, buf = buf.split(b"\n")
                for raw in lines:
                    seen += 1
                    line = raw.decode(errors="replace")
                    found = classify(line)
                    if found:
                        with self._lock:
                            self.events.append(Event(now, node, found[0], found[1], line.strip()))
                if self._stop.is_set():
                    break

    def sorted_events(self) -> list[Event]:
        with self._lock:
            return sorted(self.events, key=lambda e: e.t)


@dataclass(frozen=True)
class Mark:
    t: float
    label: str  # "fault: kill ha1", "heal"


def events_jsonable(events: list[Event]) -> list[dict]:
    return [asdict(e) for e in events]
