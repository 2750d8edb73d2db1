"""A Docker engine for classes (`lab engine class`, `make class-engine`): a second rootful
dockerd beside the machine's own, with user-namespace remapping, so that a trainee's root
in a node is an unprivileged uid of this machine.

It has its own data root, exec root, socket, pid file and docker context, and changes
nothing of the machine's engine. It manages no iptables rules of its own (two daemons would
each rewrite Docker's chains at start); the few the lab needs are the lab's, in one chain
(CHAIN): a class lab's bridges (named BRIDGE_PREFIX...) carry their own traffic, nothing is
routed between them or from them to anywhere else, and the machine takes nothing from them
but replies.

nfs-ganesha cannot serve from a user namespace (open_by_handle_at needs CAP_DAC_READ_SEARCH
in the host's): on this engine it runs in a container of its own in the host's user
namespace, inside nfsha's network namespace, where no trainee can open it
(lab.model.topology: the role "nfsd")."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import docker
from docker.context import ContextAPI

from ..errors import ConfigError, LabError
from ..model.topology import BRIDGE_PREFIX
from .contexts import ensure_docker_config
from .say import Say, say_stderr
from .rootless import USERNS, USERNS_REMAP_USER, _ensure_devices, _ensure_subids, _ensure_user, engine_kind

NAME = "heartbeat-lab-class"
REMAP_USER = USERNS_REMAP_USER  # its /etc/subuid and /etc/subgid ranges are the containers' uids and gids
STATE = Path("/var/lib/heartbeat-lab/class-engine")  # data root, daemon.json, log
RUN = Path("/run/heartbeat-lab-class")  # exec root, socket, pid file
SOCKET = RUN / "docker.sock"
HOST = f"unix://{SOCKET}"
CONTEXT = NAME
DEFAULT_BRIDGE = BRIDGE_PREFIX + "0"  # made by the lab (dockerd attaches to it): the firewall chain matches it too
DEFAULT_BRIDGE_ADDRESS = "198.18.254.1/24"  # from the benchmarking range, which LANs rarely use; no lab uses it
CHAIN = "HEARTBEAT-LAB-CLASS"
CHAIN_IN = "HEARTBEAT-LAB-CLASS-IN"
START_WAIT = 60.0
MACHINE_CONFIG = Path("/etc/docker/daemon.json")
# taken from the machine's engine, so that both store and size things alike
SHARED_KEYS = ("storage-driver", "mtu", "log-driver", "log-opts")


def daemon_config(machine: dict) -> dict:
    config = {k: machine[k] for k in SHARED_KEYS if k in machine}
    return {
        **config,
        "userns-remap": f"{REMAP_USER}:{REMAP_USER}",
        "data-root": str(STATE / "data"),
        "exec-root": str(RUN / "exec"),
        "pidfile": str(RUN / "docker.pid"),
        "hosts": [HOST],
        "iptables": False,  # the machine's engine owns Docker's chains; this engine's rules are CHAIN's
        "ip-masq": False,
        # its default bridge is its own: with "none" dockerd deletes docker0, the machine
        # engine's (found when the machine's next build could not attach to docker0)
        "bridge": DEFAULT_BRIDGE,
        # its own identity: with the machine's key (/etc/docker/key.json) both engines report
        # one ID, and `lab class` takes two contexts with one ID for one engine
        "deprecated-key-path": str(STATE / "key.json"),
    }


def firewall_rules() -> list[list[str]]:
    """The chains' rules, in order (iptables arguments after the chain name)."""
    return [
        [CHAIN, "-i", f"{BRIDGE_PREFIX}+", "-m", "physdev", "--physdev-is-bridged", "-j", "ACCEPT"],
        [CHAIN, "-i", f"{BRIDGE_PREFIX}+", "-j", "DROP"],  # routed: to another lab, the machine's LANs, out
        [CHAIN, "-o", f"{BRIDGE_PREFIX}+", "-m", "physdev", "--physdev-is-bridged", "-j", "ACCEPT"],
        [CHAIN, "-o", f"{BRIDGE_PREFIX}+", "-j", "DROP"],
        [CHAIN_IN, "-i", f"{BRIDGE_PREFIX}+", "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT"],
        [CHAIN_IN, "-i", f"{BRIDGE_PREFIX}+", "-j", "DROP"],  # the machine's own services
    ]


