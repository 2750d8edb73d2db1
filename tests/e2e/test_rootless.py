"""A rootless engine for a shared classroom server: `lab engine rootless` sets one up as an
unprivileged user on this machine, and root in a node on it is not root on the host. The lab
itself cannot run there yet (nfs-ganesha needs open_by_handle_at, which a user namespace
refuses): `lab up` says so before making anything."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from labtest import NETS, TEST_LAB, make_config
from lab.engine import images, rootless
from lab.engine.handle import docker_client
from lab.engine.labels import LABEL_LAB, lab_labels
from lab.model.topology import image_name, topology

# it makes a user, subordinate ids and device modes on this machine: make test-host, not make test
pytestmark = pytest.mark.host

NODE_IMAGE = image_name("node")
PROBE_NAME = f"{TEST_LAB}-rootless"  # the label of the one container these tests start there


@pytest.fixture(scope="module")
def engine(docker):  # noqa: ANN001, ANN201
    """This machine's rootless engine (set up by the lab as `make rootless-engine` would), with
    the node image; stopped afterwards if it was not running before, and what the tests put
    on it removed."""
    try:
        before = rootless.lookup()
        was_running = rootless._answers(before)
    except Exception:  # no such user yet: a clean machine
        was_running = False
    said: list[str] = []
    eng = rootless.prepare(say=said.append)
    dest = eng.client()
    copied = images.copy_images(docker, dest, only=(NODE_IMAGE,))
    try:
        yield eng, said
    finally:
        for c in dest.containers.list(all=True, filters={"label": f"{LABEL_LAB}={PROBE_NAME}"}):
            c.remove(force=True)
        for tag in copied:
            with contextlib.suppress(Exception):
                dest.images.remove(tag, force=True)
        if not was_running:
            rootless.stop(eng)


def test_the_rootless_engine_runs_as_an_unprivileged_user_and_setting_it_up_again_changes_nothing(engine):  # noqa: ANN001
    eng, _ = engine
    assert eng.uid != 0 and pwd.getpwnam(eng.user).pw_uid == eng.uid
    # the engine says it is rootless, through the docker context named for it
    assert rootless.engine_kind(docker_client(eng.context)) == rootless.ROOTLESS
    # and the docker CLI reaches it through that context, as an instructor would
    cli = subprocess.run(["docker", "--context", eng.context, "info", "--format", "{{json .SecurityOptions}}"],
                         capture_output=True, text=True, timeout=30)
    assert cli.returncode == 0 and "name=rootless" in cli.stdout, (cli.stdout, cli.stderr)
    # its daemon runs as the user, not as root
    pids = subprocess.run(["pgrep", "-u", str(eng.uid), "-x", "dockerd"], capture_output=True, text=True).stdout
    assert pids.split(), "no dockerd of the user"
    assert all(os.stat(f"/proc/{p}").st_uid == eng.uid for p in pids.split())
    # the user holds a whole subordinate range for the containers' other users
    for path in ("/etc/subuid", "/etc/subgid"):
        ranges = rootless.subid_ranges(Path(path).read_text()).get(eng.user, [])
        assert any(n >= rootless.SUBIDS for _, n in ranges), (path, ranges)
    again: list[str] = []
    assert rootless.prepare(say=again.append) == eng
    assert any("already answers" in m for m in again), again
    assert not [m for m in again if m.startswith(("creating", "giving", "installing", "starting", "making"))], again


@pytest.fixture
def shared(engine):  # noqa: ANN001, ANN201
    """A host directory the user may write, for bind-mounting into a node (pytest's tmp_path
    lies under root's 0700 folder, which the user's engine cannot reach)."""
    eng, _ = engine
    path = Path(tempfile.mkdtemp(prefix=f"{PROBE_NAME}-"))
    os.chown(path, eng.uid, eng.gid)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_root_in_a_node_on_the_rootless_engine_is_the_unprivileged_user_on_the_host(engine, shared):  # noqa: ANN001
    eng, _ = engine
    # ha1 as the lab makes it: the same capabilities (SYS_ADMIN ...), devices (/dev/fuse) and options
    spec = next(c for c in topology(make_config(PROBE_NAME, net=NETS["rootless-probe"]).resolved()).containers if c.host == "ha1")
    script = "id -u; cat /proc/self/uid_map; touch /mnt/host/made-by-root; stat -c %u /mnt/host/made-by-root"
    out = eng.client().containers.run(
        NODE_IMAGE, [script], entrypoint=["sh", "-c"],
        cap_add=list(spec.cap_add), devices=[f"{d}:{d}:rwm" for d in spec.devices],
        security_opt=list(spec.security_opt), labels=lab_labels(PROBE_NAME, "ha1"),
        volumes={str(shared): {"bind": "/mnt/host", "mode": "rw"}}, remove=True).decode()
    lines = out.strip().splitlines()
    uid_inside, maps, owner_inside = lines[0], [ln.split() for ln in lines[1:-1]], lines[-1]
    assert uid_inside == "0" and owner_inside == "0"  # root inside the node, and its file reads as root's there
    assert maps[0] == ["0", str(eng.uid), "1"], maps  # container root is the user on the host
    subuids = rootless.subid_ranges(Path("/etc/subuid").read_text())[eng.user]
    for _inside, host_first, count in maps[1:]:  # every other container uid: the user's subordinate range
        assert any(f <= int(host_first) and int(host_first) + int(count) <= f + n for f, n in subuids), (maps, subuids)
    made = shared / "made-by-root"
    assert (made.stat().st_uid, made.stat().st_gid) == (eng.uid, eng.gid)  # on the host: the user's, not root's


def test_a_lab_on_the_rootless_engine_is_refused_before_anything_is_made(engine):  # noqa: ANN001
    eng, _ = engine
    res = subprocess.run([sys.executable, "-m", "lab", "up", "--name", PROBE_NAME], capture_output=True, text=True,
                         timeout=60, env={**os.environ, "DOCKER_HOST": eng.host})
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert "rootless" in res.stderr and "open_by_handle_at" in res.stderr, res.stderr
    client = eng.client()
    label = {"label": f"{LABEL_LAB}={PROBE_NAME}"}
    assert client.containers.list(all=True, filters=label) == [] and client.networks.list(filters=label) == []
    assert client.volumes.list(filters=label) == []
