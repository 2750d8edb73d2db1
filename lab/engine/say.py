"""How the engine layer tells a person what it is doing: a `say` callable, stderr by default
(progress on stderr, a command's answer on stdout)."""

from __future__ import annotations

import sys
from typing import Callable

Say = Callable[[str], None]


def say_stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)
