"""Several labs on one engine without hand-picked addresses: `lab up --name` picks free
subnets, VIP and port under a lock, so two started at the same moment never collide, and
`lab ls` lists every lab with its stage, progress and URLs."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from docker.context import ContextAPI
from werkzeug.serving import make_server

from conftest import TEST_LAB
from lab import classroom, dashboard
from lab.engine.contexts import ensure_docker_config
from lab.engine.handle import LabHandle
from lab.provision import remove_lab

PAIR = (f"{TEST_LAB}-a", f"{TEST_LAB}-b")


@contextlib.contextmanager
def serving(app):  # noqa: ANN001, ANN201
    """The Flask app on 127.0.0.1, a free port, in a thread; stopped afterwards."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()


def browser_dom(url: str) -> str:
    """The page as Debian's chromium renders it, headless (make test installs it)."""
    chromium = shutil.which("chromium")
    assert chromium, "chromium is missing: `make browser` installs it"
    res = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                          "--dump-dom", url], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    return res.stdout


def lab_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lab", *args], capture_output=True, text=True, timeout=300)


def test_two_labs_started_at_the_same_moment_get_their_own_addresses_and_lab_ls_lists_them(docker, lab):  # noqa: ANN001
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            done = list(pool.map(lambda n: lab_cli("up", "--name", n, "--stage", "serial", "--timing", "fast"), PAIR))
        for name, res in zip(PAIR, done):
            assert res.returncode == 0, f"{name}: {res.stderr[-2000:]}"
        cfgs = [LabHandle.attach(n, docker).cfg for n in PAIR]
        nets = [ipaddress.IPv4Network(s) for c in (*cfgs, lab.cfg) for s in (c.lan_subnet, c.serial_subnet)]
        assert all(not a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1:]), nets
        assert len({c.local_port for c in (*cfgs, lab.cfg)}) == 3
        assert all(ipaddress.IPv4Address(c.vip) in c.lan for c in cfgs)

        res = lab_cli("ls", "--json")
        assert res.returncode == 0, res.stderr
        rows = {r["name"]: r for r in json.loads(res.stdout)}
        for cfg in cfgs:
            r = rows[cfg.name]
            assert r["stage"] == "serial" and r["steps_done"] == 1 and r["next"] == "nfs-export", r
            assert r["url"] == f"http://{cfg.vip}/" and r["local_url"] == f"http://127.0.0.1:{cfg.local_port}/"
            assert r["serving"] is None and r["problems"] == []
            assert r["engine_kind"] == "rootful"  # this machine's engine: container root is host root
        assert rows[lab.cfg.name]["serving"] == lab.cfg.master and rows[lab.cfg.name]["next"] == "failover-test"
        table = lab_cli("ls", "--no-progress").stdout
        assert all(n in table for n in PAIR)
        assert all("rootful" in line for line in table.splitlines()[1:] if line.split()[0] in PAIR), table
    finally:
        for name in PAIR:
            remove_lab(docker, name, None)


CLASS = f"{TEST_LAB}-c"  # its labs: hatest-c01, hatest-c02
ENGINES = (f"{TEST_LAB}-e1", f"{TEST_LAB}-e2")  # two docker contexts, both reaching this machine's engine


@pytest.fixture
def contexts():  # noqa: ANN201
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    ensure_docker_config()  # where `lab class` (another process) looks them up
    for name in ENGINES:
        with contextlib.suppress(Exception):
            ContextAPI.remove_context(name)
        ContextAPI.create_context(name, host=host)
    yield ",".join(ENGINES)
    for name in ENGINES:
        with contextlib.suppress(Exception):
            ContextAPI.remove_context(name)


def test_a_class_over_two_engines_is_listed_with_its_progress_resets_and_goes_down_leaving_nothing(
        docker, lab, contexts):  # noqa: ANN001
    try:
        # this machine's engine is rootful: container root is the host's root, so a class (every
        # trainee root in nodes with CAP_SYS_ADMIN) is refused before anything is made ...
        res = lab_cli("class", "up", "--count", "2", "--prefix", CLASS, "--stage", "serial", "--engines", contexts)
        assert res.returncode == 2, (res.stdout, res.stderr)
        assert "host's root" in res.stderr and "lab engine rootless" in res.stderr and "--trust-trainees" in res.stderr
        assert docker.networks.list(filters={"label": f"io.heartbeat-lab.lab={CLASS}01"}) == []
        # ... unless the instructor says every trainee may be root here
        res = lab_cli("class", "up", "--count", "2", "--prefix", CLASS, "--stage", "serial", "--engines", contexts,
                      "--trust-trainees")
        assert res.returncode == 0, res.stderr[-2000:]
        assert "(rootful)" in res.stdout
        names = [f"{CLASS}01", f"{CLASS}02"]
        assert all(n in res.stdout for n in names) and "127.0.0.1:" in res.stdout
        status = json.loads(lab_cli("class", "status", "--class", CLASS, "--json", "--engines", contexts).stdout)
        assert [r["name"] for r in status] == names
        assert [r["engine"] for r in status] == list(ENGINES)  # dealt round the engines
        assert [r["engine_kind"] for r in status] == ["rootful", "rootful"]
        assert all(r["steps_done"] == 1 and r["next"] == "nfs-export" for r in status), status
        assert len({r["local_url"] for r in status}) == 2

        # the instructor's dashboard, in a real browser: every lab with its progress
        with serving(dashboard.app(classroom.engines(list(ENGINES)), CLASS)) as url:
            page = browser_dom(url)
            for name in names:
                row = re.search(rf'<tr class="lab" id="lab-{name}" data-steps-done="(\d+)"', page)
                assert row and row.group(1) == "1", page[:3000]
            assert page.count("http://127.0.0.1:") >= 2
            assert page.count(f"{ENGINES[0]} (rootful)") == 1 and page.count(f"{ENGINES[1]} (rootful)") == 1

            # one trainee exports /ha: the class table and the page show it
            first = LabHandle.attach(names[0], docker)
            first.sh("nfsha", f"mkdir -p /ha && echo '/ha {first.cfg.lan}(rw,sync,no_root_squash)' > /etc/exports "
                              "&& exportfs -ra", check=True)
            page = browser_dom(url)
            assert re.search(rf'id="lab-{names[0]}" data-steps-done="2"', page), page[:3000]
            assert re.search(rf'id="lab-{names[1]}" data-steps-done="1"', page)
        table = lab_cli("class", "status", "--class", CLASS).stdout
        assert f"{names[0]}" in table and "fstab" in table.splitlines()[1], table
        res = lab_cli("class", "reset", names[0], "--class", CLASS, "--engines", contexts)
        assert res.returncode == 0, res.stderr[-2000:]
        status = json.loads(lab_cli("class", "status", "--class", CLASS, "--json").stdout)
        assert status[0]["next"] == "nfs-export" and status[0]["local_url"] == f"http://127.0.0.1:{first.cfg.local_port}/"

        res = lab_cli("class", "down", "--class", CLASS, "--engines", contexts)
        assert res.returncode == 0 and "removed 2 lab(s)" in res.stdout
        assert docker.containers.list(all=True, filters={"label": f"io.heartbeat-lab.lab={names[0]}"}) == []
        assert lab_cli("class", "status", "--class", CLASS).returncode == 2  # no such class any more
    finally:
        for name in (f"{CLASS}01", f"{CLASS}02"):
            remove_lab(docker, name, None)
