"""Waiting is polling a real condition with a deadline; a failed wait says what was awaited
and what was seen last."""

from __future__ import annotations

import time
from typing import Callable, TypeVar

T = TypeVar("T")


class WaitTimeout(TimeoutError):
    def __init__(self, what: str, timeout: float, seen: object):
        self.what, self.timeout, self.seen = what, timeout, seen
        super().__init__(f"waited {timeout:g} s for {what}; last seen: {seen}")


def wait_until(
    what: str,
    check: Callable[[], tuple[bool, T]],
    timeout: float,
    interval: float = 0.2,
) -> T:
    """Call check() until it returns (True, value); return the value. check returns
    (False, what_was_seen) while the condition does not hold yet."""
    deadline = time.monotonic() + timeout
    seen: object = "nothing yet"
    while True:
        try:
            ok, value = check()
        except Exception as exc:  # a probe that errors is a condition not met yet
            ok, value = False, f"{type(exc).__name__}: {exc}"
        if ok:
            return value
        seen = value
        if time.monotonic() >= deadline:
            raise WaitTimeout(what, timeout, seen)
        time.sleep(interval)
