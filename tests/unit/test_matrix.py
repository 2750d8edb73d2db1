"""The test matrix's own logic (tests/matrix): its table from a run's results, the cache key of
the VM's disk, the cells' names. The VM itself runs in `make matrix` (and CI's one cell)."""

from __future__ import annotations

import pytest

from tests.matrix import __main__ as matrix
from tests.matrix import vm


def _run(cells: list[dict], missing: tuple[str, ...] = ()) -> dict:
    return {"date": "2026-12-05", "commit": "abc1234", "accel": "tcg", "cpus": 2, "memory_mb": 4096,
            "machine": "2 cores", "relaxed": {"keepalive": "1", "deadtime": "20", "warntime": "10", "initdead": "40"},
            "seconds": 1800, "results": {"host": {"kernel": "6.1.0-50-amd64", "cgroup": "v2", "docker": "Docker 20.10",
                                                  "podman": "podman 4.3.1"}, "images_load_s": 90, "cells": cells},
            "missing": list(missing)}


def _step(name: str, ok: bool = True, seconds: float = 10, **extra) -> dict:
    return {"step": name, "ok": ok, "detail": "checks held" if ok else "ha2 serves (seen: nobody)",
            "seconds": seconds, **extra}


def test_a_passing_cell_shows_each_step_and_the_failover_outages():
    cell = {"name": "docker-kernel", "engine": "docker", "nfs": "kernel", "seconds": 900, "passed": True,
            "steps": [_step("lab up", seconds=120),
                      _step("graceful-stop (the article's failover, probed)", outages_s={"stop": 3.25, "start": 1.5}),
                      _step("pause (a hung master)"), _step("stop-nfs, heal, audit"), _step("lab down", seconds=20)]}
    text = matrix.table(_run([cell]))
    row = next(line for line in text.splitlines() if line.startswith("| docker-kernel"))
    cols = [c.strip() for c in row.strip("|").split("|")]
    assert cols[:3] == ["docker-kernel", "docker", "kernel"]
    assert cols[3] == "ok (120 s)"  # lab up, not lab down
    assert cols[4] == "3.2 s, 1.5 s"
    assert cols[7] == "ok (20 s)"
    assert cols[-1] == "passed"
    assert "kernel 6.1.0-50-amd64, cgroup v2" in text and "TCG" in text and "abc1234" in text


def test_a_failed_cell_says_which_step_and_why_and_a_missing_cell_is_named():
    cell = {"name": "podman-kernel", "engine": "podman", "nfs": "kernel", "seconds": 300, "passed": False,
            "steps": [_step("podman's Docker API socket", seconds=30), _step("lab up", ok=False, seconds=200)]}
    text = matrix.table(_run([cell], missing=("docker-fuse",)))
    row = next(line for line in text.splitlines() if line.startswith("| podman-kernel"))
    assert "FAILED (200 s)" in row and "not run" in row
    assert row.rstrip().endswith("FAILED: lab up: ha2 serves (seen: nobody) |")
    assert any(line.startswith("| docker-fuse") and "not run" in line for line in text.splitlines())


def test_the_vm_disk_key_follows_its_inputs(monkeypatch):
    key = vm.root_key()
    assert key == vm.root_key()
    monkeypatch.setattr(vm, "PACKAGES", (*vm.PACKAGES, "strace"))
    assert vm.root_key() != key


def test_an_unknown_cell_is_refused_before_anything_is_made(capsys):
    assert matrix.main(["run", "no-such-cell"]) == 2
    assert "no cell no-such-cell: expected docker-kernel" in capsys.readouterr().err


@pytest.mark.parametrize("cell", sorted(matrix.CELLS))
def test_every_cell_names_a_known_engine_and_nfs_client(cell):
    from lab.model.config import NFS_CLIENTS

    assert matrix.CELLS[cell]["engine"] in ("docker", "rootless", "podman")
    assert matrix.CELLS[cell]["nfs"] in NFS_CLIENTS
