#!/usr/bin/env python3
"""`make lab-up`, cold and warm, with where the time goes (`make bench-lab-up`).

Cold: a fresh clone of this repository (no venv), every lab image removed, `make lab-up` in
the clone, timed to the cluster serving; each line of its output stamped, so the venv, the
base, each image and the lab's own start are read off the same clock. Warm: RUNS `make
lab-up` in this checkout with the images built, each timed, and the lab's own parts
(networks, containers, boot, keys, each of the article's steps) as `lab up` reports them.
Writes bench/lab_up.json and bench/LAB_UP.md."""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import machine  # noqa: E402
from lab.engine import images  # noqa: E402
from lab.engine.handle import docker_client  # noqa: E402
from lab.provision import remove_lab  # noqa: E402

NAME, NET = "hauptime", 102  # 172.29.102.0/24 and 103: beside the suite's and the other benches' labs
GOALS = {"cold_s": 150.0, "warm_s": 12.0}
RQSTDELAY = 10.0  # heartbeat's start-up round, compiled in (hb_resource.c)
LAB_ARGS = (f"--name {NAME} --timing fast --port 0 --subnet 172.29.{NET}.0/24 --vip 172.29.{NET}.200 "
            f"--serial-subnet 172.29.{NET + 1}.0/24")
UP_LINE = re.compile(r"up at stage '\w+' in ([\d.]+) s \((.*)\)")
# milestones of a cold make lab-up, read from its output: (what, pattern of the line that ends it)
MILESTONES = (
    ("venv: python -m venv, pip install -e .", re.compile(r"/lab up ")),
    ("base: debootstrap and import", re.compile(r"^base: debootstrap done|importing as")),
    *((f"image {k}", re.compile(rf"image heartbeat-lab/{k}:latest: (built in|up to date)"))
      for k in ("nfs4fuse", "node-packages", "nfs", "client", "node")),
    ("the lab itself (lab up after the images)", UP_LINE),
)


def say(msg: str) -> None:
    print(msg, flush=True)


def stamped_make(cwd: Path) -> tuple[float, list[tuple[float, str]]]:
    """`make lab-up` in cwd: its wall time and every output line with its time since start."""
    t0 = time.monotonic()
    proc = subprocess.Popen(["make", "lab-up", f"LAB_ARGS={LAB_ARGS}"], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, bufsize=1)
    lines: list[tuple[float, str]] = []
    for line in proc.stdout:
        lines.append((round(time.monotonic() - t0, 1), line.rstrip()))
    if proc.wait() != 0:
        tail = "\n".join(line for _, line in lines[-20:])
        raise SystemExit(f"make lab-up failed (exit {proc.returncode}):\n{tail}")
    return time.monotonic() - t0, lines


def lab_parts(lines: list[tuple[float, str]]) -> dict[str, float]:
    """The lab's own parts as `lab up` printed them: {part: seconds}."""
    for _, line in lines:
        if m := UP_LINE.search(line):
            parts = {}
            for item in m.group(2).split(", "):
                name, _, sec = item.rpartition(" ")
                parts[name] = float(sec)
            return parts
    return {}


def milestones(lines: list[tuple[float, str]]) -> list[dict]:
    found = []
    for what, pattern in MILESTONES:
        at = next((t for t, line in lines if pattern.search(line)), None)
        if at is not None:
            found.append({"what": what, "done_at_s": at})
    return found


def cold() -> dict:
    client = docker_client()
    remove_lab(client, NAME, None)
    say("cold: removing the lab's images, cloning this repository into a temporary folder ...")
    images.remove_images(client, say=lambda m: None)
    tmp = Path(tempfile.mkdtemp(prefix="heartbeat-lab-cold-"))
    try:
        subprocess.run(["git", "clone", "-q", str(ROOT), str(tmp / "clone")], check=True)
        say("cold: make lab-up in the fresh clone ...")
        seconds, lines = stamped_make(tmp / "clone")
        return {"seconds": round(seconds, 1), "milestones": milestones(lines), "lab_parts": lab_parts(lines)}
    finally:
        remove_lab(client, NAME, None)
        shutil.rmtree(tmp, ignore_errors=True)


