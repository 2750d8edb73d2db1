"""The front door's own packages are an extra (`pip install 'heartbeat-lab[class]'`, which
`make` installs): the lab, its faults, its tests' plugin and `lab class up` do without."""

from __future__ import annotations

import importlib.util

from ..errors import ConfigError

PACKAGES = ("aiohttp", "aiohttp_session", "asyncssh", "jinja2", "cryptography")


def need(what: str) -> None:
    missing = [p for p in PACKAGES if importlib.util.find_spec(p) is None]
    if missing:
        raise ConfigError(f"{what} needs the class's front door packages ({', '.join(missing)} missing): "
                          "pip install 'heartbeat-lab[class]' (make venv installs them)")
