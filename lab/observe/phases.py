"""Where the seconds of an outage go: a step's timeline cut into phases.

A failover, as heartbeat's log and the probe tell it on one clock (lab.observe.timeline):

    fault ──detection──▶ heartbeat reacts ──release──▶ first resource start
          ──IPaddr2──▶ Filesystem start ──Filesystem──▶ apache2 start ──apache2──▶ acquired
          ──client──▶ the client's first good answer

- detection: the fault's mark to heartbeat's first reaction (a peer declared dead, a standby
  request, a release); for a crash this is heartbeat's deadtime, nothing else;
- release: the reaction to the first resource start (the old node stopping its resources,
  the two nodes' negotiation, a fence through a board);
- one phase per resource agent start, in the haresources order;
- client: the takeover's end (heartbeat's "acquired", or the last agent's start when the log
  has none) to the client's first good answer (ARP, Apache's first answer, the probe's rate).

Pure functions on recorded events and samples, unit-tested on recorded runs."""

from __future__ import annotations

from dataclasses import dataclass

REACTIONS = ("dead", "standby", "release", "ipfail", "acquire")
AGENTS = ("IPaddr2", "Filesystem", "apache2")


@dataclass(frozen=True)
class Phases:
    fault: float  # the step's mark (monotonic)
    outage_start: float | None  # the last good answer before the first failed one
    first_ok: float | None  # the client's first good answer after it
    reacted: float | None  # heartbeat's first reaction
    starts: tuple[tuple[str, float], ...]  # each agent's start on the new owner, in order
    acquired: float | None

    def durations(self) -> dict[str, float | None]:
        """Each phase's length in seconds (None where the log does not show it)."""
        out: dict[str, float | None] = {"detection": _d(self.fault, self.reacted)}
        first_start = self.starts[0][1] if self.starts else None
        out["release"] = _d(self.reacted, first_start)
        for (name, t), nxt in zip(self.starts, [*self.starts[1:], None]):
            end = nxt[1] if nxt else (self.acquired if self.acquired and self.acquired >= t else None)
            out[name] = _d(t, end)
        done = self.acquired if self.acquired is not None else (self.starts[-1][1] if self.starts else None)
        out["client"] = _d(done, self.first_ok)
        return out

    @property
    def takeover(self) -> float | None:
        """From heartbeat's reaction to the client's first good answer: what is not detection."""
        return _d(self.reacted, self.first_ok)

    @property
    def detection(self) -> float | None:
        return _d(self.fault, self.reacted)

    def to_dict(self) -> dict:
        return {"detection_s": _r(self.detection), "takeover_s": _r(self.takeover),
                "lead_s": _r(_d(self.fault, self.outage_start)),
                "phases_s": {k: _r(v) for k, v in self.durations().items()}}

    def describe(self) -> str:
        """One line for a person: each phase with its length."""
        parts = [f"{k} {v:.2f} s" for k, v in self.durations().items() if v is not None]
        return ", ".join(parts) or "no heartbeat event in the step's window"


def _d(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else b - a


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 3)


def cut(fault: float, end: float | None, window: tuple[float, float] | None, events: list,
        server: str | None) -> Phases:
    """The phases of one step: `events` (lab.observe.timeline.Event) between the step's mark
    `fault` and `end` (the next step's mark, or None), `window` the step's outage window,
    `server` the node that answers once the step is over (its agents' starts are the takeover)."""
    mine = sorted((e for e in events if e.t >= fault and (end is None or e.t < end)), key=lambda e: e.t)
    first_ok = window[1] if window else None
    reacted = next((e.t for e in mine if e.kind in REACTIONS
                    or (e.kind == "resource" and e.text.endswith(" stop"))), None)
    starts: list[tuple[str, float]] = []
    acquired = None
    for e in mine:
        if e.node != server:
            continue
        name, _, verb = e.text.rpartition(" ")
        if e.kind == "resource" and verb == "start" and (first_ok is None or e.t <= first_ok + 5):
            agent = next((a for a in AGENTS if name.startswith(a)), name)
            if agent == AGENTS[0]:
                starts = []  # a takeover begins again (a retried or second acquisition)
            starts.append((agent, e.t))
        elif e.kind == "acquired" and starts:
            acquired = e.t
    if reacted is None and starts:
        reacted = starts[0][1]
    return Phases(fault, window[0] if window else None, first_ok, reacted, tuple(starts), acquired)
