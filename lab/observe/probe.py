"""A client's view of a failover. The probe requests hostname.html at the cluster URL many
times a second, each on a fresh TCP connection (lab/probe_agent.py), from the client node
ha3 or from the host, and records every answer with a monotonic timestamp (containers
share the host's monotonic clock, so ha3's samples line up with the host's marks).

The arithmetic: the outage a fault causes is the first good answer after it minus the last
good answer before its first failed request; failure windows are runs of requests that
were not ok; node changes count the times the answering node changed."""

from __future__ import annotations

import statistics
import threading
from dataclasses import asdict, dataclass

from ..engine.handle import LabHandle
from ..model.config import CLIENT
from . import probe_agent
from .agent import Agent
from .state import host_url

OK, FAILED, UNKNOWN = "ok", "failed", "unknown"


@dataclass(frozen=True)
class Sample:
    t: float  # time.monotonic() when the request started
    result: str  # ok, failed, unknown
    node: str | None = None  # the node named by hostname.html (ok only)
    latency: float = 0.0
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.result == OK

    @classmethod
    def from_dict(cls, d: dict) -> "Sample":
        return cls(t=d["t"], result=d["result"], node=d.get("node"), latency=d.get("latency", 0.0),
                   detail=d.get("detail", ""))


class Probe:
    """Runs while in a with-block. where="ha3" probes from the client node, "host" from here."""

    def __init__(self, lab: LabHandle, where: str = CLIENT, hz: float = 20.0, path: str = "hostname.html"):
        if where not in (CLIENT, "host"):
            raise ValueError(f"probe location {where!r}: expected ha3 or host")
        self.lab, self.where, self.hz = lab, where, hz
        # from the host on a rootless engine: through ha3's 127.0.0.1 publication (no route to the VIP)
        base = lab.cfg.url if where == CLIENT else host_url(lab)
        self.url = f"{base}{path}"
        self._samples: list[Sample] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._agent: Agent | None = None

    @property
    def samples(self) -> list[Sample]:
        with self._lock:
            return sorted(self._samples, key=lambda s: s.t)

    def _add(self, d: dict) -> None:
        d["node"] = self.lab.cfg.role_of(d.get("node")) or d.get("node")  # the page names the hostname
        with self._lock:
            self._samples.append(Sample.from_dict(d))

    def __enter__(self) -> "Probe":
        if self.where == "host":
            self._thread = threading.Thread(target=probe_agent.poll, args=(self.url, self.hz, self._add, self._stop),
                                            name="probe", daemon=True)
            self._thread.start()
        else:
            self._agent = Agent(self.lab, probe_agent, [self.url, "--hz", str(self.hz)], self._add, "probe")
            self._agent.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._agent:
            self._agent.stop(wait=5)
        if self._thread:
            self._thread.join(timeout=5)

    def outage(self, since: float) -> float | None:
        return outage(self.samples, since)


# ---- the arithmetic, on recorded samples -------------------------------------------------------
def outage_window(samples: list[Sample], since: float) -> tuple[float, float] | None:
    """The client-visible outage caused by something done at `since`, as (the last good
    answer before the first request after `since` that was not ok, the first good answer
    after that). (since, since) if every request was ok; None if the service has not come
    back (yet)."""
    later = [s for s in samples if s.t >= since]
    first_bad = next((i for i, s in enumerate(later) if not s.ok), None)
    if first_bad is None:
        return (since, since) if later else None
    good_before = [s.t for s in samples if s.ok and s.t < later[first_bad].t]
    back = next((s.t for s in later[first_bad:] if s.ok), None)
    if back is None:
        return None
    return (good_before[-1] if good_before else since), back


def outage(samples: list[Sample], since: float) -> float | None:
    """The length of outage_window(): 0.0 if every request was ok, None if not back (yet)."""
    window = outage_window(samples, since)
    return None if window is None else window[1] - window[0]


def failure_windows(samples: list[Sample]) -> list[tuple[float, float]]:
    """Each run of requests that were not ok, as (last ok before it, first ok after it);
    a run at either end of the recording is bounded by its own first or last request."""
    windows = []
    last_ok: float | None = None
    start: float | None = None
    for s in samples:
        if s.ok:
            if start is not None:
                windows.append((start, s.t))
                start = None
            last_ok = s.t
        elif start is None:
            start = last_ok if last_ok is not None else s.t
    if start is not None:
        windows.append((start, samples[-1].t))
    return windows


def node_changes(samples: list[Sample]) -> int:
    nodes = [s.node for s in samples if s.ok]
    return sum(1 for a, b in zip(nodes, nodes[1:]) if a != b)


def summary(samples: list[Sample], since: float | None = None) -> dict:
    """The numbers of a probe run: outage (if since is given), failed time, windows, node changes."""
    windows = failure_windows(samples)
    span = samples[-1].t - samples[0].t if len(samples) > 1 else 0.0
    return {
        "requests": len(samples),
        "rate_hz": round(len(samples) / span, 1) if span else None,
        "ok": sum(s.ok for s in samples),
        "failed": sum(s.result == FAILED for s in samples),
        "unknown": sum(s.result == UNKNOWN for s in samples),
        "outage_s": None if since is None else _round(outage(samples, since)),
        "failed_time_s": round(sum(b - a for a, b in windows), 3),
        "failure_windows": len(windows),
        "node_changes": node_changes(samples),
        "served_by": served_by(samples),
        "median_latency_ms": round(1000 * statistics.median(s.latency for s in samples if s.ok), 1)
        if any(s.ok for s in samples) else None,
    }


def served_by(samples: list[Sample]) -> list[str]:
    """The nodes that answered, in order, each once per run of answers."""
    seq: list[str] = []
    for s in samples:
        if s.ok and (not seq or seq[-1] != s.node):
            seq.append(s.node or "?")
    return seq


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 3)


def to_jsonable(samples: list[Sample]) -> list[dict]:
    return [asdict(s) for s in samples]
