"""A handle to one lab: its configuration, its containers, one way to run a command in
them. Everything that acts on a lab (provisioning, heartbeat control, observation, faults)
takes this handle."""

from __future__ import annotations

import os
import sys
from datetime import datetime, timezone
from typing import Callable

os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")  # Ryuk needs a registry; we clean up by label

import docker  # noqa: E402
from docker.context import ContextAPI  # noqa: E402
import docker.errors  # noqa: E402
from docker.models.containers import Container  # noqa: E402

from ..errors import LabError  # noqa: E402
from ..model.config import ALL_HOSTS, LabConfig, check_node  # noqa: E402
from ..model.topology import Topology, topology  # noqa: E402
from ..waiting import wait_until  # noqa: E402
from . import commands  # noqa: E402
from .contexts import ensure_docker_config  # noqa: E402
from .rootless import ROOTLESS, engine_kind  # noqa: E402
from .commands import Result  # noqa: E402
from .labels import LABEL_CONFIG, LABEL_LAB, lab_filter  # noqa: E402

Say = Callable[[str], None]


def say_stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def docker_client(context: str | None = None) -> docker.DockerClient:
    """The engine of DOCKER_HOST (or the default socket); or of the named docker context
    (`docker context create NAME --docker host=ssh://user@host`), for a class spread over
    several engines."""
    where = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    try:
        if context is None:
            client = docker.from_env()
        else:
            ensure_docker_config()
            ctx = ContextAPI.get_context(context)
            if ctx is None:
                raise LabError(f"no docker context {context!r} (see `docker context ls`; create one with "
                               f"`docker context create {context} --docker host=ssh://user@host`)")
            where = ctx.Host
            client = docker.DockerClient(base_url=ctx.Host, use_ssh_client=ctx.Host.startswith("ssh://"))
        client.ping()
        return client
    except LabError:
        raise
    except Exception as exc:  # DockerException, requests errors, FileNotFoundError ...
        raise LabError(
            f"Docker is unreachable: expected a running Docker engine at {where}"
            f"{f' (context {context})' if context else ''}, got: {exc}. "
            "Start the Docker daemon (or set DOCKER_HOST, or fix the context) and try again."
        ) from None


class LabHandle:
    """A lab by its (resolved) configuration; its containers may or may not exist yet."""

    def __init__(self, cfg: LabConfig, client: docker.DockerClient | None = None, say: Say = say_stderr):
        self.cfg = cfg.resolved()
        self.say = say
        self._client = client
        self.topo: Topology = topology(self.cfg)
        # the current fault episode's audit window is open (lab.observe.audit): saves asking the nodes
        self.audit_window_open = False
        self._engine_kind: str | None = None

    @property
    def engine_kind(self) -> str:
        """rootful, rootless or userns-remap (lab.engine.rootless), asked of the engine once."""
        if self._engine_kind is None:
            self._engine_kind = engine_kind(self.client)
        return self._engine_kind

    @property
    def vip_from_host(self) -> bool:
        """Whether this machine reaches the lab's networks (the VIP) directly. Not on a rootless
        engine: its networks live in rootlesskit's namespace; ha3 and its 127.0.0.1
        publication reach the VIP there."""
        return self.engine_kind != ROOTLESS

    @property
    def client(self) -> docker.DockerClient:
        if self._client is None:
            self._client = docker_client()
        return self._client

    @classmethod
    def attach(cls, name: str, client: docker.DockerClient | None = None, say: Say = say_stderr) -> "LabHandle":
        """The running lab called `name`, with the configuration it was started with."""
        client = client or docker_client()
        nets = client.networks.list(filters={"label": [f"{LABEL_LAB}={name}", LABEL_CONFIG]})
        if not nets:
            running = sorted({n.attrs["Labels"].get(LABEL_LAB, "?") for n in client.networks.list(filters=lab_filter())})
            raise LabError(
                f"no lab named {name!r} is running (labs running: {', '.join(running) or 'none'}); "
                "start one with `make lab-up` or `lab up`"
            )
        return cls(LabConfig.from_json(nets[0].attrs["Labels"][LABEL_CONFIG]), client, say)

    def container(self, host: str) -> Container:
        check_node(host, ALL_HOSTS + tuple(c.host for c in self.topo.containers if c.host not in ALL_HOSTS))
        try:
            return self.client.containers.get(self.cfg.container_name(host))
        except docker.errors.NotFound:
            raise LabError(f"container {self.cfg.container_name(host)} ({host}) does not exist; "
                           f"is lab {self.cfg.name!r} up? (`lab status --name {self.cfg.name}`)") from None

    def run(self, host: str, argv: list[str], timeout: float | None = 30, check: bool = False) -> Result:
        return commands.run(self.container(host), argv, timeout=timeout, check=check)

    def sh(self, host: str, script: str, timeout: float | None = 30, check: bool = False) -> Result:
        return commands.sh(self.container(host), script, timeout=timeout, check=check)

    def put_file(self, host: str, path: str, data: bytes, mode: int = 0o644) -> None:
        commands.put_file(self.container(host), path, data, mode)

    def read_file(self, host: str, path: str) -> bytes:
        return commands.read_file(self.container(host), path)

    def container_status(self, host: str) -> str:
        c = self.container(host)
        c.reload()
        return c.status

    def started_at(self, host: str) -> float:
        """When the container last started, in seconds since the epoch (a board's reset or
        a heal's start changes it)."""
        c = self.container(host)
        c.reload()
        stamp = c.attrs["State"]["StartedAt"]  # RFC 3339 with nanoseconds
        head, _, frac = stamp.rstrip("Z").partition(".")
        return datetime.fromisoformat(head).replace(tzinfo=timezone.utc).timestamp() + float(f"0.{frac or 0}")

    def wait_container(self, host: str, status: str, timeout: float = 30) -> None:
        wait_until(f"container {self.cfg.container_name(host)} to be {status}",
                   lambda: ((s := self.container_status(host)) == status, s), timeout=timeout)
