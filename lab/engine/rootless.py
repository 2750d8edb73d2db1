"""Which kind of Docker engine a lab runs on, and a rootless one for a shared classroom
server (`lab engine rootless`, `make rootless-engine`).

On a rootful engine without user namespaces a container's root is the host's root: a
trainee's root shell in a node that holds CAP_SYS_ADMIN can reach the host. A rootless
engine (rootlesskit, Debian's docker.io contrib script) runs the daemon and every container
as an unprivileged user: container root is that user's uid, other container uids its
subordinate range. Its networks live in rootlesskit's namespace, so the host cannot reach a
lab's VIP; the lab goes through ha3's 127.0.0.1 publication there instead."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import docker
from docker.context import ContextAPI

from ..errors import ConfigError, LabError
from . import debian, usersystemd
from .contexts import ensure_docker_config
from .say import Say, say_stderr

ROOTFUL, ROOTLESS, USERNS = "rootful", "rootless", "userns-remap"
DEFAULT_USER = "heartbeat-lab"
PACKAGES = ("uidmap", "rootlesskit", "slirp4netns", "fuse-overlayfs")  # Debian's, beside docker.io
DAEMON_SCRIPTS = ("/usr/share/docker.io/contrib/dockerd-rootless.sh",  # Debian's docker.io
                  "/usr/bin/dockerd-rootless.sh")  # Docker's docker-ce-rootless-extras
SUBIDS = 65536  # a whole 16-bit uid space for the containers' users, as Debian's adduser gives
FIRST_SUBID = 100000
START_WAIT = 90.0


def engine_kind(client: docker.DockerClient) -> str:
    """rootless, userns-remap (the daemon maps containers' users) or rootful (container
    root is host root), from the engine's own security options."""
    options = " ".join(client.info().get("SecurityOptions") or [])
    if "name=rootless" in options:
        return ROOTLESS
    if "name=userns" in options:
        return USERNS
    return ROOTFUL


USERNS_REMAP_USER = "heartbeat-lab-class"  # the class engine's (lab.engine.classengine)


def userns_root_ids(user: str = USERNS_REMAP_USER) -> tuple[int, int]:
    """The host uid and gid a container's root has on the class engine: the first of its
    remap user's subordinate uids and gids (a user-namespaced engine is this machine's, so
    its ranges are here)."""
    ids = []
    for path in (Path("/etc/subuid"), Path("/etc/subgid")):
        ranges = subid_ranges(path.read_text() if path.exists() else "").get(user)
        if not ranges:
            raise LabError(f"this engine remaps users, but {user} has no subordinate ids in {path}: expected the "
                           "lab's class engine (`lab engine class`), whose containers' root is the first of them")
        ids.append(ranges[0][0])
    return ids[0], ids[1]


def root_is_host_root(kind: str) -> bool:
    return kind == ROOTFUL


def refuse_lab(kind: str) -> None:
    """A lab cannot run on a rootless engine yet: nfsha's NFS server cannot serve /ha there.
    Said before anything is made, rather than after a 30 s wait for a cluster without its disk."""
    if kind != ROOTLESS:
        return
    raise ConfigError(
        "this Docker engine is rootless, and the lab cannot serve its shared disk there yet: nfsha's NFS server, "
        "nfs-ganesha (the only userspace NFS server Debian bookworm packages), opens the exported files with "
        "open_by_handle_at(2), which the kernel refuses inside a user namespace (\"Operation not permitted\"; "
        "its other persistent backends need Ceph or Gluster), so /ha would never mount. "
        "Run the lab on a rootful engine: for trainees you do not trust with root on this machine, one VM per "
        "class, and `lab class up --trust-trainees` inside it")


# ---- setting one up --------------------------------------------------------------------------
@dataclass(frozen=True)
class Rootless:
    user: str
    uid: int
    gid: int
    home: Path

    @property
    def runtime_dir(self) -> Path:
        return Path(f"/run/user/{self.uid}")

    @property
    def host(self) -> str:
        return f"unix://{self.runtime_dir}/docker.sock"

    @property
    def context(self) -> str:
        return f"rootless-{self.user}"

    @property
    def log(self) -> Path:
        return self.home / "dockerd-rootless.log"

    def client(self) -> docker.DockerClient:
        return docker.DockerClient(base_url=self.host, timeout=300)


