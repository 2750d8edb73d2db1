"""The timeline of a scenario: the probe's samples, heartbeat's log events from both nodes,
and the marks of the faults and heals, on one monotonic clock.

heartbeat's own logfile stamps to the second, and a failover takes about as long. Its
`logfacility local0` lines also reach rsyslog on each node, which writes them to
/var/log/messages stamped to the microsecond (RSYSLOG_FileFormat, RFC 3339). The containers
share the host's clock, so each stamp maps onto the host's monotonic clock, where the
probe's samples and the fault marks live."""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass
from datetime import datetime

from ..engine.handle import LabHandle
from ..model.config import NODES, bmc_host
from ..model.contract import BMC_LOG, MESSAGES
from ..model.pacemaker import RESOURCES
from .audit import line_count


@dataclass(frozen=True)
class Event:
    t: float  # host monotonic clock
    node: str
    kind: str  # dead, standby, release, released, acquire, acquired, resource, ipfail, alarm, fence
    text: str  # short, for the picture
    line: str  # the log line


@dataclass(frozen=True)
class Mark:
    t: float
    label: str  # "fault: kill ha1", "heal"


# What a reader of heartbeat's log looks for during a failover, in the order it happens.
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
    ("alarm", re.compile(r"apache2 did not stop within"), "apache2 killed: a request held its stop"),
    ("fence", re.compile(r"Resetting node (\S+) with"), "fencing {0}"),
    ("fence", re.compile(r"node (\S+) now reset"), "{0} fenced"),
    ("fence", re.compile(r"STONITH of (\S+) failed"), "fencing {0} failed"),
    # Pacemaker and Corosync (`lab up --stack pacemaker`), as they reach syslog
    ("dead", re.compile(r"\[TOTEM \] A processor failed, forming new configuration"), "token lost"),
    ("dead", re.compile(r"pacemaker-controld\[\d+\]:.*Node (\S+) state is now lost"), "{0} declared dead"),
    ("fence", re.compile(r"Requesting fencing \((\w+)\) of node (\S+)"), "fencing {1} ({0})"),
    ("fence", re.compile(r"Operation '\w+' targeting (\S+) by \S+ for \S+: OK"), "{0} fenced"),
    ("fence", re.compile(r"Operation '\w+' targeting (\S+) by \S+ for \S+: (?!OK)"), "fencing {0} failed"),
    # the group's members by their agents' names, as heartbeat's lines name them (the phases
    # read agents); the fence devices' own starts are not the takeover
    ("resource", re.compile(r"pacemaker-controld\[\d+\]:.*Result of (start|stop) operation for "
                            r"(?!fence-)(\S+) on \S+: ok"), "{1} {0}"),
    ("alarm", re.compile(r"pacemaker-controld\[\d+\]:.*Result of monitor operation for (\S+) on \S+: "
                         r"(not running|error)"), "{0} monitor: {1}"),
]
# RSYSLOG_FileFormat: "2026-11-26T03:30:50.123456+00:00 ha1 heartbeat: [123]: info: ..."
STAMPED = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+[+-]\d\d:\d\d|\S+Z)\s+(\S+)\s+(.*)$")


# Pacemaker's resources (lab.model.pacemaker.RESOURCES) by the agent heartbeat runs for each
AGENT_OF = dict(zip(RESOURCES, ("IPaddr2", "Filesystem", "apache2")))


def classify(line: str) -> tuple[str, str] | None:
    """The (kind, short text) of a cluster log line worth showing (heartbeat's, or
    Pacemaker's and Corosync's), or None."""
    for kind, rx, fmt in PATTERNS:
        m = rx.search(line)
        if m:
            return kind, fmt.format(*(AGENT_OF.get(g, g) for g in m.groups()))
    return None


def events_from_board(board: str, lines: list[str], wall_to_mono: float) -> list[Event]:
    """A management board's power actions (images/bmc/chassis: "STAMP bmc-ha1 reset ha1"),
    as fence events on the monotonic clock; its "done:" lines mark when the action ended."""
    events = []
    for line in lines:
        stamp, _, rest = line.partition(" ")
        _, _, what = rest.partition(" ")
        if not what or what.startswith("refused"):
            continue
        try:
            t = parse_stamp(stamp) - wall_to_mono
        except ValueError:
            continue
        events.append(Event(t, board, "fence", f"board: {what}", line.strip()))
    return events


def parse_stamp(stamp: str) -> float:
    """An RFC 3339 stamp with fraction and offset, as seconds since the epoch."""
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def events_from_messages(node: str, lines: list[str], wall_to_mono: float) -> list[Event]:
    """heartbeat's events in rsyslog lines of one node, placed on the monotonic clock
    (monotonic = wall - wall_to_mono). Lines without a high-precision stamp are skipped."""
    events = []
    for line in lines:
        m = STAMPED.match(line)
        if not m:
            continue
        found = classify(m.group(3))
        if found:
            events.append(Event(parse_stamp(m.group(1)) - wall_to_mono, node, found[0], found[1], line.strip()))
    return events


def wall_to_mono_offset() -> float:
    """time.time() - time.monotonic() now, on the host (the containers share its clocks)."""
    return time.time() - time.monotonic()


class LogWatcher:
    """Marks where each node's /var/log/messages stands on entering a with-block; on
    leaving, reads what was written since and keeps heartbeat's events with their stamps."""

    def __init__(self, lab: LabHandle):
        self.lab = lab
        self.events: list[Event] = []
        self._marks: dict[str, int] = {}

    def __enter__(self) -> "LogWatcher":
        self._marks = {n: line_count(self.lab, n, MESSAGES) for n in NODES}
        self._marks |= {b: line_count(self.lab, b, BMC_LOG) for b in self._boards()}
        return self

    def __exit__(self, *exc: object) -> None:
        offset = wall_to_mono_offset()
        for node in NODES:
            lines = self._read(node).splitlines()[self._marks[node]:]
            self.events += events_from_messages(node, lines, offset)
        for board in self._boards():
            lines = self.lab.read_file(board, BMC_LOG).decode(errors="replace").splitlines()[self._marks[board]:]
            self.events += events_from_board(board, lines, offset)

    def _boards(self) -> list[str]:
        return [bmc_host(n) for n in NODES] if self.lab.cfg.has_boards else []

    def _read(self, node: str) -> str:
        """The whole file, also from a node that is down (docker reads a stopped container)."""
        return self.lab.read_file(node, MESSAGES).decode(errors="replace")

    def sorted_events(self) -> list[Event]:
        return sorted(self.events, key=lambda e: e.t)


def events_jsonable(events: list[Event]) -> list[dict]:
    return [asdict(e) for e in events]
