"""Labels carried by everything the lab creates, so cleanup finds exactly its own."""

from __future__ import annotations

APP = "heartbeat-lab"
LABEL_APP = "io.heartbeat-lab.app"
LABEL_LAB = "io.heartbeat-lab.lab"
LABEL_ROLE = "io.heartbeat-lab.role"
LABEL_CONTEXT = "io.heartbeat-lab.context-hash"
LABEL_CONFIG = "io.heartbeat-lab.config"  # the lab's LabConfig as JSON, on its LAN network


def lab_labels(lab: str, role: str) -> dict[str, str]:
    """Labels for a container, network or volume that belongs to lab `lab`."""
    return {LABEL_APP: APP, LABEL_LAB: lab, LABEL_ROLE: role}


def lab_filter(lab: str | None = None) -> dict[str, list[str]]:
    """A docker `filters=` argument that selects the lab's objects (all labs if lab is None)."""
    wanted = [f"{LABEL_APP}={APP}"]
    if lab is not None:
        wanted.append(f"{LABEL_LAB}={lab}")
    return {"label": wanted}


def _labels_of(obj) -> dict:  # noqa: ANN001  (a container, image, network or volume of the SDK)
    # containers and images have a labels property; networks and volumes their attrs' Labels
    return (obj.labels if hasattr(type(obj), "labels") else obj.attrs.get("Labels")) or {}


def matches(labels: dict, wanted: list[str]) -> bool:
    """Every `key=value` (or bare `key`) of `wanted` is among `labels`."""
    for w in wanted:
        key, eq, value = w.partition("=")
        if key not in labels or (eq and labels[key] != value):
            return False
    return True


def listed(collection, wanted: list[str], **kw) -> list:  # noqa: ANN001
    """collection.list(filters={"label": wanted}) holding only objects with ALL the labels:
    Docker ANDs label filters, Podman 4.3's Docker API ORs them (seen in the test matrix:
    a lab's configuration volumes listed its disk too; `lab down` there would have taken
    every lab's objects), so the engine's answer is checked here."""
    return [o for o in collection.list(filters={"label": wanted}, **kw) if matches(_labels_of(o), wanted)]



def lab_names(client) -> set[str]:  # noqa: ANN001  (a DockerClient)
    """Every lab with a container, network or volume on the engine: one listing call per kind
    (the SDK's containers.list inspects each container, and races labs being removed), each
    answer checked for all the labels (`listed`'s reason)."""
    wanted = lab_filter()["label"]
    api = client.api
    rows = [c.get("Labels") or {} for c in api.containers(all=True, filters={"label": wanted})]
    rows += [n.get("Labels") or {} for n in api.networks(filters={"label": wanted})]
    rows += [v.get("Labels") or {} for v in api.volumes(filters={"label": wanted}).get("Volumes") or []]
    return {r.get(LABEL_LAB) for r in rows if matches(r, wanted)} - {None}
