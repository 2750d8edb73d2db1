"""A class: one lab per trainee on an engine, named <prefix>NN and found by the class name
recorded in each lab's configuration label, so that any terminal can act on it. Labs start
with bounded parallelism and addresses picked from the pool; status, reset and down act on
one, several or all of them."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Callable

import docker
import docker.errors
from tqdm import tqdm

from . import inventory, provision
from .engine.handle import LabHandle
from .errors import ConfigError, LabError
from .model.allocate import AUTO_FIELDS
from .model.config import LabConfig

MAX_CLASS = 99
DEFAULT_WORKERS = 4  # labs started at once: on 2 cores more only queue on the engine


def member_names(prefix: str, count: int) -> list[str]:
    if not 1 <= count <= MAX_CLASS:
        raise ConfigError(f"--count {count}: expected 1..{MAX_CLASS}")
    return [f"{prefix}{i:02d}" for i in range(1, count + 1)]


def members(client: docker.DockerClient, klass: str) -> list[LabConfig]:
    return [c for c in inventory.labs(client) if c.classroom == klass]


def _quiet(msg: str) -> None:  # a class's labs start in parallel: their step by step chatter is not shown
    pass


def _bar(total: int, what: str) -> tqdm:
    return tqdm(total=total, desc=what, unit="lab", dynamic_ncols=True)


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
                bar.write(f"{futures[fut]}: {str(exc).splitlines()[0]}")
            bar.update(1)
    return done, failed


def up(client: docker.DockerClient, base: LabConfig, prefix: str, count: int,
       workers: int = DEFAULT_WORKERS) -> tuple[list[LabHandle], list[tuple[object, str]]]:
    """Start the class: `count` labs named <prefix>01.., each a copy of `base` with its own
    addresses from the pool. Names already in use are refused before anything starts."""
    names = member_names(prefix, count)
    taken = {c.name for c in inventory.labs(client)} & set(names)
    if taken:
        raise ConfigError(f"lab name(s) in use: {', '.join(sorted(taken))}; `lab class down --class {prefix}` "
                          "first, or pick another --prefix")
    cfgs = [base.with_(name=n, classroom=prefix).validate() for n in names]
    return _parallel(cfgs, lambda c: provision.up(c, client, _quiet, allocate=frozenset(AUTO_FIELDS)),
                     f"starting class {prefix!r}", workers)


def select(client: docker.DockerClient, klass: str, names: list[str]) -> list[LabConfig]:
    """The class's labs, or the named ones among them; an unknown name is refused."""
    found = members(client, klass)
    if not found:
        raise ConfigError(f"no class {klass!r} on this engine (start one with `lab class up --prefix {klass}`)")
    if not names:
        return found
    by_name = {c.name: c for c in found}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise ConfigError(f"not labs of class {klass!r}: {', '.join(unknown)} (its labs: {', '.join(by_name)})")
    return [by_name[n] for n in names]


def reset(client: docker.DockerClient, cfgs: list[LabConfig], stage: str | None,
          workers: int = DEFAULT_WORKERS) -> tuple[list[LabHandle], list[tuple[object, str]]]:
    return _parallel(cfgs, lambda c: provision.reset(LabHandle(c, client, _quiet), stage), "resetting", workers)


def down(client: docker.DockerClient, cfgs: list[LabConfig]) -> int:
    return sum(provision.remove_lab(client, c.name, None) for c in cfgs)
