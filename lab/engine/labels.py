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
