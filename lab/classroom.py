"""A class: one lab per trainee on an engine, named <prefix>NN and found by the class name
recorded in each lab's configuration label, so that any terminal can act on it. Labs start
with bounded parallelism and addresses picked from the pool; status, reset and down act on
one, several or all of them."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Callable

import docker
import docker.errors
from tqdm import tqdm

from . import inventory, provision
from .engine.handle import LabHandle, docker_client
from .engine.rootless import engine_kind, refuse_lab, root_is_host_root
from .errors import ConfigError, LabError
from .model.allocate import AUTO_FIELDS
from .model.config import LabConfig

MAX_CLASS = 99
DEFAULT_WORKERS = 4  # labs started at once: on 2 cores more only queue on the engine


def member_names(prefix: str, count: int) -> list[str]:
    if not 1 <= count <= MAX_CLASS:
        raise ConfigError(f"--count {count}: expected 1..{MAX_CLASS}")
    return [f"{prefix}{i:02d}" for i in range(1, count + 1)]


@dataclass(frozen=True)
class Engine:
    name: str  # the docker context, or "default" (DOCKER_HOST)
    client: docker.DockerClient = field(compare=False)
    daemon: str = ""  # the engine's own ID: two contexts may reach the same engine
    kind: str = ""  # rootful, rootless or userns-remap (lab.engine.rootless)


@dataclass(frozen=True)
class Member:
    engine: Engine
    cfg: LabConfig

    def handle(self, say: Callable[[str], None] = lambda msg: None) -> LabHandle:
        return LabHandle(self.cfg, self.engine.client, say)


def engines(contexts: list[str] | None) -> list[Engine]:
    """The engines a class runs on: the named docker contexts, or the default engine."""
    if not contexts:
        contexts = ["default"]
    if len(set(contexts)) != len(contexts):
        raise ConfigError(f"--engines {','.join(contexts)}: a context is named twice")
    clients = [docker_client(None if c == "default" else c) for c in contexts]
    return [Engine(c, cl, cl.info().get("ID", c), engine_kind(cl)) for c, cl in zip(contexts, clients)]


TRUST_FLAG = "--trust-trainees"


def refuse_unsafe(where: list[Engine], trusted: bool) -> None:
    """A trainee is root in the nodes, which hold CAP_SYS_ADMIN: on an engine whose container
    root is the host's root, that is root on the class's server and every other lab."""
    unsafe = [e for e in where if root_is_host_root(e.kind)]
    if not unsafe or trusted:
        return
    names = ", ".join(f"{e.name} ({e.kind})" for e in unsafe)
    raise ConfigError(
        f"engine {names}: a container's root is the host's root there, and every trainee gets a root shell "
        "in nodes with CAP_SYS_ADMIN, so any trainee could take the server and the other labs. "
        "Expected an engine that maps container root to an unprivileged uid: the class engine (`sudo lab engine "
        "class`, then `lab class up --engines heartbeat-lab-class ...`; docs/teach/classroom.md, 'Who is root where'). Or run the "
        "class where every trainee may be root (a VM made for the class, your own laptop) and say so with "
        f"{TRUST_FLAG}")


def members(where: list[Engine], klass: str) -> list[Member]:
    """The class's labs on the engines. Where two contexts reach one engine, a lab is seen
    through both: it is the member of the engine the class put it on."""
    found: dict[tuple[str, str], Member] = {}
    for e in where:
        for c in inventory.labs(e.client):
            if c.classroom != klass:
                continue
            key = (e.daemon, c.name)
            if key not in found or c.engine == e.name:
                found[key] = Member(e, c)
    return sorted(found.values(), key=lambda m: m.cfg.name)


def _quiet(msg: str) -> None:  # a class's labs start in parallel: their step by step chatter is not shown
    pass


def _bar(total: int, what: str) -> tqdm:
    return tqdm(total=total, desc=what, unit="lab", dynamic_ncols=True)


def _name(item: object) -> str:
    return item.cfg.name if isinstance(item, Member) else str(item)


def _parallel(items: list, work: Callable, what: str, workers: int) -> tuple[list, list[tuple[object, str]]]:
    """Run work(item) for each item, `workers` at a time, with a progress bar; return the
    results and the (item, error) of those that failed."""
    done, failed = [], []
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(items)))) as pool, _bar(len(items), what) as bar:
        futures = {pool.submit(work, item): item for item in items}
        for fut in as_completed(futures):
            try:
                done.append(fut.result())
            except (LabError, docker.errors.DockerException) as exc:
                failed.append((futures[fut], str(exc).splitlines()[0]))
                bar.write(f"{_name(futures[fut])}: " + str(exc).strip().replace("\n", "\n    "))  # all of it
            bar.update(1)
    return done, failed


def up(where: list[Engine], base: LabConfig, prefix: str, count: int,
       workers: int = DEFAULT_WORKERS) -> tuple[list[Member], list[tuple[object, str]]]:
    """Start the class: `count` labs named <prefix>01.., each a copy of `base` with its own
    addresses from its engine's pool, dealt round the engines (each lab wholly on one, so
    its networks stay local). Names already in use are refused before anything starts."""
    names = member_names(prefix, count)
    for e in where:
        refuse_lab(e.kind)
    taken = {c.name for e in where for c in inventory.labs(e.client)} & set(names)
    if taken:
        raise ConfigError(f"lab name(s) in use: {', '.join(sorted(taken))}; `lab class down --class {prefix} --yes` "
                          "first, or pick another --class")
    planned = []
    for i, n in enumerate(names):
        engine = where[i % len(where)]
        planned.append(Member(engine, base.with_(name=n, classroom=prefix, engine=engine.name).validate()))

    def start(m: Member) -> Member:  # the member with the addresses it was given
        return Member(m.engine, provision.up(m.cfg, m.engine.client, _quiet, allocate=frozenset(AUTO_FIELDS)).cfg)

    return _parallel(planned, start, f"starting class {prefix!r}", workers)


def select(where: list[Engine], klass: str, names: list[str]) -> list[Member]:
    """The class's labs, or the named ones among them; an unknown name is refused."""
    found = members(where, klass)
    if not found:
        raise ConfigError(f"no class {klass!r} on this engine (start one with `lab class up --class {klass}`)")
    if not names:
        return found
    by_name = {m.cfg.name: m for m in found}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise ConfigError(f"not labs of class {klass!r}: {', '.join(unknown)} (its labs: {', '.join(by_name)})")
    return [by_name[n] for n in names]


def reset(chosen: list[Member], stage: str | None,
          workers: int = DEFAULT_WORKERS) -> tuple[list[LabHandle], list[tuple[object, str]]]:
    return _parallel(chosen, lambda m: provision.reset(m.handle(), stage), "resetting", workers)


def down(chosen: list[Member]) -> int:
    return sum(provision.remove_lab(m.engine.client, m.cfg.name, None) for m in chosen)


def rows(chosen: list[Member], progress: bool = True) -> list[dict]:
    """inventory rows of the chosen labs, in parallel, each saying its engine."""
    out = inventory.rows_of([m.handle() for m in chosen], progress)
    for m, r in zip(chosen, out):
        r["engine"] = m.engine.name
        r["engine_kind"] = m.engine.kind
    return out