def daemon_script() -> str:
    for path in DAEMON_SCRIPTS:
        if Path(path).exists():
            return path
    raise LabError("no dockerd-rootless.sh: expected Debian's docker.io (its contrib folder) or Docker's "
                   "docker-ce-rootless-extras; install one of them and try again")


def _missing_packages(wanted: tuple[str, ...]) -> list[str]:
    out = subprocess.run(["dpkg-query", "-W", "-f", "${Package} ${Status}\n", *wanted],
                         capture_output=True, text=True).stdout
    installed = {ln.split()[0] for ln in out.splitlines() if ln.endswith("install ok installed")}
    return [p for p in wanted if p not in installed]


def _ensure_user(name: str, say: Say) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        say(f"creating the unprivileged user {name!r} that runs the engine ...")
        subprocess.run(["useradd", "--create-home", "--shell", "/usr/sbin/nologin",
                        "--comment", "heartbeat lab rootless Docker engine", name], check=True)
        return pwd.getpwnam(name)


def subid_ranges(text: str) -> dict[str, list[tuple[int, int]]]:
    """/etc/subuid or /etc/subgid: user -> [(first, count)]."""
    found: dict[str, list[tuple[int, int]]] = {}
    for line in text.splitlines():
        parts = line.strip().split(":")
        if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
            found.setdefault(parts[0], []).append((int(parts[1]), int(parts[2])))
    return found


def free_subid_start(ranges: dict[str, list[tuple[int, int]]], count: int = SUBIDS) -> int:
    """The first start at or above FIRST_SUBID where `count` ids overlap no one's range."""
    taken = sorted(r for rs in ranges.values() for r in rs)
    start = FIRST_SUBID
    for first, n in taken:
        if start + count <= first:
            break
        start = max(start, first + n)
    return start


def _ensure_subids(user: str, say: Say) -> None:
    for kind, path in (("uids", Path("/etc/subuid")), ("gids", Path("/etc/subgid"))):
        ranges = subid_ranges(path.read_text() if path.exists() else "")
        if any(n >= SUBIDS for _, n in ranges.get(user, [])):
            continue
        start = free_subid_start(ranges)
        say(f"giving {user} the subordinate {kind} {start}-{start + SUBIDS - 1} ({path}) ...")
        subprocess.run(["usermod", f"--add-sub{kind}", f"{start}-{start + SUBIDS - 1}", user], check=True)


# the devices an unprivileged engine opens: slirp4netns's tap for the engine's network, and
# FUSE for fuse-overlayfs (its storage) and for the nodes' NFS mount. Debian's udev makes both
# 0666; a host without udev (a container, a minimal VM) may leave them 0600.
USER_DEVICES = {"/dev/net/tun": "the tun module (`modprobe tun`)", "/dev/fuse": "the fuse module (`modprobe fuse`)"}


def _ensure_devices(say: Say, devices: tuple[str, ...] = tuple(USER_DEVICES)) -> None:
    for dev, module in ((d, USER_DEVICES[d]) for d in devices):
        path = Path(dev)
        if not path.exists():
            raise LabError(f"no {dev}: a rootless engine needs {module}; load it and try again")
        if path.stat().st_mode & 0o066 != 0o066:
            say(f"making {dev} usable by unprivileged users (0666, as Debian's udev does) ...")
            path.chmod(0o666)


def _answers(engine: Rootless) -> bool:
    try:
        return bool(engine.client().ping())
    except Exception:  # not up (yet)
        return False


