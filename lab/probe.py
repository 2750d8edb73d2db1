"""A client's view of a failover: hostname.html at the cluster URL, asked many times a
second, each time on a fresh TCP connection, with monotonic timestamps. The outage a fault
causes is the first good answer after it minus the last good answer before it."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import requests

from .render import serving_node


@dataclass(frozen=True)
class Sample:
    t: float  # time.monotonic() when the request was sent
    node: str | None  # the node named by hostname.html; None when the request failed


class Probe:
    """Polls `url` in a background thread for as long as it runs (a context manager)."""

    def __init__(self, url: str, hz: float = 20.0, timeout: float = 0.5):
        self.url, self.interval, self.timeout = url, 1.0 / hz, timeout
        self.samples: list[Sample] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="probe", daemon=True)

    def __enter__(self) -> "Probe":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            t = time.monotonic()
            node = None
            try:
                # a new connection per request: no keep-alive hiding a dead server
                r = requests.get(self.url, timeout=self.timeout, headers={"Connection": "close"})
                if r.status_code == 200:
                    node = serving_node(r.text)
            except requests.RequestException:
                pass
            self.samples.append(Sample(t, node))
            self._stop.wait(max(0.0, self.interval - (time.monotonic() - t)))

    def outage(self, since: float) -> float | None:
        """Seconds between the last good answer before `since` and the first after it;
        None while no good answer has come after it."""
        return outage(self.samples, since)


def outage(samples: list[Sample], since: float) -> float | None:
    """The client-visible outage caused by something done at `since`: from the last good
    answer before the first failed one after `since`, to the first good answer after that.
    0.0 if no request failed; None if the service has not come back (yet)."""
    later = [s for s in samples if s.t >= since]
    first_fail = next((i for i, s in enumerate(later) if s.node is None), None)
    if first_fail is None:
        return 0.0 if later else None
    good_before = [s.t for s in samples if s.node and s.t < later[first_fail].t]
    back = next((s.t for s in later[first_fail:] if s.node), None)
    if back is None:
        return None
    return back - (good_before[-1] if good_before else since)
