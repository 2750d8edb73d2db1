"""A lab's machines, made and taken down: every check that can fail before anything is
created, then networks, volume and containers (testcontainers over the docker SDK), booted
and cabled, ha3's keys to the nodes; then whatever steps the caller gives, in order (the
workshop's: the serial-cable test and the article's steps before the lab's stage, see
lab.provision). On any failure or Ctrl-C, what was made is removed."""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import socket
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

import docker
import docker.errors
from docker.models.containers import Container
from docker.types import EndpointConfig, IPAMConfig, IPAMPool
from testcontainers.core.config import testcontainers_config
from testcontainers.core.container import DockerContainer
from testcontainers.core.network import Network

from . import exerciser
from .roles import board
from .roles.node import Node
from .engine import images, rootless
from .engine.handle import LabHandle, Say, docker_client, say_stderr, socket_path, testcontainers_kw
from .engine.labels import LABEL_CONFIG, LABEL_LAB, LABEL_ROLE, lab_filter, lab_labels, listed
from .errors import LabError
from .model import custom
from .model.allocate import AUTO_FIELDS, Pool, allocate
from .model.config import CLIENT, NFS_SERVER, NODES, LabConfig
from .model.contract import HA_LOG
from .model.render import render_tree
from .model.topology import LAN, ContainerSpec, NetworkSpec, images_for
from .observe.state import wait_nfs, wait_node_ready

testcontainers_config.ryuk_disabled = True
HOSTS = (NFS_SERVER, *NODES, CLIENT)


def preflight(lab: LabHandle) -> None:
    """Every check that can fail before anything is created."""
    client, name = lab.client, lab.cfg.name
    clash = (
        listed(client.containers, [f"{LABEL_LAB}={name}"], all=True)
        or listed(client.networks, [f"{LABEL_LAB}={name}"])
        or listed(client.volumes, [f"{LABEL_LAB}={name}"])
    )
    taken = [c.name for c in lab.topo.containers if _exists(client.containers, c.name)]
    taken += [n.name for n in lab.topo.networks if client.networks.list(names=[n.name])]
    if clash or taken:
        raise LabError(
            f"lab name {name!r} is in use ({', '.join(taken) or 'objects labelled with it exist'}); "
            f"run `lab down --name {name}` first, or pick another name with --name"
        )
    ours = [ipaddress.IPv4Network(n.subnet) for n in lab.topo.networks]
    for net in client.networks.list():
        for pool in (net.attrs.get("IPAM") or {}).get("Config") or []:
            subnet = pool.get("Subnet")
            if not subnet or ":" in subnet:
                continue
            for mine in ours:
                if mine.overlaps(ipaddress.IPv4Network(subnet)):
                    raise LabError(
                        f"subnet {mine} overlaps docker network {net.name!r} ({subnet}); "
                        "choose other subnets (--subnet, --serial-subnet) or remove that network"
                    )
    if lab.cfg.local_port:
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", lab.cfg.local_port))
            except OSError:
                raise LabError(
                    f"127.0.0.1:{lab.cfg.local_port} is already in use; pick another with --port (0 = any free port)"
                ) from None
    if lab.cfg.nfs_client == "fuse" and not Path("/dev/fuse").exists():
        raise LabError("nfs client 'fuse' needs /dev/fuse on the docker host, and there is none")


# The caller's part: files added to what is rendered for each host before the containers
# start ({host: folder}), and the steps run once the machines are up, each (what it is, action).
AddFiles = Callable[[LabConfig, dict[str, Path]], None]
Steps = Callable[[LabHandle], list[tuple[str, Callable[[LabHandle], None]]]]


class Phases:
    """How long each part of bringing a lab up took, in order: `done` is [(part, seconds)]
    (`lab up` prints it; the benchmark reports it)."""

    def __init__(self) -> None:
        self.done: list[tuple[str, float]] = []
        self._part: str | None = None
        self._t = time.monotonic()

    def begin(self, part: str | None) -> None:
        now = time.monotonic()
        if self._part is not None:
            self.done.append((self._part, round(now - self._t, 2)))
        self._part, self._t = part, now