def _iptables(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    res = subprocess.run(["iptables", "-w", *args], capture_output=True, text=True)
    if check and res.returncode != 0:
        raise LabError(f"iptables {' '.join(args)} failed: {res.stderr.strip()}")
    return res


def ensure_firewall(say: Say) -> None:
    """CHAIN in FORWARD and CHAIN_IN in INPUT, with exactly firewall_rules() (again at will)."""
    for chain, parent in ((CHAIN, "FORWARD"), (CHAIN_IN, "INPUT")):
        if _iptables("-S", chain, check=False).returncode != 0:
            say(f"iptables: chain {chain} (in {parent}) for the class engine's bridges")
            _iptables("-N", chain)
        _iptables("-F", chain)
        if _iptables("-C", parent, "-j", chain, check=False).returncode != 0:
            _iptables("-I", parent, "1", "-j", chain)
    for rule in firewall_rules():
        _iptables("-A", *rule)


def ensure_bridge(say: Say) -> None:
    """The class engine's default bridge (no lab container uses it)."""
    if subprocess.run(["ip", "link", "show", DEFAULT_BRIDGE], capture_output=True).returncode == 0:
        return
    say(f"bridge {DEFAULT_BRIDGE} ({DEFAULT_BRIDGE_ADDRESS}): the class engine's default network")
    for cmd in (["ip", "link", "add", DEFAULT_BRIDGE, "type", "bridge"],
                ["ip", "addr", "add", DEFAULT_BRIDGE_ADDRESS, "dev", DEFAULT_BRIDGE],
                ["ip", "link", "set", DEFAULT_BRIDGE, "up"]):
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            raise LabError(f"{' '.join(cmd)} failed: {res.stderr.strip()}")


def remove_bridge() -> None:
    subprocess.run(["ip", "link", "del", DEFAULT_BRIDGE], capture_output=True)


def remove_firewall() -> None:
    for chain, parent in ((CHAIN, "FORWARD"), (CHAIN_IN, "INPUT")):
        while _iptables("-D", parent, "-j", chain, check=False).returncode == 0:
            pass
        _iptables("-F", chain, check=False)
        _iptables("-X", chain, check=False)


def client(timeout: int = 300) -> docker.DockerClient:
    return docker.DockerClient(base_url=HOST, timeout=timeout)


def answers() -> bool:
    try:
        return bool(client(10).ping())
    except Exception:  # not up (yet)
        return False


def _machine_config() -> dict:
    try:
        return json.loads(MACHINE_CONFIG.read_text()) if MACHINE_CONFIG.exists() else {}
    except json.JSONDecodeError as exc:
        raise LabError(f"{MACHINE_CONFIG} is not JSON ({exc}): expected the machine engine's configuration") from None


def _start(say: Say) -> None:
    if not shutil.which("dockerd"):
        raise LabError("no dockerd on this machine: the class engine is a second Docker daemon; install Docker "
                       "(Debian's docker.io) and try again")
    # the remapped root must be able to pass through to its own part of the data root
    STATE.mkdir(parents=True, exist_ok=True)
    for d in (STATE.parent, STATE):
        d.chmod(d.stat().st_mode | 0o711)
    RUN.mkdir(mode=0o700, parents=True, exist_ok=True)
    config = STATE / "daemon.json"
    config.write_text(json.dumps(daemon_config(_machine_config()), indent=2) + "\n")
    log = STATE / "dockerd.log"
    say(f"starting the class engine ({HOST}; configuration {config}; log {log}) ...")
    with open(log, "ab") as out:
        subprocess.Popen(["dockerd", "--config-file", str(config)], stdin=subprocess.DEVNULL, stdout=out,
                         stderr=out, start_new_session=True)
    deadline = time.monotonic() + START_WAIT
    while not answers():
        if time.monotonic() > deadline:
            tail = log.read_text(errors="replace").strip().splitlines()[-8:]
            raise LabError(f"the class engine did not answer at {HOST} within {START_WAIT:.0f} s; "
                           "the end of its log:\n  " + "\n  ".join(tail))
        time.sleep(0.5)


def _ensure_context(say: Say) -> None:
    ensure_docker_config()
    ctx = ContextAPI.get_context(CONTEXT)
    if ctx is not None and ctx.Host == HOST:
        return
    say(f"docker context {CONTEXT!r} -> {HOST}")
    if shutil.which("docker"):  # the SDK writes its host as http+unix://, which the CLI cannot dial
        if ctx is not None:
            subprocess.run(["docker", "context", "rm", "-f", CONTEXT], capture_output=True, check=True)
        subprocess.run(["docker", "context", "create", CONTEXT, "--description",
                        "the heartbeat lab's class engine (user namespaces)", "--docker", f"host={HOST}"],
                       capture_output=True, check=True)
    else:
        if ctx is not None:
            ContextAPI.remove_context(CONTEXT)
        ContextAPI.create_context(CONTEXT, host=HOST)


def prepare(say: Say = say_stderr) -> docker.DockerClient:
    """The class engine, set up and running, with its firewall chain and docker context:
    each part is made only where it is missing (run it again at will)."""
    if os.geteuid() != 0:
        raise LabError("the class engine is a second Docker daemon with its own firewall rules: set it up as root "
                       "(`sudo make class-engine`)")
    for tool in ("iptables", "ip"):
        if not shutil.which(tool):
            raise LabError(f"no {tool}: the class engine keeps its labs apart with iptables rules on bridges it "
                           "makes with ip; install iptables and iproute2")
    pw = _ensure_user(REMAP_USER, say)
    if pw.pw_uid == 0:
        raise ConfigError(f"{REMAP_USER} is root")
    _ensure_subids(REMAP_USER, say)
    # the nodes' root is an unprivileged uid of the host there: nfs4fuse opens /dev/fuse as it
    # (a host whose /dev/fuse is 0600 failed every NFS mount: CI run 37)
    _ensure_devices(say, ("/dev/fuse",))
    ensure_firewall(say)
    ensure_bridge(say)
    if answers():
        say(f"the class engine already answers at {HOST}")
    else:
        _start(say)
    engine = client()
    kind = engine_kind(engine)
    if kind != USERNS:
        raise LabError(f"the engine at {HOST} reports itself {kind}, expected {USERNS}; see {STATE / 'dockerd.log'}")
    _ensure_context(say)
    return engine


def stop(timeout: float = 60.0) -> bool:
    """Stop the class engine's daemon (its containers stop with it; they and its images stay
    in its data root for the next start). False if it was not running."""
    pidfile = RUN / "docker.pid"
    try:
        pid = int(pidfile.read_text().strip())
        os.kill(pid, signal.SIGTERM)
    except (OSError, ValueError):
        return False
    deadline = time.monotonic() + timeout
    while _alive(pid):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            break
        time.sleep(0.2)
    return True


def _alive(pid: int) -> bool:
    """The daemon still runs: not gone, and not a zombie (a daemon started by this process,
    the tests', stays one until reaped: reap it here)."""
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:  # started by another process: its parent reaps it
        pass
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def remove(say: Say = say_stderr) -> None:
    """Stop it and remove everything it made: its data root (containers, images, volumes),
    its firewall chains and its docker context. The user and its ranges stay (a uid range
    reused later would own nothing stale: the data root is gone)."""
    stop()
    remove_firewall()
    remove_bridge()
    if STATE.exists():
        say(f"removing {STATE} ...")
        subprocess.run(["rm", "-rf", "--one-file-system", str(STATE)], check=True)
    if RUN.exists():
        shutil.rmtree(RUN, ignore_errors=True)
    ensure_docker_config()
    if ContextAPI.get_context(CONTEXT) is not None:
        if shutil.which("docker"):
            subprocess.run(["docker", "context", "rm", "-f", CONTEXT], capture_output=True)
        else:
            ContextAPI.remove_context(CONTEXT)
