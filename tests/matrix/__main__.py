"""The test matrix: the lab on the hosts its users have, in virtual machines (`make matrix`).

  python -m tests.matrix run [CELL ...]   build what is missing, boot the VM, run the cells, print
                                          the table and write it to docs/MATRIX.md (all cells if none)
  python -m tests.matrix list             the cells
  python -m tests.matrix build            only the VM's disk (cached)
  python -m tests.matrix table            the table again from the last run's results
  python -m tests.matrix clean            remove everything the matrix made (its cache)

Not part of the lab's package: a tool of the project's own, like its tests and benchmarks."""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from . import vm
from .vm import CACHE, PROJECT, MatrixError, say

# each cell: an engine and an NFS client on the stock-kernel VM
CELLS = {
    "docker-kernel": {"engine": "docker", "nfs": "kernel",
                      "about": "Debian's docker.io, the kernel's NFS client (what `auto` picks on a stock kernel)"},
    "rootless-kernel": {"engine": "rootless", "nfs": "kernel",
                        "about": "a rootless Docker engine (`lab engine rootless`) on the same host"},
    "podman-kernel": {"engine": "podman", "nfs": "kernel",
                      "about": "Podman 4.3's Docker-compatible API socket as the engine"},
    "docker-fuse": {"engine": "docker", "nfs": "fuse", "about": "Debian's docker.io, the lab's nfs4fuse client"},
}
RESULTS = CACHE / "last-run"
DOC = PROJECT / "docs" / "MATRIX.md"
# minutes a cell may take under emulation before the whole run is stopped (per cell, plus
# the boot and the images' load)
CELL_BUDGET_MIN = int(os.environ.get("LAB_MATRIX_CELL_MINUTES", "40"))
BOOT_BUDGET_MIN = 25


def lab_images() -> list[str]:
    """The lab's images as the machine's engine holds them (built by `make images`), without the
    helper images only builds need, and the base they were built on."""
    import docker

    from lab.engine.images import NEEDS
    from lab.engine.labels import APP, LABEL_APP
    from lab.model.topology import image_name

    # not the helpers only builds need; the boards' too, although no cell fences: an engine the
    # lab sets up (`lab engine rootless`) wants every lab image, and would build the missing one
    helpers = {image_name(h) for needs in NEEDS.values() for h in needs}
    client = docker.from_env()
    tags = sorted(t for img in client.images.list(filters={"label": f"{LABEL_APP}={APP}"}) for t in img.tags
                  if t not in helpers)
    if not any("node" in t for t in tags):
        raise MatrixError("the lab's images are not built on this machine's engine: run `make images` first")
    return tags


def make_job(cells: list[str], job: Path) -> None:
    if job.exists():
        shutil.rmtree(job)
    (job / "out").mkdir(parents=True)
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=PROJECT, capture_output=True,
                           text=True, check=True).stdout.splitlines()
    for name in files:
        src = PROJECT / name
        if src.is_file():
            dst = job / "project" / name
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
    tags = lab_images()
    say(f"the lab's images for the VM (docker save: {', '.join(tags)}) ...")
    t0 = time.monotonic()
    subprocess.run(["docker", "save", "-o", str(job / "images.tar"), *tags], check=True)
    say(f"  saved in {time.monotonic() - t0:.0f} s ({(job / 'images.tar').stat().st_size / 1e6:.0f} MB)")
    debug = os.environ.get("LAB_MATRIX_DEBUG")  # a script the VM runs after a failed lab up, before lab down
    if debug:
        shutil.copy2(debug, job / "debug.sh")
    (job / "cells.json").write_text(json.dumps([{"name": c, **CELLS[c]} for c in cells], indent=1))
    run = job / "run"
    run.write_text("#!/bin/sh\n# the matrix job: the project's own copy, with the lab's dependencies of the VM's disk\n"
                   "cd /job/project && exec env PYTHONPATH=/job/project /opt/lab-venv/bin/python "
                   "tests/matrix/incell.py\n")
    run.chmod(0o755)


def commit() -> str:
    out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain"], cwd=PROJECT, capture_output=True, text=True).stdout
    return out.stdout.strip() + (" (with uncommitted changes)" if dirty.strip() else "")


def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.1f} s"


