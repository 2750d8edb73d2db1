"""The lab: the article's cluster as containers on networks (built on testcontainers over
the docker SDK), brought up in the article's order, observed, and torn down by label."""

from __future__ import annotations

import contextlib
import ipaddress
import os
import socket
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Iterator

os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")  # Ryuk needs a registry; we clean up by label

import docker  # noqa: E402
import docker.errors  # noqa: E402
import requests  # noqa: E402
from docker.models.containers import Container  # noqa: E402
from docker.types import EndpointConfig, IPAMConfig, IPAMPool  # noqa: E402
from testcontainers.core.config import testcontainers_config  # noqa: E402
from testcontainers.core.container import DockerContainer  # noqa: E402
from testcontainers.core.network import Network  # noqa: E402

from . import images  # noqa: E402
from .config import CLIENT, NFS_SERVER, NODES, ConfigError, LabConfig, check_node  # noqa: E402
from .labels import LABEL_LAB, lab_filter, lab_labels  # noqa: E402
from .node import Result, put_file, run, sh  # noqa: E402
from .render import authkeys, ha_cf, render_tree, serving_node  # noqa: E402
from .topology import LAN, SHARE, ContainerSpec, NetworkSpec, topology  # noqa: E402
from .waiting import wait_until  # noqa: E402

testcontainers_config.ryuk_disabled = True

LABEL_CONFIG = "io.heartbeat-lab.config"
SERIAL_TEST_TEXT = "Serial Connection test"
AUTOSTART_MARK = "/var/lib/heartbeat/lab-autostart"  # node-init starts heartbeat at boot if present
# heartbeat's compiled-in wait for the peer's resource message at start-up (seconds): the
# floor of `lab up` once both nodes run heartbeat
RQSTDELAY = 10
STANDBY_WINDOW = 12  # heartbeat cancels an unanswered standby request after 10 s
HEARTBEAT_PROCESS = "^heartbeat: master control"  # pgrep -f pattern of a running heartbeat
Say = Callable[[str], None]


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


class LabError(RuntimeError):
    """Something the lab could not do, said for a human: expected, seen, what to do."""


def docker_client() -> docker.DockerClient:
    try:
        client = docker.from_env()
        client.ping()
        return client
    except Exception as exc:  # DockerException, requests errors, FileNotFoundError ...
        raise LabError(
            f"Docker is unreachable: expected a running Docker engine at "
            f"{os.environ.get('DOCKER_HOST', 'unix:///var/run/docker.sock')}, got: {exc}. "
            "Start the Docker daemon (or set DOCKER_HOST) and try again."
        ) from None


def kernel_has_nfs() -> bool:
    try:
        fs = Path("/proc/filesystems").read_text().split()
    except OSError:
        return False
    return "nfs" in fs or "nfs4" in fs


def resolve_nfs_client(wanted: str) -> str:
    if wanted == "auto":
        return "kernel" if kernel_has_nfs() else "fuse"
    if wanted == "kernel" and not kernel_has_nfs():
        raise ConfigError(
            "nfs client 'kernel': this kernel has no NFS client (no nfs in /proc/filesystems); "
            "use --nfs-client fuse (the lab's userspace client) or auto"
        )
    return wanted


