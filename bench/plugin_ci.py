#!/usr/bin/env python3
"""Two CI jobs of another project on one engine at the same time (`make bench-plugin`).

The example project (examples/status-page), installed from the wheel `make wheel` builds
into a clean virtual environment with pytest and pytest-xdist, run as two `pytest -n 2`
at once, each in a directory of its own, with the plugin's defaults (no --lab-name): two
sessions, four workers, four labs of their own plus one each test of the factory makes.
Both must pass, and the engine must hold afterwards exactly the labs it held before. Each
job's time and the labs seen at once are written to bench/PLUGIN.md and bench/plugin.json.
Kept out of `make test`: five clusters at once on a 2-core machine is a load figure, not a
check of the suite (which runs the example once, on two workers)."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import machine  # noqa: E402
from lab.engine.handle import docker_client  # noqa: E402
from lab.engine.labels import lab_names  # noqa: E402

EXAMPLE = ROOT / "examples" / "status-page"


def say(msg: str) -> None:
    print(msg, flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--jobs", type=int, default=2, help="how many pytest runs at once (default 2)")
    ap.add_argument("--workers", type=int, default=2, help="xdist workers per run (default 2)")
    a = ap.parse_args()
    client = docker_client()
    before = lab_names(client)
    with tempfile.TemporaryDirectory(prefix="heartbeat-lab-plugin-") as tmp:
        work = Path(tmp)
        say("the wheel (make wheel) ...")
        subprocess.run(["make", "-s", "wheel"], cwd=ROOT, check=True, capture_output=True)
        wheel = sorted((ROOT / "dist").glob("heartbeat_lab-*.whl"), key=lambda p: p.stat().st_mtime)[-1]
        env_dir = work / "venv"
        say(f"a clean virtual environment with {wheel.name}, pytest and pytest-xdist ...")
        venv.create(env_dir, with_pip=True)
        subprocess.run([str(env_dir / "bin/python"), "-m", "pip", "install", "-q", str(wheel), "pytest",
                        "pytest-xdist"], check=True)
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTEST_ADDOPTS")}
        runs: list[dict] = []
        seen_at_once = 0
        stop = threading.Event()

        def watch() -> None:
            nonlocal seen_at_once
            while not stop.is_set():
                seen_at_once = max(seen_at_once, len(lab_names(client) - before))
                stop.wait(2)

        procs = []
        t0 = time.monotonic()
        for j in range(a.jobs):
            project = work / f"job{j + 1}"
            shutil.copytree(EXAMPLE, project)
            log = open(work / f"job{j + 1}.log", "w")  # noqa: SIM115
            procs.append((project, log, time.monotonic(), subprocess.Popen(
                [str(env_dir / "bin/pytest"), "-n", str(a.workers)], cwd=project, env=env, stdout=log,
                stderr=subprocess.STDOUT)))
        say(f"{a.jobs} runs of `pytest -n {a.workers}` started at once ...")
        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        for project, log, started, proc in procs:
            code = proc.wait()
            log.close()
            out = (work / f"{project.name}.log").read_text()
            summary = next((ln.strip("= ") for ln in reversed(out.splitlines()) if " passed" in ln or " failed" in ln),
                           "?")
            runs.append({"job": project.name, "exit": code, "seconds": round(time.monotonic() - started, 1),
                         "summary": summary})
            say(f"  {project.name}: exit {code} in {runs[-1]['seconds']} s: {summary}")
            if code != 0:
                say(out[-4000:])
        stop.set()
        watcher.join()
        left = sorted(lab_names(client) - before)
    result = {"date": time.strftime("%Y-%m-%d"), "machine": machine(), "jobs": a.jobs, "workers": a.workers,
              "runs": runs, "labs_at_once": seen_at_once, "left_after": left,
              "wall_s": round(time.monotonic() - t0, 1),
              "passed": all(r["exit"] == 0 for r in runs) and not left}
    m = result["machine"]
    (ROOT / "bench" / "plugin.json").write_text(json.dumps(result, indent=1) + "\n")
    rows = "\n".join(f"| {r['job']} | {r['exit']} | {r['seconds']} s | {r['summary']} |" for r in runs)
    (ROOT / "bench" / "PLUGIN.md").write_text(f"""# The pytest plugin in two CI jobs at once (`make bench-plugin`)

{result['date']}, {m['cpus']} vCPUs {m['cpu']}, {m['memory_gb']} GB, kernel {m['kernel']}, Docker {m['docker']}. The example project from the wheel in a clean virtual
environment, {a.jobs} runs of `pytest -n {a.workers}` started together on one engine, with the
plugin's defaults (each session's lab name random, each worker's lab its own addresses and port).

| run | exit | time | pytest's summary |
|---|---|---|---|
{rows}

Labs of these runs on the engine at once (sampled every 2 s): {seen_at_once}. Left afterwards:
{', '.join(left) or 'none'}. Wall time {result['wall_s']} s. Result: {'passed' if result['passed'] else 'FAILED'}.
""")
    say(f"{'passed' if result['passed'] else 'FAILED'}: bench/PLUGIN.md")
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