def create(cfg: LabConfig, client: docker.DockerClient | None = None, say: Say = say_stderr,
           keep_on_failure: bool = False, allocate: frozenset[str] = frozenset(),
           add_files: AddFiles | None = None, then: Steps | None = None) -> LabHandle:
    """Create and start the lab's machines, then run the steps `then` gives; return its
    handle. The addresses named in `allocate` (lan_subnet, vip, serial_subnet, local_port)
    are picked from the pool, under a lock held until the lab's networks exist, so that labs
    started together never collide. On any failure or Ctrl-C, remove what was made (unless
    keep_on_failure, for post-mortems) and say which step failed."""
    client = client or docker_client()
    phases = Phases()
    rootless.refuse_lab(rootless.engine_kind(client))
    # before the lock (the first build takes minutes); only the images this lab runs
    phases.begin("images")
    images.ensure_images(client, say, kinds=images_for(cfg))
    phases.begin("checks")
    lock = allocation_lock()
    try:
        if allocate or cfg.site_vip:
            cfg = allocated(client, cfg, allocate)
        lab = LabHandle(cfg, client, say)
        lab.phases = phases.done
        preflight(lab)
    except BaseException:
        lock.release()
        raise
    t0 = time.monotonic()
    step = "start"
    try:
        with tempfile.TemporaryDirectory(prefix=f"heartbeat-lab-{lab.cfg.name}-") as tmp:
            step = f"read heartbeat's files from {lab.cfg.source}" if lab.cfg.source else step
            # `lab up --from DIR`: read again against the final addresses (and by `lab reset`)
            own = custom.load(lab.cfg.source, lab.cfg, place=False) if lab.cfg.source else None
            rendered = render_tree(lab.cfg, Path(tmp), own)
            if add_files:
                add_files(lab.cfg, rendered)
            step = "create the networks and the shared volume"
            phases.begin("networks")
            for net in lab.topo.networks:
                _create_network(lab, net)
            lock.release()  # the networks (and the port, in their labels) are now visible to others
            for key, volume in lab.topo.volumes.items():
                _create_volume(lab, key, volume)
            step = f"start the containers ({', '.join(c.host for c in lab.topo.containers)})"
            # all at once: they boot independently, and heartbeat only mounts /ha later;
            # ha3 too: it is the ping node ipfail watches. One that lives in another's
            # network namespace (ganesha's own, on a user-namespaced engine) starts after it.
            phases.begin("containers")
            first = [c for c in lab.topo.containers if not c.net_of]
            with ThreadPoolExecutor(max_workers=len(first)) as pool:
                for done in [pool.submit(_start, lab, c, rendered.get(c.host)) for c in first]:
                    done.result()
            for c in lab.topo.containers:
                if c.net_of:
                    _start(lab, c, rendered.get(c.net_of))
        step = "wait for nfs-ganesha on nfsha, the nodes ha1 and ha2 to boot" + (
            " and their boards to answer" if lab.cfg.has_boards else "")
        phases.begin("boot")
        with ThreadPoolExecutor(max_workers=5) as pool:
            for done in [pool.submit(wait_nfs, lab), *(pool.submit(wait_node_ready, lab, n) for n in NODES),
                         *(pool.submit(board.wait_answering, lab, n) for n in NODES if lab.cfg.has_boards)]:
                done.result()
        # ha3's keys go in while the caller's steps run (heartbeat's start-up round is 10 s
        # of waiting): nothing before the lab is up uses them
        with ThreadPoolExecutor(max_workers=1) as keys_pool:
            keys = keys_pool.submit(exerciser.install_keys, lab)
            for what, action in then(lab) if then else ():
                step = what  # named in the failure, if it fails
                phases.begin(what)
                action(lab)
            step = "give ha3 root ssh to the nodes with a key made for this lab (the CTS exerciser)"
            phases.begin("keys (the rest)")
            keys.result()
        phases.begin(None)
    except BaseException as exc:
        lock.release()
        log = _failure_log(lab, step)
        say(f"lab up failed at step: {step}")
        if log:
            say(log)
        if keep_on_failure and not isinstance(exc, KeyboardInterrupt):
            say(f"keeping the lab for inspection; remove it with `lab down --name {lab.cfg.name}`")
        else:
            say("removing what was made ...")
            remove_lab(lab.client, lab.cfg.name, None)
        if isinstance(exc, KeyboardInterrupt):
            raise LabError(f"interrupted during step: {step}; everything the lab made was removed") from None
        raise LabError(f"lab up failed at step: {step}: {exc}") from exc
    say(f"lab {lab.cfg.name!r} up at stage {lab.cfg.stage!r} in {time.monotonic() - t0:.1f} s ("
        + ", ".join(f"{part.split(':')[0]} {sec:.1f}" for part, sec in phases.done if part not in ("images", "checks"))
        + ")")
    return lab


class allocation_lock:
    """An exclusive lock (flock) on a file in the temporary directory, held from picking a
    lab's addresses until its networks exist. Released once; releasing again is a no-op."""

    def __init__(self) -> None:
        self._file = open(Path(tempfile.gettempdir()) / "heartbeat-lab-allocate.lock", "a")  # noqa: SIM115
        fcntl.flock(self._file, fcntl.LOCK_EX)

    def release(self) -> None:
        if not self._file.closed:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()