class Lab:
    """A running (or about to run) copy of the article's cluster."""

    def __init__(self, cfg: LabConfig, client: docker.DockerClient | None = None, say: Say = _say):
        self.cfg = cfg
        self.say = say
        self._client = client
        self.topo = topology(cfg, cfg.nfs_client if cfg.nfs_client != "auto" else "fuse")

    # ---- finding a lab --------------------------------------------------------------
    @property
    def client(self) -> docker.DockerClient:
        if self._client is None:
            self._client = docker_client()
        return self._client

    @classmethod
    def attach(cls, name: str, client: docker.DockerClient | None = None, say: Say = _say) -> "Lab":
        """The running lab called `name`, with the configuration it was started with."""
        client = client or docker_client()
        nets = client.networks.list(filters={"label": [f"{LABEL_LAB}={name}", f"{LABEL_CONFIG}"]})
        if not nets:
            running = sorted({n.attrs["Labels"].get(LABEL_LAB, "?") for n in client.networks.list(filters=lab_filter())})
            raise LabError(
                f"no lab named {name!r} is running (labs running: {', '.join(running) or 'none'}); "
                "start one with `make lab-up` or `lab up`"
            )
        cfg = LabConfig.from_json(nets[0].attrs["Labels"][LABEL_CONFIG])
        return cls(cfg, client, say)

    def container(self, host: str) -> Container:
        check_node(host)
        try:
            return self.client.containers.get(self.cfg.container_name(host))
        except docker.errors.NotFound:
            raise LabError(f"container {self.cfg.container_name(host)} ({host}) does not exist") from None

    # ---- running commands -------------------------------------------------------------
    def run(self, host: str, argv: list[str], timeout: float | None = 30, check: bool = False) -> Result:
        return run(self.container(host), argv, timeout=timeout, check=check)

    def sh(self, host: str, script: str, timeout: float | None = 30, check: bool = False) -> Result:
        return sh(self.container(host), script, timeout=timeout, check=check)

    # ---- bringing it up ---------------------------------------------------------------
    def preflight(self) -> None:
        """Every check that can fail before anything is created."""
        self.cfg.validate()
        client = self.client
        name = self.cfg.name
        clash = (
            client.containers.list(all=True, filters={"label": f"{LABEL_LAB}={name}"})
            or client.networks.list(filters={"label": f"{LABEL_LAB}={name}"})
            or client.volumes.list(filters={"label": f"{LABEL_LAB}={name}"})
        )
        taken = [c.name for c in self.topo.containers if _exists(client.containers, c.name)]
        taken += [n.name for n in self.topo.networks if client.networks.list(names=[n.name])]
        if clash or taken:
            raise LabError(
                f"lab name {name!r} is in use ({', '.join(taken) or 'objects labelled with it exist'}); "
                f"run `lab down --name {name}` first, or pick another name with --name"
            )
        ours = [ipaddress.IPv4Network(n.subnet) for n in self.topo.networks]
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
        if self.cfg.local_port:
            with socket.socket() as s:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    s.bind(("127.0.0.1", self.cfg.local_port))
                except OSError:
                    raise LabError(
                        f"127.0.0.1:{self.cfg.local_port} is already in use; pick another with --port (0 = any free port)"
                    ) from None
        if self.cfg.nfs_client == "fuse" and not Path("/dev/fuse").exists():
            raise LabError("nfs client 'fuse' needs /dev/fuse on the docker host, and there is none")

    def up(self, keep_on_failure: bool = False) -> "Lab":
        """Create and start the lab, in the article's order. On any failure or Ctrl-C,
        remove what was made (unless keep_on_failure, for post-mortems) and say which step failed."""
        self.cfg = self.cfg.with_(nfs_client=resolve_nfs_client(self.cfg.nfs_client))
        self.topo = topology(self.cfg, self.cfg.nfs_client)
        self.preflight()
        t0 = time.monotonic()
        step = "start"
        try:
            step = "build the images"
            images.ensure_images(self.client, self.say)
            with tempfile.TemporaryDirectory(prefix=f"heartbeat-lab-{self.cfg.name}-") as tmp:
                rendered = render_tree(self.cfg, self.cfg.nfs_client, Path(tmp))
                step = "create the networks and the shared volume"
                for net in self.topo.networks:
                    self._create_network(net)
                self.client.volumes.create(self.topo.volume_name, labels=lab_labels(self.cfg.name, SHARE))
                step = "start the containers (nfsha, ha1, ha2, ha3)"
                # all at once: they boot independently, and heartbeat only mounts /ha later
                hosts = (NFS_SERVER, *NODES, CLIENT)  # ha3 too: it is the ping node ipfail watches
                with ThreadPoolExecutor(max_workers=len(hosts)) as pool:
                    for done in [pool.submit(self._start, self.topo.container(h), rendered.get(h)) for h in hosts]:
                        done.result()
            step = "wait for nfs-ganesha on nfsha"
            self.wait_nfs()
            step = "wait for the nodes ha1 and ha2 to boot"
            for node in NODES:
                self.wait_node_ready(node)
            step = "test the serial cable (the article's cat/echo test)"
            for sender, receiver in ((NODES[1], NODES[0]), (NODES[0], NODES[1])):
                self.serial_test(sender, receiver)
            self.say("serial cable: ok, both directions")
            step = (f"start heartbeat on the master ({self.cfg.master}), then on the backup "
                    f"({self.cfg.backup}), until the master serves and the backup has joined")
            self._start_heartbeats()
            for node in NODES:  # from now on heartbeat starts at boot, like an enabled service
                self.run(node, ["touch", AUTOSTART_MARK], check=True)
        except BaseException as exc:
            log = self._failure_log(step)
            self.say(f"lab up failed at step: {step}")
            if log:
                self.say(log)
            if keep_on_failure and not isinstance(exc, KeyboardInterrupt):
                self.say(f"keeping the lab for inspection; remove it with `lab down --name {self.cfg.name}`")
            else:
                self.say("removing what was made ...")
                self.down(quiet=True)
            if isinstance(exc, KeyboardInterrupt):
                raise LabError(f"interrupted during step: {step}; everything the lab made was removed") from None
            raise LabError(f"lab up failed at step: {step}: {exc}") from exc
        self.say(f"lab {self.cfg.name!r} up in {time.monotonic() - t0:.1f} s")
        return self

    def _create_network(self, spec: NetworkSpec) -> None:
        ipam = IPAMConfig(pool_configs=[IPAMPool(subnet=spec.subnet, iprange=spec.ip_range, gateway=spec.gateway)])
        labels = lab_labels(self.cfg.name, spec.key)
        if spec.key == LAN:
            labels[LABEL_CONFIG] = self.cfg.to_json()
        net = Network(docker_network_kw={"driver": "bridge", "ipam": ipam, "internal": spec.internal, "labels": labels})
        net.name = spec.name
        net.create()

    def _start(self, spec: ContainerSpec, lab_dir: Path | None) -> Container:
        lan = self.topo.network(LAN).name
        kwargs: dict = dict(
            hostname=spec.host,
            init=True,  # heartbeat's init script hangs on zombies unless PID 1 reaps them
            cap_add=list(spec.cap_add),
            devices=[f"{d}:{d}:rwm" for d in spec.devices],
            labels=lab_labels(self.cfg.name, spec.host),
            network=lan,
            networking_config={lan: EndpointConfig("1.41", ipv4_address=spec.addresses[LAN])},
            extra_hosts=spec.extra_hosts,
            security_opt=list(spec.security_opt),
        )
        c = DockerContainer(spec.image).with_name(spec.name).with_kwargs(**kwargs)
        c.with_envs(**spec.env)
        for port, (host_ip, host_port) in spec.ports.items():
            # testcontainers' with_bind_ports cannot bind to one host address; docker-py can
            c.ports[f"{port}/tcp"] = (host_ip, host_port or None)  # type: ignore[assignment]
        for key, path in spec.volumes.items():
            assert key == SHARE
            c.with_volume_mapping(self.topo.volume_name, path, "rw")
        if lab_dir is not None:
            c.with_copy_into_container(lab_dir, "/")
        c.start()
        container = c.get_wrapped_container()
        for key, ip in spec.addresses.items():
            if key != LAN:
                self.client.networks.get(self.topo.network(key).name).connect(container, ipv4_address=ip)
        return container

    def wait_nfs(self) -> None:
        c = self.container(NFS_SERVER)

        def ready() -> tuple[bool, str]:
            c.reload()
            if c.status != "running":
                return False, f"container {c.status}"
            logs = c.logs().decode(errors="replace")
            return "NFS SERVER INITIALIZED" in logs, logs.strip().splitlines()[-1:] or "no output"

        self.say("waiting for nfs-ganesha on nfsha ...")
        wait_until("nfs-ganesha to initialise on nfsha", ready, timeout=60, interval=0.3)

    def wait_node_ready(self, node: str) -> None:
        """The node booted: its serial port exists and both its addresses are up, the LAN on eth0."""
        script = (f"test -e /run/lab-booted && test -e /dev/ttyS0 "
                  f"&& ip -4 -o addr show dev eth0 | grep -q ' {self.cfg.lan_ip(node)}/' "
                  f"&& ip -4 -o addr show | grep -q ' {self.cfg.serial_ip(node)}/'")
        wait_until(
            f"{node} to boot (init done, /dev/ttyS0, LAN address on eth0, serial network)",
            lambda: (self.sh(node, script, timeout=5).ok, "not yet"),
            timeout=30,
        )

    def wait_container(self, host: str, status: str, timeout: float = 30) -> None:
        c = self.container(host)

        def check() -> tuple[bool, str]:
            c.reload()
            return c.status == status, c.status

        wait_until(f"container {c.name} to be {status}", check, timeout=timeout)

    def _failure_log(self, step: str) -> str:
        """The tail of the log that explains a failed step: heartbeat's for heartbeat's steps,
        else the container logs of the hosts the step names (all of them if it names none)."""
        with contextlib.suppress(Exception):
            if any(word in step for word in ("heartbeat", "serves", "joined")):
                return "\n".join(f"--- {n}: tail of /var/log/ha-log ---\n{self.ha_log(n, lines=15)}" for n in NODES)
            named = [h for h in (NFS_SERVER, *NODES, CLIENT) if h in step] or [NFS_SERVER, *NODES, CLIENT]
            if "serial" in step:
                named = list(NODES)
            out = []
            for host in named:
                with contextlib.suppress(Exception):
                    logs = self.container(host).logs(tail=10).decode(errors="replace")
                    out.append(f"--- {host}: container log ---\n{logs}")
            return "\n".join(out)
        return ""

    # ---- the article's procedures ----------------------------------------------------------
    def serial_test(self, sender: str, receiver: str, timeout: float = 5) -> str:
        """`cat < /dev/ttyS0` on the receiver prints what `echo ... > /dev/ttyS0` sends on the sender.
        heartbeat must not be running on either node (it would read the line itself)."""
        import threading

        got: dict[str, Result] = {}
        ready = f"/tmp/serial-test-reading-{time.monotonic_ns()}"
        reader = threading.Thread(
            target=lambda: got.setdefault(
                "r",
                self.sh(receiver, f"touch {ready}; grep -m1 -F '{SERIAL_TEST_TEXT}' < /dev/ttyS0", timeout=timeout),
            )
        )
        reader.start()
        wait_until(f"the reader on {receiver}", lambda: (self.sh(receiver, f"test -e {ready}").ok, "not started"), 10)
        self.sh(sender, f"echo '{SERIAL_TEST_TEXT}' > /dev/ttyS0", timeout=5, check=True)
        reader.join()
        self.sh(receiver, f"rm -f {ready}")
        res = got["r"]
        if SERIAL_TEST_TEXT not in res.output:
            raise LabError(
                f"serial test {sender} -> {receiver}: expected {receiver} to read {SERIAL_TEST_TEXT!r} from "
                f"/dev/ttyS0, got {res.output.strip()!r} (exit {res.code}). Check `lab logs {receiver}` and the "
                "serial-cable process (ps ax | grep socat)"
            )
        return res.output.strip()

    def start_heartbeat(self, node: str) -> None:
        check_node(node, NODES)
        if self.heartbeat_running(node):
            return
        self.say(f"{node}: /etc/init.d/heartbeat start")
        self.run(node, ["/etc/init.d/heartbeat", "start"], timeout=60, check=True)

    def in_transition(self, node: str) -> bool:
        """heartbeat is acquiring or releasing resources on the node right now: its resource
        scripts run, or it says so itself (`cl_status rscstatus` is "transition")."""
        if self.run(node, ["pgrep", "-f", "[R]esourceManager|[h]b_standby|[h]b_takeover|[r]eq_resource"],
                    timeout=10).ok:
            return True
        if not self.heartbeat_running(node):
            return False
        return self.run(node, ["cl_status", "rscstatus"], timeout=10).output.strip() == "transition"

    def settled(self) -> bool:
        """No running node is in the middle of a resource transition."""
        return not any(self.in_transition(n) for n in NODES if self.node_state(n)["container"] == "running")

    def wait_joined(self, node: str) -> None:
        """`node` is active in its peer's view and heartbeat's start-up round since it last
        started is over (its ha-log says so). Until then a failure of the peer is taken over
        only after heartbeat's compiled-in RQSTDELAY (10 s)."""
        peer = self.cfg.peer(node)

        def joined() -> tuple[bool, str]:
            seen = self.run(peer, ["cl_status", "nodestatus", node], timeout=10).output.strip()
            log = self.ha_log(node)
            since_start = log[log.rfind("Configuration validated. Starting heartbeat"):]
            settled = "Initial resource acquisition complete" in since_start
            return seen == "active" and settled, f"{peer} sees {node} {seen!r}; start-up round done: {settled}"

        wait_until(f"{node} to join the cluster", joined,
                   timeout=self.failover_bound() + self.cfg.times.initdead + RQSTDELAY)

    def heartbeat_running(self, node: str) -> bool:
        return self.run(node, ["pgrep", "-f", HEARTBEAT_PROCESS], timeout=10).ok

    def stop_heartbeat(self, node: str) -> None:
        check_node(node, NODES)
        if not self.heartbeat_running(node):
            return
        self.say(f"{node}: /etc/init.d/heartbeat stop")
        self.run(node, ["/etc/init.d/heartbeat", "stop"], timeout=120, check=True)

    def reconfigure(self, **changes: object) -> None:
        """Change heartbeat's configuration (timing, auto_failback, auth ...) on a running lab:
        render ha.cf and authkeys again, install them on both nodes and restart heartbeat in the
        article's order (backup and master stopped, then master and backup started)."""
        cfg = self.cfg.with_(**changes).validate()
        self.say("reconfigure: " + ", ".join(f"{k}={v}" for k, v in changes.items()))
        for node in (self.cfg.backup, self.cfg.master):
            self.stop_heartbeat(node)
        self.cfg = cfg
        for node in NODES:
            # /lab/etc too: node-init installs from there at every boot
            for folder in ("/etc/ha.d", "/lab/etc"):
                put_file(self.container(node), f"{folder}/ha.cf", ha_cf(cfg).encode(), 0o644)
                put_file(self.container(node), f"{folder}/authkeys", authkeys(cfg).encode(), 0o600)
        self._start_heartbeats()

    def _start_heartbeats(self) -> None:
        """The article's start: heartbeat on the master, then on the backup; done when the
        master serves and the backup has finished its start-up round (RQSTDELAY)."""
        self.start_heartbeat(self.cfg.master)
        self.start_heartbeat(self.cfg.backup)
        self.wait_serving(self.cfg.master, timeout=self.failover_bound() + self.cfg.times.initdead + RQSTDELAY)
        self.wait_joined(self.cfg.backup)

    def failover_bound(self) -> float:
        """How long a takeover may take under this timing: deadtime, plus time to stop and start resources."""
        t = self.cfg.times
        return t.deadtime + t.warntime + 15

    # ---- observing ----------------------------------------------------------------------------
    def fetch(self, path: str = "hostname.html", via: str = "vip", timeout: float = 2.0) -> tuple[int, str]:
        """GET a page of the cluster URL from the host: at the VIP, or at the 127.0.0.1 publication.
        via="ha3" fetches from the client node with curl."""
        if via == "ha3":
            res = self.run(CLIENT, ["curl", "-s", "-m", f"{timeout:g}", "-w", "\n%{http_code}",
                                    f"{self.cfg.url}{path}"], timeout=timeout + 5)
            body, _, code = res.output.rpartition("\n")
            return int(code or 0), body
        base = self.cfg.url if via == "vip" else self.local_url()
        r = requests.get(f"{base}{path}", timeout=timeout)
        return r.status_code, r.text

    def local_url(self) -> str:
        c = self.container(CLIENT)
        c.reload()
        binding = (c.ports.get("80/tcp") or [{}])[0]
        return f"http://127.0.0.1:{binding.get('HostPort', '?')}/"

    def who_serves(self, via: str = "vip") -> str | None:
        """The node named by hostname.html at the cluster URL, or None if nothing answers."""
        try:
            code, body = self.fetch("hostname.html", via=via)
        except requests.RequestException:
            return None
        return serving_node(body) if code == 200 else None

    def wait_serving(self, node: str, timeout: float) -> None:
        self.say(f"waiting for {node} to serve {self.cfg.url} (up to {timeout:.0f} s) ...")

        def check() -> tuple[bool, str]:
            who = self.who_serves()
            return who == node, f"hostname.html names {who}" if who else "no answer at the VIP"

        wait_until(f"{node} to serve the cluster URL", check, timeout=timeout, interval=0.25)

    def node_state(self, node: str) -> dict:
        """What a node holds: heartbeat running, the VIP, the /ha mount, Apache."""
        c = self.container(node)
        c.reload()
        if c.status != "running":
            return {"container": c.status, "heartbeat": False, "vip": False, "mounted": False, "apache": False}
        script = (
            f"pgrep -f '{HEARTBEAT_PROCESS}' >/dev/null && echo heartbeat=1 || echo heartbeat=0; "
            f"ip -4 -o addr show dev eth0 | grep -q ' {self.cfg.vip}/' && echo vip=1 || echo vip=0; "
            "awk '$2==\"/ha\"{m=1} END{print \"mounted=\" (m?1:0)}' /proc/mounts; "
            "pgrep -x apache2 >/dev/null && echo apache=1 || echo apache=0"
        )
        out = self.sh(node, script, timeout=10).output
        state: dict = {"container": "running"}
        for line in out.split():
            key, _, val = line.partition("=")
            state[key] = val == "1"
        return state

    def status(self) -> dict:
        nodes = {n: self.node_state(n) for n in NODES}
        serving = self.who_serves()
        return {
            "name": self.cfg.name,
            "timing": self.cfg.timing,
            "nfs_client": self.cfg.nfs_client,
            "url": self.cfg.url,
            "local_url": self.local_url(),
            "serving": serving,
            "nodes": nodes,
            "problems": self._problems(nodes, serving),
        }

    @staticmethod
    def _problems(nodes: dict, serving: str | None) -> list[str]:
        """Where what heartbeat holds and what a client sees disagree."""
        problems = []
        holders = [n for n, st in nodes.items() if st["vip"]]
        if len(holders) > 1:
            problems.append(f"split brain: {' and '.join(holders)} both hold the VIP")
        for n, st in nodes.items():
            if st["vip"] and st["heartbeat"] and not st["apache"]:
                problems.append(
                    f"{n} holds the VIP but Apache is not running: heartbeat (haresources mode monitors "
                    f"nothing) still counts {n} active while the cluster URL fails"
                )
            if st["vip"] and not st["mounted"]:
                problems.append(f"{n} holds the VIP but /ha is not mounted")
        if not holders:
            problems.append("no node holds the VIP: the cluster URL is down")
        elif serving is None:
            problems.append(f"the cluster URL does not answer although {' and '.join(holders)} holds the VIP")
        return problems

    def restore_owner(self, timeout: float | None = None) -> None:
        """Bring the resources back to the master, everything on it and nothing on the backup.
        heartbeat settles first (a healed split brain restarts both nodes' resources); then
        hb_takeover on the master if the backup holds them, and Apache started again where a
        fault killed it (haresources mode monitors nothing, so heartbeat never will)."""
        from .audit import audit
        from .faults import HB_TAKEOVER

        master, backup = self.cfg.master, self.cfg.backup
        timeout = timeout or 3 * self.failover_bound() + self.cfg.times.initdead
        deadline = time.monotonic() + timeout
        apache_started = False
        last_takeover = -1e9
        while True:
            a = audit(self)
            if a.owner == master and not a.unreachable and self.who_serves() == master and self.settled():
                return
            held = a.owners
            if held["vip"] == [master] and held["mounted"] == [master] and not held["apache"] and not apache_started:
                self.run(master, ["/etc/ha.d/resource.d/apache2", "start"], check=True)
                apache_started = True
            elif (a.owner == backup and self.heartbeat_running(master)
                    and time.monotonic() - last_takeover > STANDBY_WINDOW):
                # heartbeat ignores a standby request while the other side is "in flux" (just
                # booted, or answering another request) and never retries it: ask again once
                # its 10 s standby window has passed
                self.say(f"{master}: hb_takeover (give the resources back to the master)")
                self.run(master, [HB_TAKEOVER], check=True)
                last_takeover = time.monotonic()
            if time.monotonic() > deadline:
                raise LabError(f"could not bring the resources back to {master} within {timeout:.0f} s:\n"
                               f"{a.report()}")
            time.sleep(0.5)

    def ha_log(self, node: str, lines: int | None = None) -> str:
        cmd = ["tail", "-n", str(lines), "/var/log/ha-log"] if lines else ["cat", "/var/log/ha-log"]
        return self.run(node, cmd, timeout=10).output

    # ---- tearing down -----------------------------------------------------------------
    def down(self, quiet: bool = False) -> None:
        remove_lab(self.client, self.cfg.name, None if quiet else self.say)


