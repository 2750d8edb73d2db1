"""The lab's agents on ha3 (the probe's client, the writes workload): a Python script of
this package copied into the client container, run there, its JSON lines read as they
come, stopped with SIGTERM (it then reports what was in flight and exits)."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from types import ModuleType
from typing import Callable

from ..engine.handle import LabHandle
from ..model.config import CLIENT
from ..roles.client import stop_agent_argv


class Agent:
    """`with Agent(lab, module, args, on_record):` runs module's script in ha3 for the block;
    on_record gets each JSON object the agent prints (a line cut short when it was stopped
    is dropped)."""

    def __init__(self, lab: LabHandle, module: ModuleType, args: list[str], on_record: Callable[[dict], None],
                 name: str):
        self.lab, self.args, self.on_record, self.name = lab, args, on_record, name
        self.source = Path(module.__file__).read_bytes()
        self.path = f"/usr/local/lib/lab-{name}-agent.py"
        self._thread: threading.Thread | None = None

    def __enter__(self) -> "Agent":
        return self.start()

    def start(self) -> "Agent":
        self.lab.put_file(CLIENT, self.path, self.source, 0o755)
        stream = self.lab.lines(CLIENT, ["python3", "-u", self.path, *self.args])
        self._thread = threading.Thread(target=self._read, args=(stream,), name=f"{self.name}-ha3", daemon=True)
        self._thread.start()
        return self

    def _read(self, stream) -> None:  # noqa: ANN001
        for line in stream:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                self.on_record(record)

    def stop(self, wait: float) -> None:
        self.lab.run(CLIENT, stop_agent_argv(self.path))
        if self._thread:
            self._thread.join(timeout=wait)

    def __exit__(self, *exc: object) -> None:
        self.stop(wait=15)
