"""What a class keeps on the instructor's machine: its roster (one credential per lab), the
instructor's password hash, the key its session cookies are sealed with, the ssh host key,
where it is served, and each lab's progress (when each step first passed, and whether the
trainee or the instructor's solve made it pass).

Files under $LAB_STATE_HOME (default $XDG_STATE_HOME/heartbeat-lab, ~/.local/state/...):
classes/<class>/record.json (mode 0600: it holds the credentials), progress.json,
ssh_host_key. `lab class down` of the whole class removes the directory."""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..errors import ConfigError
from .keys import new_credential

TRAINEE, INSTRUCTOR = "trainee", "instructor"


def state_home() -> Path:
    if os.environ.get("LAB_STATE_HOME"):
        return Path(os.environ["LAB_STATE_HOME"])
    xdg = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(xdg) / "heartbeat-lab"


def class_dir(klass: str) -> Path:
    return state_home() / "classes" / klass


def _write_private(path: Path, text: str) -> None:
    """Atomically, readable by the instructor only."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass
class ClassRecord:
    klass: str
    instructor_hash: str
    cookie_key: str  # 32 random bytes, urlsafe base64 (the sealed cookies' Fernet key)
    credentials: dict[str, str] = field(default_factory=dict)  # lab name -> the trainee's credential
    public_keys: dict[str, list[str]] = field(default_factory=dict)  # lab name -> trainee's ssh keys
    served: dict = field(default_factory=dict)  # {"url": ..., "ssh_host": ..., "ssh_port": ...}

    @classmethod
    def new(cls, klass: str, labs: list[str], instructor_hash: str) -> "ClassRecord":
        return cls(klass, instructor_hash, base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
                   {name: new_credential() for name in labs})

    @property
    def path(self) -> Path:
        return class_dir(self.klass) / "record.json"

    def save(self) -> "ClassRecord":
        _write_private(self.path, json.dumps(asdict(self), indent=2) + "\n")
        return self

    @classmethod
    def load(cls, klass: str) -> "ClassRecord":
        path = class_dir(klass) / "record.json"
        if not path.exists():
            raise ConfigError(f"class {klass!r}: no roster at {path}; a class started with `lab class up "
                              f"--class {klass}` on this machine has one (LAB_STATE_HOME: {state_home()})")
        return cls(**json.loads(path.read_text()))

    def add_labs(self, labs: list[str]) -> None:
        for name in labs:
            self.credentials.setdefault(name, new_credential())


def remove_class(klass: str) -> None:
    shutil.rmtree(class_dir(klass), ignore_errors=True)


# ---- progress: when each step of each lab first passed, and who made it pass ------------------
@dataclass
class Progress:
    klass: str
    first_passed: dict[str, dict[str, dict]] = field(default_factory=dict)  # lab -> step -> {"at", "by"}
    solved: dict[str, list[str]] = field(default_factory=dict)  # lab -> steps the instructor solved
    started: dict[str, float] = field(default_factory=dict)  # lab -> when its clock began (up or reset)

    @property
    def path(self) -> Path:
        return class_dir(self.klass) / "progress.json"

    @classmethod
    def load(cls, klass: str) -> "Progress":
        path = class_dir(klass) / "progress.json"
        return cls(klass, **json.loads(path.read_text())) if path.exists() else cls(klass)

    def save(self) -> None:
        data = asdict(self)
        data.pop("klass")
        _write_private(self.path, json.dumps(data, indent=2) + "\n")

    def begin(self, lab: str, at: float | None = None) -> None:
        """A lab's clock starts (class up, or a reset: what passed before no longer counts)."""
        self.started[lab] = at if at is not None else time.time()
        self.first_passed.pop(lab, None)
        self.solved.pop(lab, None)

    def solved_by_instructor(self, lab: str, steps: list[str]) -> None:
        self.solved.setdefault(lab, [])
        self.solved[lab] += [s for s in steps if s not in self.solved[lab]]

    def observe(self, lab: str, passed: list[str], at: float | None = None) -> list[str]:
        """The steps now passing; returns those that pass for the first time."""
        at = at if at is not None else time.time()
        mine = self.first_passed.setdefault(lab, {})
        new = [s for s in passed if s not in mine]
        for s in new:
            mine[s] = {"at": at, "by": INSTRUCTOR if s in self.solved.get(lab, []) else TRAINEE}
        return new

    def timeline(self, lab: str, steps: list[str], now: float | None = None) -> list[dict]:
        """Per step: seconds spent on it (from the previous step's pass, or the lab's start, to
        its own pass; or until now for the step being worked on), and who made it pass."""
        now = now if now is not None else time.time()
        mine = self.first_passed.get(lab, {})
        prev = self.started.get(lab)
        out = []
        for s in steps:
            got = mine.get(s)
            if got:
                spent = None if prev is None else max(0.0, got["at"] - prev)
                out.append({"step": s, "passed_at": got["at"], "by": got["by"], "seconds": spent})
                prev = got["at"] if prev is None else max(prev, got["at"])
            else:
                out.append({"step": s, "passed_at": None, "by": None,
                            "seconds": None if prev is None else max(0.0, now - prev), "current": True})
                break
        return out