def remove_lab(client: docker.DockerClient, name: str | None, say: Say | None = _say) -> int:
    """Remove every container, network and volume carrying the lab's labels (all labs if
    name is None). Returns how many objects were removed."""
    flt = lab_filter(name)
    n = 0
    for c in client.containers.list(all=True, filters=flt):
        if say:
            say(f"removing container {c.name}")
        with contextlib.suppress(docker.errors.NotFound):
            c.remove(force=True, v=True)
            n += 1
    for net in client.networks.list(filters=flt):
        if say:
            say(f"removing network {net.name}")
        with contextlib.suppress(docker.errors.NotFound):
            net.remove()
            n += 1
    for vol in client.volumes.list(filters=flt):
        if say:
            say(f"removing volume {vol.name}")
        with contextlib.suppress(docker.errors.NotFound):
            vol.remove(force=True)
            n += 1
    return n


def _exists(collection, name: str) -> bool:  # type: ignore[no-untyped-def]
    try:
        collection.get(name)
        return True
    except docker.errors.NotFound:
        return False


@contextlib.contextmanager
def running_lab(cfg: LabConfig, say: Say = _say) -> Iterator[Lab]:
    """A lab for the length of a with-block; removed afterwards whatever happened."""
    lab = Lab(cfg, say=say)
    try:
        yield lab.up()
    finally:
        lab.down(quiet=True)