def in_use(client: docker.DockerClient) -> tuple[list[ipaddress.IPv4Network], set[int]]:
    """Every IPv4 subnet of every docker network, and the 127.0.0.1 ports labs record."""
    subnets, ports = [], set()
    for net in client.networks.list():
        for pool in (net.attrs.get("IPAM") or {}).get("Config") or []:
            if pool.get("Subnet") and ":" not in pool["Subnet"]:
                subnets.append(ipaddress.IPv4Network(pool["Subnet"]))
        config = (net.attrs.get("Labels") or {}).get(LABEL_CONFIG)
        if config:
            ports.add(LabConfig.from_json(config).local_port)
    if socket_path(client):
        subnets += host_subnets()  # an engine of this machine: the other engines' bridges share its routes
    return subnets, ports


def host_subnets() -> list[ipaddress.IPv4Network]:
    """The IPv4 subnets of this machine's interfaces (every engine's bridges among them: the
    machine's engine and the class engine beside it must not pick the same subnets)."""
    res = subprocess.run(["ip", "-4", "-o", "addr", "show"], capture_output=True, text=True)
    return [ipaddress.IPv4Interface(f.split()[3]).network for f in res.stdout.splitlines()
            if len(f.split()) > 3 and f.split()[2] == "inet"]


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def allocated(client: docker.DockerClient, cfg: LabConfig, fields: frozenset[str]) -> LabConfig:
    """cfg with the named addresses picked from the pool (LAB_SUBNET_POOL, LAB_PORT_POOL)."""
    subnets, ports = in_use(client)
    fixed = {f: getattr(cfg, f) for f in AUTO_FIELDS}
    wanted = set(fields) - (set() if cfg.has_boards else {"mgmt_subnet"})  # no boards, no management network
    if cfg.site_vip and cfg.vip == cfg.site_vip:
        # the files' address, if its LAN (or the serial network beside it) is free; else, decided
        # under the lock so that labs of one DIR started together never pick the same, a LAN
        # of the pool, the address moved to it (custom.load relocates haresources' line)
        mine = [ipaddress.IPv4Network(cfg.lan_subnet), ipaddress.IPv4Network(cfg.serial_subnet)]
        if any(m.overlaps(t) for m in mine for t in subnets):
            wanted |= {"lan_subnet", "vip", "serial_subnet"}
    return cfg.with_(**allocate(wanted, fixed, subnets, ports, Pool.from_env(), _port_free)).validate()


def _create_network(lab: LabHandle, spec: NetworkSpec) -> None:
    ipam = IPAMConfig(pool_configs=[IPAMPool(subnet=spec.subnet, iprange=spec.ip_range, gateway=spec.gateway)])
    labels = lab_labels(lab.cfg.name, spec.key)
    if spec.key == LAN:
        labels[LABEL_CONFIG] = lab.cfg.to_json()
    kw = {"driver": "bridge", "ipam": ipam, "internal": spec.internal, "labels": labels}
    if spec.bridge:
        kw["options"] = {"com.docker.network.bridge.name": spec.bridge}
    net = Network(docker_client_kw=testcontainers_kw(lab.client), docker_network_kw=kw)
    net.name = spec.name
    net.create()


def _create_volume(lab: LabHandle, key: str, name: str) -> None:
    """A lab volume; on a user-namespaced engine a tmpfs owned by the containers' root, so
    that the NFS server, in the host's user namespace, holds no handle to the host's disks."""
    opts = None
    if lab.topo.share_owner is not None:
        uid, gid = lab.topo.share_owner
        opts = {"type": "tmpfs", "device": "tmpfs", "o": f"size={SHARE_TMPFS_SIZE},mode=0755,uid={uid},gid={gid}"}
    lab.client.volumes.create(name, driver="local", driver_opts=opts, labels=lab_labels(lab.cfg.name, key))


SHARE_TMPFS_SIZE = "256m"  # /ha holds the pages and the clients' writes: kilobytes


