"""The heartbeat HA lab: the article "High-availability middleware on Linux, part 1:
heartbeat and Apache" rebuilt as containers running the real software."""

from .config import LabConfig

__all__ = ["LabConfig"]
