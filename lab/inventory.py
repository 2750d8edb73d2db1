"""The labs an engine runs, found by their labels (so any terminal sees them), and a row of
facts per lab for `lab ls` (and the classroom's views): its stage and step progress from
the workshop checks, its URLs, who serves it, its problems."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import docker

from .engine.handle import LabHandle, Say
from .engine import configstore
from .engine.labels import LABEL_CONFIG, lab_filter, listed
from .model.config import LabConfig
from .observe.state import status
from .workshop.course import check_course
from .workshop.steps import STEPS


def labs(client: docker.DockerClient) -> list[LabConfig]:
    """Every lab on the engine, by name, with its configuration now (lab.engine.configstore)."""
    found = {}
    for net in listed(client.networks, [*lab_filter()["label"], LABEL_CONFIG]):
        cfg = LabConfig.from_json(net.attrs["Labels"][LABEL_CONFIG])
        found[cfg.name] = cfg
    found.update((n, cfg) for n, cfg in configstore.changed(client).items() if n in found)
    return [found[n] for n in sorted(found)]


def row(lab: LabHandle, progress: bool = True) -> dict:
    """One lab's facts. A lab being made or removed still gets a row, saying what failed."""
    try:
        st = status(lab)
        out = {"name": lab.cfg.name, "stage": lab.cfg.stage, "timing": lab.cfg.timing, "url": st["url"],
               "local_url": st["local_url"], "serving": st["serving"], "problems": st["problems"],
               "engine_kind": st["engine_kind"]}
    except Exception as exc:  # a lab half made or half removed
        return {"name": lab.cfg.name, "stage": lab.cfg.stage, "timing": lab.cfg.timing, "error": str(exc)}
    if progress:
        results, todo = check_course(lab, patient=False)
        out["steps_done"] = sum(r.ok for r in results)
        out["steps"] = len(STEPS)
        out["next"] = todo.id if todo else None
        out["checks"] = {o.check.name: o.ok for r in results for o in r.outcomes}
    return out


def rows_of(handles: list[LabHandle], progress: bool = True, workers: int = 8) -> list[dict]:
    """row() of each lab, several at a time."""
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(handles)))) as pool:
        return list(pool.map(lambda h: row(h, progress), handles))


def rows(client: docker.DockerClient, say: Say, progress: bool = True) -> list[dict]:
    return rows_of([LabHandle(cfg, client, say) for cfg in labs(client)], progress)