def warm(runs: int) -> dict:
    client = docker_client()
    images.ensure_images(client, say=lambda m: None)
    times, parts = [], []
    for i in range(runs):
        remove_lab(client, NAME, None)
        seconds, lines = stamped_make(ROOT)
        times.append(round(seconds, 1))
        parts.append(lab_parts(lines))
        say(f"warm run {i + 1}/{runs}: {seconds:.1f} s")
    remove_lab(client, NAME, None)
    names = list(parts[0])
    median_parts = {n: round(statistics.median(p.get(n, 0.0) for p in parts), 2) for n in names}
    return {"seconds": round(statistics.median(times), 1), "runs": times, "lab_parts": median_parts}


def write_markdown(res: dict, path: Path) -> None:
    m = res["machine"]
    out = ["# `make lab-up`: cold and warm", "",
           f"Run {res['date']} on {m['cpus']} CPUs ({m['cpu']}), {m['memory_gb']} GB, kernel {m['kernel']}, "
           f"Docker {m['docker']}. Timing `fast`. `make bench-lab-up` (bench/lab_up.py).", "",
           "| measure | seconds | goal | |", "| --- | --- | --- | --- |"]
    for key, label in (("cold", "cold: fresh clone, no venv, no lab image"), ("warm", "warm: images built (median)")):
        if key in res:
            v, goal = res[key]["seconds"], GOALS[f"{key}_s"]
            out.append(f"| {label} | {v} | <= {goal:g} | {'met' if v <= goal else 'MISSED'} |")
    if "cold" in res:
        out += ["", "Cold, where the time goes (each milestone's time since `make lab-up` began; the "
                "images build side by side after the base):", "", "| done at (s) | milestone |", "| --- | --- |"]
        out += [f"| {x['done_at_s']} | {x['what']} |" for x in res["cold"]["milestones"]]
    if "warm" in res:
        w = res["warm"]
        out += ["", f"Warm runs (s): {', '.join(str(x) for x in w['runs'])}.", "",
                "Warm, the lab's own parts as `lab up` reports them (median seconds); the rest of the "
                "wall time is the Python start, the images' check and the allocation:", "",
                "| part | s |", "| --- | --- |"]
        out += [f"| {k} | {v} |" for k, v in w["lab_parts"].items()]
        start = next((v for k, v in w["lab_parts"].items() if "start-cluster" in k), 0.0)
        machines = sum(v for k, v in w["lab_parts"].items() if "start-cluster" not in k)
        out += ["", f"What limits the warm figure: starting the cluster takes {start:g} s, of which "
                f"{RQSTDELAY:g} s are heartbeat's start-up round (RQSTDELAY, compiled into heartbeat 3.0.6, "
                "hb_resource.c: a starting node takes resources only once its peer says it is stable or "
                "RQSTDELAY has passed) and about a second until a started heartbeat is active and the resources "
                f"have started; the machines' own parts take {machines:.1f} s (containers, boot, the serial "
                f"test, the article's file steps); the rest of the {w['seconds']} s is make, Python's start, the "
                f"images' check and the allocation. Without a heartbeat built with another RQSTDELAY, the "
                f"floor is about {RQSTDELAY + 1 + machines:.0f} s."]
    path.write_text("\n".join(out) + "\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5, help="warm runs (default 5)")
    ap.add_argument("--no-cold", action="store_true", help="only the warm runs (keeps the last cold figures)")
    ap.add_argument("--render", action="store_true", help="only write LAB_UP.md again from lab_up.json")
    a = ap.parse_args()
    out = ROOT / "bench" / "lab_up.json"
    if a.render:
        write_markdown(json.loads(out.read_text()), ROOT / "bench" / "LAB_UP.md")
        return 0
    res = json.loads(out.read_text()) if a.no_cold and out.exists() else {}
    res.update(date=time.strftime("%Y-%m-%d %H:%M"), machine=machine())
    if not a.no_cold:
        res["cold"] = cold()
        say(f"cold: {res['cold']['seconds']} s")
    res["warm"] = warm(a.runs)
    out.write_text(json.dumps(res, indent=1) + "\n")
    write_markdown(res, ROOT / "bench" / "LAB_UP.md")
    say((ROOT / "bench" / "LAB_UP.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
