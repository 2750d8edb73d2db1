"""A running lab's effective configuration, in one place every command reads.

`lab up` writes the configuration a lab starts with as a label of its LAN network. Labels
cannot change, and a running lab's configuration can (heartbeat.reconfigure: an exercise's
solution changes the timers or auto_failback). So a change is written as a new, empty
volume of the lab whose label holds the whole configuration and its generation; the older
one is removed after. Reading is one listing of the engine's volumes, whatever state the
lab's containers are in (stopped, paused, reset by a board), and `lab down` removes the
volumes with the rest of the lab. The newest generation wins; the network's label is
generation 0."""

from __future__ import annotations

import contextlib

import docker

from ..model.config import LabConfig
from .labels import LABEL_CONFIG, LABEL_LAB, lab_filter, lab_labels, listed

LABEL_GENERATION = "io.heartbeat-lab.config-generation"
ROLE = "config"


def _volumes(client: docker.DockerClient, name: str | None) -> list:
    return listed(client.volumes, [*lab_filter(name)["label"], LABEL_GENERATION])


def _generation(volume) -> int:  # noqa: ANN001
    return int(volume.attrs["Labels"][LABEL_GENERATION])


def changed(client: docker.DockerClient, name: str | None = None) -> dict[str, LabConfig]:
    """The configurations changed since `up`, by lab name (the named lab's only, or all)."""
    newest: dict[str, tuple[int, LabConfig]] = {}
    for vol in _volumes(client, name):
        labels = vol.attrs["Labels"]
        gen = _generation(vol)
        if labels[LABEL_LAB] not in newest or gen > newest[labels[LABEL_LAB]][0]:
            newest[labels[LABEL_LAB]] = (gen, LabConfig.from_json(labels[LABEL_CONFIG]))
    return {lab: cfg for lab, (_, cfg) in newest.items()}


def effective(client: docker.DockerClient, started_with: LabConfig) -> LabConfig:
    """The lab's configuration now: its last change, or what it was started with."""
    return changed(client, started_with.name).get(started_with.name, started_with)


def save(client: docker.DockerClient, cfg: LabConfig) -> None:
    """Record `cfg` as the lab's configuration from now on."""
    old = _volumes(client, cfg.name)
    gen = max((_generation(v) for v in old), default=0) + 1
    labels = {**lab_labels(cfg.name, ROLE), LABEL_CONFIG: cfg.to_json(), LABEL_GENERATION: str(gen)}
    client.volumes.create(name=f"{cfg.name}-config-{gen}", labels=labels)
    for vol in old:
        with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
            vol.remove(force=True)
