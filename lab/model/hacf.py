"""Reading heartbeat's configuration files as heartbeat does: ha.cf directives (a name,
then the rest of the line; `#` starts a comment), times in seconds or with `ms`."""

from __future__ import annotations

import re


def directives(text: str) -> list[tuple[str, str]]:
    """(name, value) for each directive line of ha.cf, in order."""
    out = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, value = line.partition(" ") if " " in line else line.partition("\t")
            out.append((name.strip().lower(), " ".join(value.split())))
    return out


def values(text: str, name: str) -> list[str]:
    return [v for n, v in directives(text) if n == name]


def seconds(value: str) -> float:
    """heartbeat's time syntax: `2`, `1.5`, `500ms`, `500 ms`."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s)?\s*", value)
    if not m:
        raise ValueError(f"not a time: {value!r} (expected seconds, or milliseconds with ms)")
    return float(m.group(1)) / (1000 if m.group(2) == "ms" else 1)


def timers(text: str) -> dict[str, float]:
    """The timers ha.cf sets (keepalive, deadtime, warntime, initdead), in seconds; the
    last line wins, as in heartbeat."""
    return {n: seconds(v) for n, v in directives(text) if n in ("keepalive", "deadtime", "warntime", "initdead")}


def media(text: str) -> dict[str, list[str]]:
    """The heartbeat media the file configures: serial ports and Ethernet (ucast, bcast, mcast)."""
    found: dict[str, list[str]] = {"serial": [], "ethernet": []}
    for n, v in directives(text):
        if n == "serial":
            found["serial"] += v.split()
        elif n in ("ucast", "bcast", "mcast", "mcast6"):
            found["ethernet"].append(f"{n} {v}")
    return found