def _start(lab: LabHandle, spec: ContainerSpec, lab_dir: Path | None) -> Container:
    kwargs: dict = dict(
        init=True,  # heartbeat's init script hangs on zombies unless PID 1 reaps them
        cap_add=list(spec.cap_add),
        cap_drop=list(spec.cap_drop),
        devices=[f"{d}:{d}:rwm" for d in spec.devices],
        labels=lab_labels(lab.cfg.name, spec.host),
        security_opt=list(spec.security_opt),
        sysctls=dict(spec.sysctls),
    )
    if spec.net_of:  # in another container's network namespace: its name, addresses and hosts
        kwargs["network_mode"] = f"container:{lab.cfg.container_name(spec.net_of)}"
    else:
        first = next(iter(spec.addresses))  # eth0: the LAN, or the management network of a board
        lan = lab.topo.network(first).name
        kwargs.update(hostname=spec.uname, network=lan, extra_hosts=spec.extra_hosts,
                      networking_config={lan: EndpointConfig("1.41", ipv4_address=spec.addresses[first])})
    if spec.host_userns:
        kwargs["userns_mode"] = "host"
    if spec.entrypoint:
        kwargs["entrypoint"] = list(spec.entrypoint)
    c = DockerContainer(spec.image, docker_client_kw=testcontainers_kw(lab.client)).with_name(spec.name)
    c.with_kwargs(**kwargs)
    c.with_envs(**spec.env)
    for port, (host_ip, host_port) in spec.ports.items():
        # testcontainers' with_bind_ports cannot bind to one host address; docker-py can
        c.ports[f"{port}/tcp"] = (host_ip, host_port or None)  # type: ignore[assignment]
    for key, path in spec.volumes.items():
        c.with_volume_mapping(lab.topo.volumes[key], path, "rw")
    for host_path, path in spec.binds.items():
        c.with_volume_mapping(host_path, path, "rw")
    if lab_dir is not None:
        c.with_copy_into_container(lab_dir, str(Path(spec.lab_dir).parent))
    c.start()
    container = c.get_wrapped_container()
    for key, ip in list(spec.addresses.items())[1:]:  # eth0's network was given at creation
        lab.client.networks.get(lab.topo.network(key).name).connect(container, ipv4_address=ip)
    return container


def _failure_log(lab: LabHandle, step: str) -> str:
    """The tail of the log that explains a failed step: heartbeat's for heartbeat's steps,
    else the container logs of the hosts the step names (all of them if it names none)."""
    with contextlib.suppress(Exception):
        if any(word in step for word in ("heartbeat", "serves", "joined")):
            return "\n".join(f"--- {n}: tail of {HA_LOG} ---\n{Node(lab, n).ha_log(15)}" for n in NODES)
        named = list(NODES) if "serial" in step else [h for h in HOSTS if h in step] or list(HOSTS)
        out = []
        for host in named:
            with contextlib.suppress(Exception):
                logs = lab.container(host).logs(tail=10).decode(errors="replace")
                out.append(f"--- {host}: container log ---\n{logs}")
        return "\n".join(out)
    return ""


def remove_lab(client: docker.DockerClient, name: str | None, say: Say | None = say_stderr) -> int:
    """Remove every container, network and volume carrying the lab's labels (all labs if
    name is None). Returns how many objects were removed."""
    wanted = lab_filter(name)["label"]
    n = 0
    for kind, objects, remove in (
        ("container", removal_order(listed(client.containers, wanted, all=True)), _remove_container),
        ("network", listed(client.networks, wanted), lambda o: o.remove()),
        ("volume", listed(client.volumes, wanted), lambda o: o.remove(force=True)),
    ):
        for obj in objects:
            if say:
                say(f"removing {kind} {obj.name}")
            with contextlib.suppress(docker.errors.NotFound):
                remove(obj)
                n += 1
    return n


def removal_order(containers: list) -> list:
    """Boards first (a board's self-test child would start its node again), the NFS server
    last: with the kernel NFS client a node's `hard` mount outlives a removed server, and its
    processes then die too slowly for the engine (seen in the test matrix: Docker gave up on
    ha1, "tried to kill container, but did not receive an exit event")."""
    def rank(c) -> int:  # noqa: ANN001
        role = (c.labels or {}).get(LABEL_ROLE, "")
        return 0 if role.startswith("bmc-") else 2 if role == NFS_SERVER else 1
    return sorted(containers, key=rank)


def _remove_container(container: Container, wait: float = 60.0) -> None:
    """Remove a container by force; when the engine gives up waiting for its exit (Docker
    waits 2 s after SIGKILL, too short for a slow kernel tearing down mounts), wait for the
    exit and remove it again."""
    try:
        container.remove(force=True, v=True)
    except docker.errors.APIError as e:
        if "did not receive an exit event" not in str(e):
            raise
        with contextlib.suppress(Exception):
            container.wait(timeout=wait)
        container.remove(force=True, v=True)


def _exists(collection, name: str) -> bool:  # type: ignore[no-untyped-def]
    try:
        collection.get(name)
        return True
    except docker.errors.NotFound:
        return False
