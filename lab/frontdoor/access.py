"""Who may touch what, decided on the server from the session (or the ssh login), never
from what a request names: pure, unit-tested.

A trainee reaches their own lab's four containers (the nodes, the NFS server, the client),
its checks, its guide and its site; the instructor reaches every lab and the class's
actions (reset, solve, fault, heal). Nobody reaches a management board, the host or the
Docker API through the class server."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import ConfigError
from ..model.config import CLIENT, NFS_SERVER, NODES
from .record import INSTRUCTOR, TRAINEE

REACHABLE = (*NODES, NFS_SERVER, CLIENT)  # the containers a terminal may open
SSH_USER = re.compile(r"^(?P<lab>[a-z0-9][a-z0-9-]{0,40})(?:\+(?P<node>[a-z0-9]+))?$")


@dataclass(frozen=True)
class Who:
    role: str  # TRAINEE or INSTRUCTOR
    lab: str | None = None  # a trainee's own lab

    def cookie(self) -> str:
        return INSTRUCTOR if self.role == INSTRUCTOR else f"{TRAINEE}:{self.lab}"

    @classmethod
    def from_cookie(cls, value: str | None) -> "Who | None":
        if value == INSTRUCTOR:
            return cls(INSTRUCTOR)
        if value and value.startswith(f"{TRAINEE}:") and value[len(TRAINEE) + 1:]:
            return cls(TRAINEE, value[len(TRAINEE) + 1:])
        return None

    def __str__(self) -> str:
        return self.cookie()


def may_open(who: Who | None, lab: str) -> bool:
    """The lab's page, terminals, checks, guide, handout and site."""
    return who is not None and (who.role == INSTRUCTOR or (who.role == TRAINEE and who.lab == lab))


def may_act(who: Who | None) -> bool:
    """The class's dashboard and its actions: reset, solve, fault, heal."""
    return who is not None and who.role == INSTRUCTOR


def container_for(who: Who | None, lab: str, node: str) -> tuple[str, str]:
    """The (lab, container role) a terminal opens: the lab must be one the session may open,
    and the role one of the four a trainee works in."""
    if not may_open(who, lab):
        raise PermissionError(f"{who or 'nobody'} may not open lab {lab!r}")
    if node not in REACHABLE:
        raise PermissionError(f"{node!r} is not one of {', '.join(REACHABLE)}")
    return lab, node


def parse_ssh_user(user: str) -> tuple[str, str | None]:
    """'trainee05' (the node is chosen after logging in) or 'trainee05+ha1'."""
    m = SSH_USER.match(user)
    if not m:
        raise ConfigError(f"ssh user {user!r}: expected LAB or LAB+NODE (NODE one of {', '.join(REACHABLE)})")
    node = m.group("node")
    if node is not None and node not in REACHABLE:
        raise ConfigError(f"ssh user {user!r}: {node!r} is not one of {', '.join(REACHABLE)}")
    return m.group("lab"), node
