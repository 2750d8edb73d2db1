"""Reading heartbeat's three files as heartbeat does, in one place for `lab up --from`
(lab.model.custom), the workshop's checks and the exercises: ha.cf and authkeys directives
(a name, then the rest of the line; `#` starts a comment), times in seconds or with `ms`,
haresources' resource groups (`\\` continues a line), and authkeys' judgement."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

AUTH_METHODS = ("sha1", "md5", "crc")


def directive_lines(text: str) -> list[tuple[int, str, str]]:
    """(line number, name as written, value) of each directive line, in order."""
    out = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if line:
            name, _, value = line.replace("\t", " ").partition(" ")
            out.append((number, name, " ".join(value.split())))
    return out


def directives(text: str) -> list[tuple[str, str]]:
    """(name, value) for each directive line of ha.cf, in order; names in lower case."""
    return [(name.lower(), value) for _, name, value in directive_lines(text)]


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


def resource_groups(text: str) -> list[tuple[int, list[str]]]:
    """haresources: (first line number, words) of each resource group; `#` comments, `\\`
    continues a line."""
    out: list[tuple[int, list[str]]] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].rstrip()
        if not pending:
            start = number
        cont = line.endswith("\\")
        pending += line.rstrip("\\").split()
        if not cont and pending:
            out.append((start, pending))
            pending = []
    if pending:
        out.append((start, pending))
    return out


@dataclass
class Authkeys:
    """authkeys as heartbeat reads it: `auth N`, then `N METHOD [KEY]` lines."""
    use: tuple[int, str] | None = None  # (line number, N) of the `auth N` line
    keys: dict[str, tuple[int, str, str]] = field(default_factory=dict)  # N -> (line, method, key)
    problems: list[tuple[int | None, str]] = field(default_factory=list)  # (line number or None, what)

    @property
    def method(self) -> str | None:
        """The method of the key in use, when the file is sound."""
        return self.keys[self.use[1]][1] if self.use and self.use[1] in self.keys and not self.problems else None

    @property
    def key(self) -> str:
        return self.keys[self.use[1]][2] if self.method else ""


def authkeys(text: str) -> Authkeys:
    """authkeys read and judged: every problem heartbeat would refuse the file for (its mode
    aside, which is the caller's to see)."""
    out = Authkeys()
    for number, name, value in directive_lines(text):
        if name == "auth":
            out.use = (number, value)
        elif name.isdigit():
            method, _, key = value.partition(" ")
            out.keys[name] = (number, method, key)
            if method not in AUTH_METHODS:
                out.problems.append((number, f"method {method or '(none)'}: expected sha1, md5 or crc"))
            elif method != "crc" and not key:
                out.problems.append((number, f"{method} needs a key: `{name} {method} SECRET`"))
        else:
            out.problems.append((number, f"{name}: expected `auth N`, then `N METHOD [KEY]` lines"))
    if out.use is None:
        out.problems.append((None, "no `auth N` line: heartbeat does not know which key to use"))
    elif out.use[1] not in out.keys:
        out.problems.append((out.use[0], f"auth {out.use[1]}: no key line `{out.use[1]} METHOD KEY`"))
    return out