def table(run: dict) -> str:
    host = run["results"].get("host", {})
    lines = [f"Run of {run['date']} on commit {run['commit']}, in a VM under {run['accel'].upper()} "
             f"({run['cpus']} vCPUs, {run['memory_mb']} MB) on {run['machine']}; the VM: Debian 12, "
             f"kernel {host.get('kernel', '?')}, cgroup {host.get('cgroup', '?')}, {host.get('docker', '?')}, "
             f"{host.get('podman', '?')}. Timers relaxed for the emulation (the article's own): "
             f"keepalive {run['relaxed']['keepalive']} s, deadtime {run['relaxed']['deadtime']} s, warntime "
             f"{run['relaxed']['warntime']} s, initdead {run['relaxed']['initdead']} s. The images' `docker load` "
             f"took {run['results'].get('images_load_s', '?')} s. The whole run took "
             f"{run['seconds'] / 60:.1f} min.", "",
             "| cell | engine | NFS client | lab up | failover outage (graceful-stop: stop, failback) | pause | "
             "stop-nfs, heal | lab down | cell time | result |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for c in run["results"].get("cells", []):
        gs = _find(c, "graceful-stop")
        outage = ", ".join(_fmt(v) for v in gs["outages_s"].values()) if gs and gs.get("outages_s") else "-"
        failed = [f"{s['step']}: {s['detail']}" for s in c["steps"] if not s["ok"]]
        lines.append(f"| {c['name']} | {c['engine']} | {c['nfs']} | {_cell(c, 'lab up')} | {outage} | {_cell(c, 'pause')} | "
                     f"{_cell(c, 'stop-nfs')} | {_cell(c, 'lab down')} | "
                     f"{c['seconds'] / 60:.1f} min | "
                     + (("passed" + (f" ({c['explained']})" if c.get("explained") else "")) if c["passed"]
                        else "FAILED: " + "; ".join(failed).replace("|", "/")[:600]) + " |")
    for name in run.get("missing", []):
        lines.append(f"| {name} | | | | | | | | | not run: the VM stopped before it |")
    return "\n".join(lines) + "\n"


def _find(c: dict, prefix: str) -> dict | None:
    return next((s for s in c["steps"] if s["step"].startswith(prefix)), None)


def _cell(c: dict, prefix: str) -> str:
    s = _find(c, prefix)
    return "not run" if s is None else ("ok" if s["ok"] else "FAILED") + f" ({s['seconds']:.0f} s)"


def write_doc(run: dict) -> None:
    head = DOC.read_text().split("<!-- results -->")[0] if DOC.exists() else "# The test matrix\n\n"
    DOC.write_text(head + "<!-- results -->\n" + table(run))


def cmd_run(a: argparse.Namespace) -> int:
    cells = a.cells or list(CELLS)
    unknown = [c for c in cells if c not in CELLS]
    if unknown:
        raise MatrixError(f"no cell {', '.join(unknown)}: expected {', '.join(CELLS)}")
    t0 = time.monotonic()
    r = vm.build_root()
    work = CACHE / "work"
    make_job(cells, work / "job")
    from .incell import RELAXED

    code, accel, took = vm.boot(r, work / "job", work, timeout_s=60 * (BOOT_BUDGET_MIN + CELL_BUDGET_MIN * len(cells)))
    if RESULTS.exists():
        shutil.rmtree(RESULTS)
    vm.read_back(work / "job.img", "/out", RESULTS)
    results_file = RESULTS / "out" / "results.json"
    results = json.loads(results_file.read_text()) if results_file.exists() else {}
    done = {c["name"] for c in results.get("cells", [])}
    run = {"date": datetime.date.today().isoformat(), "commit": commit(), "accel": accel, "cpus": vm.CPUS,
           "memory_mb": vm.MEMORY_MB, "machine": machine(), "relaxed": RELAXED, "seconds": time.monotonic() - t0,
           "vm_seconds": took, "results": results, "missing": [c for c in cells if c not in done], "job_exit": code}
    (RESULTS / "run.json").write_text(json.dumps(run, indent=1))
    print(table(run))
    if not a.no_doc:
        write_doc(run)
        say(f"written to {DOC.relative_to(PROJECT)}")
    passed = code == 0 and not run["missing"] and all(c["passed"] for c in results.get("cells", []))
    say("every cell passed" if passed else "NOT every cell passed: see the table (the VM's output is above; its "
        f"results and reports are in {RESULTS})")
    return 0 if passed else 1


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "?")
    return f"{os.cpu_count()} cores ({cpu}), kernel {os.uname().release}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.matrix", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    q = sub.add_parser("run", help="run cells in the VM (all if none named) and write the table")
    q.add_argument("cells", nargs="*", metavar="CELL", help=", ".join(CELLS))
    q.add_argument("--no-doc", action="store_true", help=f"print the table only, do not write {DOC.name}")
    q.set_defaults(func=cmd_run)
    sub.add_parser("list", help="the cells").set_defaults(
        func=lambda a: [print(f"{n:16} {c['about']}") for n, c in CELLS.items()] and 0)
    q = sub.add_parser("build", help="the VM's disk only (cached)")
    q.add_argument("--force", action="store_true", help="make it again even when cached")
    q.set_defaults(func=lambda a: vm.build_root(force=a.force) and 0)
    sub.add_parser("table", help="the table of the last run").set_defaults(
        func=lambda a: print(table(json.loads((RESULTS / "run.json").read_text()))) or 0)
    sub.add_parser("clean", help=f"remove everything the matrix made ({CACHE})").set_defaults(
        func=lambda a: vm.remove_cache() or 0)
    a = p.parse_args(argv)
    try:
        return a.func(a) or 0
    except MatrixError as exc:
        print(f"matrix: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