def _start_daemon(engine: Rootless, say: Say) -> None:
    rt = engine.runtime_dir
    rt.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chown(rt, engine.uid, engine.gid)
    rt.chmod(0o700)
    say(f"starting the rootless engine of {engine.user} ({engine.host}; log {engine.log}) ...")
    env = {"HOME": str(engine.home), "USER": engine.user, "XDG_RUNTIME_DIR": str(rt),
           "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
    with open(engine.log, "ab") as log:
        os.chown(engine.log, engine.uid, engine.gid)
        subprocess.Popen(["setpriv", f"--reuid={engine.uid}", f"--regid={engine.gid}", "--init-groups",
                          daemon_script(), "--storage-driver", "fuse-overlayfs"],
                         env=env, cwd=engine.home, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                         start_new_session=True)
    _wait_answer(engine)


def _wait_answer(engine: Rootless) -> None:
    deadline = time.monotonic() + START_WAIT
    while not _answers(engine):
        if time.monotonic() > deadline:
            tail = engine.log.read_text(errors="replace").strip().splitlines()[-8:] if engine.log.exists() else []
            raise LabError(f"the rootless engine did not answer at {engine.host} within {START_WAIT:.0f} s; "
                           "the end of its log:\n  " + "\n  ".join(tail))
        time.sleep(0.5)


def _ensure_context(engine: Rootless, say: Say) -> None:
    ensure_docker_config()
    ctx = ContextAPI.get_context(engine.context)
    if ctx is not None and ctx.Host == engine.host:
        return
    say(f"docker context {engine.context!r} -> {engine.host}")
    if shutil.which("docker"):  # the SDK writes its host as http+unix://, which the CLI cannot dial
        if ctx is not None:
            subprocess.run(["docker", "context", "rm", "-f", engine.context], capture_output=True, check=True)
        subprocess.run(["docker", "context", "create", engine.context, "--description",
                        f"rootless engine of {engine.user} (heartbeat lab)", "--docker", f"host={engine.host}"],
                       capture_output=True, check=True)
    else:
        if ctx is not None:
            ContextAPI.remove_context(engine.context)
        ContextAPI.create_context(engine.context, host=engine.host)


def lookup(user: str = DEFAULT_USER) -> Rootless:
    try:
        pw = pwd.getpwnam(user)
    except KeyError:
        raise LabError(f"no user {user!r}: set its rootless engine up first (`lab engine rootless --user {user}`, "
                       "as root)") from None
    return Rootless(user, pw.pw_uid, pw.pw_gid, Path(pw.pw_dir))


def prepare(user: str = DEFAULT_USER, say: Say = say_stderr) -> Rootless:
    """The unprivileged `user`'s rootless engine, set up and running, with a docker context
    named for it: each part is made only where it is missing (run it again at will)."""
    if not user.isidentifier() and not all(c.isalnum() or c in "-_" for c in user):
        raise ConfigError(f"--user {user!r}: expected a user name (letters, digits, - and _)")
    if os.geteuid() != 0:
        raise LabError("setting up a rootless engine creates a user and installs packages: run it as root "
                       "(`sudo make rootless-engine`); the engine itself then runs unprivileged")
    if not shutil.which("dpkg-query"):
        raise LabError("`lab engine rootless` sets up Debian's packages: expected a Debian or Ubuntu host")
    session = usersystemd.available()
    missing = _missing_packages(PACKAGES + (usersystemd.PACKAGES if session else ()))
    if missing:
        debian.apt_install(missing, say)
    daemon_script()
    pw = _ensure_user(user, say)
    if pw.pw_uid == 0:
        raise ConfigError(f"--user {user!r} is root: a rootless engine needs an unprivileged user")
    _ensure_subids(user, say)
    _ensure_devices(say)
    engine = Rootless(user, pw.pw_uid, pw.pw_gid, Path(pw.pw_dir))
    if session:
        usersystemd.ensure_manager(engine, say)
    if _answers(engine):
        say(f"the rootless engine of {user} already answers at {engine.host}")
    elif session:
        usersystemd.start_unit(engine, daemon_script(), say)
        _wait_answer(engine)
    else:
        _start_daemon(engine, say)
    kind = engine_kind(engine.client())
    if kind != ROOTLESS:
        raise LabError(f"the engine at {engine.host} reports itself {kind}, expected rootless")
    _ensure_context(engine, say)
    return engine


def stop(engine: Rootless, timeout: float = 30.0) -> bool:
    """Stop the user's engine (rootlesskit, dockerd and the containers under them). In the
    user's systemd: its unit stops (and stays enabled); otherwise every process of that user
    ends. False if none was running."""
    if usersystemd.available() and usersystemd.has_unit(engine):
        return usersystemd.stop_unit(engine)
    if subprocess.run(["pkill", "-TERM", "-u", str(engine.uid)]).returncode != 0:
        return False
    deadline = time.monotonic() + timeout
    while subprocess.run(["pgrep", "-u", str(engine.uid)], capture_output=True).returncode == 0:
        if time.monotonic() > deadline:
            subprocess.run(["pkill", "-KILL", "-u", str(engine.uid)])
            break
        time.sleep(0.2)
    return True
