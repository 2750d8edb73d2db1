"""A rootless engine as a unit of its user's own systemd: how Docker's rootless guide runs it
on a systemd host with cgroup v2 (lingering, the cgroup controllers delegated, the user's
D-Bus session bus for runc's systemd cgroup driver). Used by lab.engine.rootless there."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import LabError
from .say import Say

if TYPE_CHECKING:
    from .rootless import Rootless

# on a systemd host with cgroup v2 the engine runs in the user's own systemd, which runc (the
# systemd cgroup driver) reaches over the user's D-Bus session bus
PACKAGES = ("dbus-user-session",)
USER_UNIT = "heartbeat-lab-docker.service"
# Docker's rootless guide: the user's systemd gets these controllers (Debian 12's user@.service
# delegates only memory and pids), so limits work in the user's containers
DELEGATE_DROPIN = Path("/etc/systemd/system/user@.service.d/heartbeat-lab-delegate.conf")
DELEGATE = "[Service]\nDelegate=cpu cpuset io memory pids\n"


def available() -> bool:
    """A systemd host with cgroup v2 only (the unified hierarchy, every stock distribution
    now). There an unprivileged process gets cgroups only in a subtree systemd delegates to
    the user's own manager, and Docker picks the systemd cgroup driver by itself: a daemon
    started outside the user's systemd runs, but none of its containers starts (`open
    /sys/fs/cgroup/user.slice/user-UID.slice/cgroup.controllers: no such file or
    directory`, seen in the matrix's stock Debian VM)."""
    return Path("/sys/fs/cgroup/cgroup.controllers").exists() and Path("/run/systemd/system").is_dir()


def user_unit(script: str, log: Path) -> str:
    """The user's unit for the engine, as Docker's dockerd-rootless-setuptool.sh writes it
    (its log to a file the instructor can read, not only to the user's journal)."""
    return f"""[Unit]
Description=Docker engine of the heartbeat lab (rootless)
StartLimitBurst=3
StartLimitIntervalSec=60

[Service]
Environment=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
ExecStart={script} --storage-driver fuse-overlayfs
ExecReload=/bin/kill -s HUP $MAINPID
StandardOutput=append:{log}
StandardError=append:{log}
TimeoutSec=0
Restart=always
RestartSec=2
LimitNOFILE=infinity
LimitNPROC=infinity
LimitCORE=infinity
TasksMax=infinity
Delegate=yes
KillMode=mixed

[Install]
WantedBy=default.target
"""


def _as_user(engine: Rootless, *cmd: str, check: bool = True) -> subprocess.CompletedProcess:
    """A command of the user's own systemd, run as that user (its manager's bus)."""
    env = {"HOME": str(engine.home), "USER": engine.user, "XDG_RUNTIME_DIR": str(engine.runtime_dir),
           "DBUS_SESSION_BUS_ADDRESS": f"unix:path={engine.runtime_dir}/bus",
           "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
    res = subprocess.run(["setpriv", f"--reuid={engine.uid}", f"--regid={engine.gid}", "--init-groups", *cmd],
                         env=env, cwd=engine.home, capture_output=True, text=True)
    if check and res.returncode != 0:
        raise LabError(f"{' '.join(cmd)} (as {engine.user}) failed: {(res.stderr or res.stdout).strip()[-400:]}")
    return res


def ensure_manager(engine: Rootless, say: Say) -> None:
    """The user's systemd, kept running without a login (lingering), with the cgroup
    controllers delegated to it, and its session bus up."""
    changed = not DELEGATE_DROPIN.exists() or DELEGATE_DROPIN.read_text() != DELEGATE
    if changed:
        say(f"delegating cgroup controllers to users' systemd ({DELEGATE_DROPIN}) ...")
        DELEGATE_DROPIN.parent.mkdir(parents=True, exist_ok=True)
        DELEGATE_DROPIN.write_text(DELEGATE)
        subprocess.run(["systemctl", "daemon-reload"], check=True)
    manager = f"user@{engine.uid}.service"
    active = subprocess.run(["systemctl", "is-active", "--quiet", manager]).returncode == 0
    if changed and active:  # its delegation is read when it starts
        say(f"restarting {engine.user}'s systemd ({manager}) for the delegation ...")
        subprocess.run(["systemctl", "restart", manager], check=True)
    linger = Path("/var/lib/systemd/linger") / engine.user
    if not linger.exists() or not active:
        say(f"keeping {engine.user}'s systemd running without a login (loginctl enable-linger) ...")
        subprocess.run(["loginctl", "enable-linger", engine.user], check=True)
        subprocess.run(["systemctl", "start", manager], check=True)
    bus = engine.runtime_dir / "bus"
    deadline = time.monotonic() + 30
    while not bus.exists():
        if time.monotonic() > deadline:
            raise LabError(f"{engine.user}'s systemd ({manager}) is up, but its session bus {bus} did not appear "
                           "within 30 s: expected dbus-user-session to provide it")
        time.sleep(0.2)


def start_unit(engine: Rootless, script: str, say: Say) -> None:
    """Write the engine's unit in the user's systemd, enable and start it (the caller waits for
    the engine to answer)."""
    units = engine.home / ".config/systemd/user"
    text = user_unit(script, engine.log)
    path = units / USER_UNIT
    if not path.exists() or path.read_text() != text:
        for d in (engine.home / ".config", engine.home / ".config/systemd", units):
            d.mkdir(exist_ok=True)
            os.chown(d, engine.uid, engine.gid)
        path.write_text(text)
        os.chown(path, engine.uid, engine.gid)
    engine.log.touch()
    os.chown(engine.log, engine.uid, engine.gid)
    say(f"starting the rootless engine of {engine.user} as its systemd unit {USER_UNIT} "
        f"({engine.host}; log {engine.log}) ...")
    _as_user(engine, "systemctl", "--user", "daemon-reload")
    _as_user(engine, "systemctl", "--user", "enable", "--now", USER_UNIT)


def has_unit(engine: Rootless) -> bool:
    return (engine.home / ".config/systemd/user" / USER_UNIT).exists()


def stop_unit(engine: Rootless) -> bool:
    """Stop the engine's unit (it stays enabled). False if it was not running."""
    if _as_user(engine, "systemctl", "--user", "is-active", "--quiet", USER_UNIT, check=False).returncode != 0:
        return False
    _as_user(engine, "systemctl", "--user", "stop", USER_UNIT)
    return True
