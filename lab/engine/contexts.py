"""Docker contexts as the docker CLI and the SDK both see them."""

from __future__ import annotations

import os
from pathlib import Path

from docker.utils.config import find_config_file


def ensure_docker_config() -> None:
    """Without a docker config file the SDK keeps contexts under ./contexts of the working
    directory, where the docker CLI never looks (and it does not find the CLI's): give both
    the CLI's ~/.docker/config.json (or $DOCKER_CONFIG's)."""
    if find_config_file() is None:
        config = Path(os.environ.get("DOCKER_CONFIG") or Path.home() / ".docker") / "config.json"
        config.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        config.write_text("{}\n")
