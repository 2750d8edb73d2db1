"""The class's credentials and the slowing of wrong guesses: pure, unit-tested.

A trainee's credential is 128 random bits (secrets), written in base32 and grouped for
reading aloud and typing into an ssh prompt; it is never derived from the lab's name. The
instructor's password is shown once: only its scrypt hash is kept. Logging in is slowed per
client address after a few wrong answers, doubling up to a minute."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, field
from typing import Callable

CREDENTIAL_BITS = 128
SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def new_credential() -> str:
    """128 random bits as 26 base32 letters and digits in groups of four: 'k3m9-...'."""
    text = base64.b32encode(secrets.token_bytes(CREDENTIAL_BITS // 8)).decode().rstrip("=").lower()
    return "-".join(text[i:i + 4] for i in range(0, len(text), 4))


def same_credential(given: str, expected: str) -> bool:
    """In constant time; spaces and case as a person may type them do not count."""
    norm = "".join(given.split()).lower()
    return hmac.compare_digest(norm.encode(), expected.encode())


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, **SCRYPT)
    return f"scrypt${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    try:
        kind, salt, digest = stored.split("$")
    except ValueError:
        return False
    if kind != "scrypt":
        return False
    mine = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), **SCRYPT)
    return hmac.compare_digest(mine.hex(), digest)


@dataclass
class Limiter:
    """Wrong answers per client: the first FREE are free, then each next try waits twice as
    long as the last (1 s, 2 s, 4 s ... up to CAP s). A right answer clears the client."""
    free: int = 3
    cap: float = 60.0
    clock: Callable[[], float] = time.monotonic
    _fails: dict[str, tuple[int, float]] = field(default_factory=dict)

    def wait(self, client: str) -> float:
        """Seconds the client must still wait before it may try again (0: it may)."""
        count, last = self._fails.get(client, (0, 0.0))
        if count < self.free:
            return 0.0
        delay = min(self.cap, 2.0 ** (count - self.free))
        return max(0.0, last + delay - self.clock())

    def failed(self, client: str) -> None:
        count, _ = self._fails.get(client, (0, 0.0))
        self._fails[client] = (count + 1, self.clock())

    def succeeded(self, client: str) -> None:
        self._fails.pop(client, None)
