"""The class engine (`lab engine class`, issue 24): a second Docker daemon with user-namespace
remapping beside this machine's, set up from nothing as `make class-engine` does. A class of
two runs on it without --trust-trainees: the article's NFS step typed on nfsha is served by
ganesha from its own container, the finished cluster fails over under the probe, the NFS
server stops and comes back, and in every container a trainee can reach root is an
unprivileged uid of this machine, with no Docker socket, no host process in sight, no cgroup
mount, and no way to another lab or to the machine. Checks of preconditions only: no escape
is attempted."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading

import pytest
import requests

from by_hand import trainee
from labtest import NETS, TEST_LAB, assert_steps_as_expected, lab_cli, lab_of_its_own, make_config
from lab import scenario
from lab.engine import classengine, images
from lab.engine.handle import LabHandle, docker_client
from lab.engine.labels import APP, LABEL_APP
from lab.engine.rootless import USERNS, engine_kind, userns_root_ids
from lab.faults import inject
from lab.frontdoor.access import REACHABLE
from lab.model.config import NFS_DAEMON, NFS_SERVER
from lab.model.render import index_text, page_text
from lab.model.topology import image_name
from lab.observe.state import fetch, wait_serving, who_serves
from lab.recovery import heal
from lab.waiting import wait_until
from lab.workshop.course import check_step, find_steps

PREFIX = f"{TEST_LAB}-uc"  # the class's labs: <prefix>01, <prefix>02

# Not in `make test`: `make test-class-engine`, which CI runs after it. Run beside the other
# worker of make test (run 14), this module's image copy (1.4 GB) and second daemon made
# that worker's timed checks fail (the fast-takeover exercise's 5 s); alone, nothing competes.
pytestmark = pytest.mark.class_engine



@pytest.fixture(scope="module")
def engine(docker):  # noqa: ANN001, ANN201
    """The class engine, set up as `make class-engine` does (its user, ranges, firewall chains,
    daemon, context and the lab's images); afterwards removed if it was not there before,
    stopped if it was not running."""
    was_running, was_there = classengine.answers(), classengine.STATE.exists()
    said: list[str] = []
    try:
        dest = classengine.prepare(say=said.append)
        images.ensure_images(docker, said.append)
        images.copy_images(docker, dest, said.append)
        yield dest, said
    finally:
        if not was_there:  # made here: its data, chains and context go (the user and ranges stay)
            classengine.remove(say=said.append)
        elif not was_running:
            classengine.stop()


@pytest.fixture(scope="module")
def klass(engine, tmp_path_factory):  # noqa: ANN001, ANN201
    """A class of two on the class engine, at the stage nfs, started without --trust-trainees."""
    state = tmp_path_factory.mktemp("class-engine-state")
    env = {**os.environ, "LAB_STATE_HOME": str(state)}
    lab_cli("class", "down", "--class", PREFIX, "--engines", classengine.CONTEXT, "--yes", env=env)  # an interrupted run's
    up = lab_cli("class", "up", "--engines", classengine.CONTEXT, "--count", "2", "--class", PREFIX, "--stage", "nfs",
                 "--timing", "fast", env=env)
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        client = docker_client(classengine.CONTEXT)
        yield [LabHandle.attach(f"{PREFIX}0{i}", client) for i in (1, 2)], up, env
    finally:
        down = lab_cli("class", "down", "--class", PREFIX, "--engines", classengine.CONTEXT, "--yes", env=env)
        assert down.returncode == 0, down.stdout + down.stderr


def test_the_class_engine_remaps_users_and_setting_it_up_again_changes_nothing(engine):  # noqa: ANN001
    dest, _ = engine
    assert engine_kind(docker_client(classengine.CONTEXT)) == USERNS
    cli = subprocess.run(["docker", "--context", classengine.CONTEXT, "info", "--format", "{{json .SecurityOptions}}"],
                         capture_output=True, text=True, timeout=30)
    assert cli.returncode == 0 and "name=userns" in cli.stdout, (cli.stdout, cli.stderr)
    # beside the machine's engine, not instead of it: its own identity, and the machine's
    # engine still runs a container on its default bridge (docker0)
    machine = docker_client()
    assert machine.info()["ID"] != dest.info()["ID"]
    assert machine.containers.run(image_name("node"), ["-c", "true"], entrypoint="sh", remove=True,
                                  labels={LABEL_APP: APP}) == b""
    again: list[str] = []
    classengine.prepare(say=again.append)
    assert any("already answers" in m for m in again), again
    assert not [m for m in again if m.startswith(("creating", "giving", "starting", "iptables"))], again


def test_a_class_starts_there_without_trust_and_the_nfs_step_typed_on_nfsha_is_served(klass):  # noqa: ANN001
    (lab, _), up, _ = klass
    assert "--trust-trainees" not in up.stderr
    # the article's step, typed on nfsha as the guide says
    lan = lab.cfg.lan_subnet
    res = lab.sh(NFS_SERVER, f"mkdir -p /ha && echo '/ha {lan}(rw,sync,no_root_squash)' > /etc/exports && exportfs -ra")
    assert res.ok, res.output
    # ganesha serves it from its own container, which nfsha's trainee cannot see
    assert lab.run(NFS_DAEMON, ["pgrep", "-x", "ganesha.nfsd"]).ok
    assert not lab.run(NFS_SERVER, ["pgrep", "-x", "ganesha.nfsd"]).ok
    result = check_step(lab, find_steps(["nfs-export"])[0])
    assert result.ok, [(o.check.name, o.seen) for o in result.outcomes]
    # an export outside the shared disk is refused by the server, with the reason
    bad = lab.sh(NFS_SERVER, "mkdir -p /srv/x && echo '/srv/x *(rw)' > /etc/exports && exportfs -ra")
    assert not bad.ok and "outside /ha" in bad.output, bad.output
    lab.sh(NFS_SERVER, f"echo '/ha {lan}(rw,sync,no_root_squash)' > /etc/exports && exportfs -ra", check=True)


def test_the_finished_cluster_there_fails_over_under_the_probe_and_survives_the_nfs_server_stopping(klass):  # noqa: ANN001
    (lab, _), _, env = klass
    solved = lab_cli("solve", "browser-test", "--name", lab.cfg.name, env={**env, "DOCKER_HOST": classengine.HOST})
    assert solved.returncode == 0, solved.stdout + solved.stderr
    assert who_serves(lab) == lab.cfg.master
    result = scenario.run(lab, "hard-kill")
    assert_steps_as_expected(result)
    assert who_serves(lab) == lab.cfg.master
    inject(lab, "stop-nfs")
    assert lab.container_status(NFS_DAEMON) == "exited" and lab.container_status(NFS_SERVER) == "running"
    with pytest.raises(requests.Timeout):  # a hard mount: readers wait for the server
        requests.get(f"{lab.cfg.url}index.html", timeout=3)
    heal(lab)

    def index_back() -> tuple[bool, str]:
        r = requests.get(f"{lab.cfg.url}index.html", timeout=3)
        return r.status_code == 200 and page_text(r.text) == index_text(lab.cfg), f"{r.status_code}"

    wait_until("index.html to serve again once the NFS server is back", index_back, timeout=lab.cfg.failover_wait)



def test_the_other_trainee_walks_the_article_from_the_nfs_step_to_a_serving_cluster(klass):  # noqa: ANN001
    """The workshop's steps typed the trainee's way (test_workshop_walk's commands) on the
    class engine, each passing `lab check` once done; then the cluster serves."""
    (_, other), _, _ = klass
    for step in find_steps(["nfs-export", "fstab", "sample-pages", "apache-layout", "authkeys", "ha-cf",
                            "haresources", "start-cluster"]):
        for host, commands in trainee(other, step.id):
            res = other.sh(host, commands, timeout=120)
            assert res.ok, f"{step.id} on {host}: `{commands}` failed: {res.output}"
        result = check_step(other, step)
        assert result.ok, (step.id, [(o.check.name, o.seen) for o in result.outcomes if not o.ok])
    wait_serving(other, other.cfg.master, timeout=other.cfg.start_wait)
    assert page_text(fetch(other, "index.html", via="ha3")[1]) == index_text(other.cfg)


def test_a_hung_master_there_is_taken_over_and_resumes(klass):  # noqa: ANN001
    (lab, _), _, _ = klass  # docker pause: the freezer cgroup of a remapped container
    heal(lab)
    result = scenario.run(lab, "pause")
    assert_steps_as_expected(result)
    heal(lab)
    assert who_serves(lab) == lab.cfg.master


@pytest.fixture
def fenced(engine):  # noqa: ANN001, ANN201
    """A lab with IPMI boards on the class engine: the boards' chassis program drives that
    engine's containers, through its socket."""
    client = docker_client(classengine.CONTEXT)
    name = f"{TEST_LAB}-ufence"
    with lab_of_its_own(client, make_config(name, net=NETS["class-engine-fenced"], stonith="ipmi",
                                            mgmt_subnet=f"172.29.{NETS['class-engine-fenced-mgmt']}.0/24")) as lab:
        yield lab


def test_fencing_boards_there_reset_a_dead_master_before_the_backup_takes_over(fenced):  # noqa: ANN001
    assert fenced.container("bmc-ha1").attrs["HostConfig"]["UsernsMode"] == "host"
    result = scenario.run(fenced, "fenced-kill")
    assert_steps_as_expected(result)
    heal(fenced)
    assert who_serves(fenced) == fenced.cfg.master


@pytest.fixture
def machine_port():  # noqa: ANN201
    """A port this machine listens on, on every address: what a lab must not reach."""
    with socket.socket() as s:
        s.bind(("0.0.0.0", 0))
        s.listen()
        yield s.getsockname()[1]


def test_root_in_every_container_a_trainee_reaches_is_an_unprivileged_uid_with_nothing_of_the_host(
        klass, machine_port):  # noqa: ANN001
    (lab, other), _, _ = klass
    port = machine_port
    uid, _gid = userns_root_ids()
    assert uid > 0
    host_pids = len([p for p in os.listdir("/proc") if p.isdigit()])
    assert NFS_DAEMON not in REACHABLE
    for host in REACHABLE:
        out = lab.sh(host, "cat /proc/self/uid_map; echo ---; ls /proc | grep -c '^[0-9]'; "
                           "test -e /var/run/docker.sock && echo SOCKET; mkdir -p /tmp/cg; "
                           "mount -t cgroup -o memory cgroup /tmp/cg 2>&1 && echo MOUNTED; true").output
        maps, _, rest = out.partition("---\n")
        first = maps.split()
        assert first[:3] == ["0", str(uid), "65536"], (host, maps)  # root is the first uid of the range
        count, *said = rest.splitlines()
        assert int(count) < host_pids / 2, (host, count, host_pids)  # its own processes, not the machine's
        assert "SOCKET" not in said and "MOUNTED" not in said, (host, said)
        # its own lab's ssh on ha2 answers; another lab's node and this machine do not
        seen = {target: "OPEN" in lab.sh(host, f"timeout 1 bash -c 'exec 3<>/dev/tcp/{target}' 2>/dev/null "
                                              "&& echo OPEN; true").output
                for target in (f"{lab.cfg.lan_ip('ha2')}/22", f"{other.cfg.lan_ip('ha1')}/22",
                               f"{lab.cfg.lan_gateway}/{port}")}
        assert list(seen.values()) == [True, False, False], (host, seen)
    # ganesha's container alone runs in the machine's user namespace, with what ganesha needs
    assert lab.sh(NFS_DAEMON, "cat /proc/self/uid_map").output.split()[:3] == ["0", "0", "4294967295"]
    attrs = lab.container(NFS_DAEMON).attrs["HostConfig"]
    assert attrs["CapDrop"] == ["ALL"] and "DAC_READ_SEARCH" in attrs["CapAdd"] and not attrs.get("Privileged")
    # and the lab's shared disk is a filesystem of its own: ganesha can open by handle nothing else
    assert lab.sh(NFS_DAEMON, "stat -f -c %T /ha").output.strip() == "tmpfs"


def test_the_front_door_opens_no_terminal_in_the_nfs_servers_container(klass):  # noqa: ANN001
    (lab, _), _, env = klass
    from lab.frontdoor.access import Who, container_for
    from lab.frontdoor.record import TRAINEE

    with pytest.raises(PermissionError):  # nfsd is none of the four a trainee's terminal or ssh opens
        container_for(Who(TRAINEE, lab.cfg.name), lab.cfg.name, NFS_DAEMON)
    # the roster the class made gives each trainee a door (the front door's own tests drive it)
    roster = json.loads(lab_cli("class", "roster", "--class", PREFIX, "--format", "json", env=env).stdout)
    assert {t["lab"] for t in roster["trainees"]} == {f"{PREFIX}01", f"{PREFIX}02"}


def test_served_from_there_the_dashboard_lists_the_class_and_a_trainee_reaches_only_their_own_lab(klass):  # noqa: ANN001
    import asyncio

    import aiohttp
    import asyncssh
    (lab, other), up, env = klass
    password = re.search(r"the instructor's password, shown this once: (\S+)", up.stdout).group(1)
    roster = {t["lab"]: t["password"] for t in json.loads(
        lab_cli("class", "roster", "--class", PREFIX, "--format", "json", env=env).stdout)["trainees"]}
    proc = subprocess.Popen([sys.executable, "-m", "lab", "class", "serve", "--class", PREFIX, "--engines",
                             classengine.CONTEXT, "--listen", "127.0.0.1:0", "--ssh-port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env={**env, "PYTHONUNBUFFERED": "1"})
    try:
        line = proc.stdout.readline()
        m = re.search(r"lab\(s\) at (http://127\.0\.0\.1:\d+/); ssh -p (\d+) ", line)
        assert m, f"expected the server's address, saw {line!r}"
        url, ssh_port = m.group(1), int(m.group(2))
        threading.Thread(target=proc.stdout.read, daemon=True).start()
        # the instructor's dashboard: both labs, on the class engine, said to be user-namespaced
        teacher = requests.Session()
        teacher.post(f"{url}login", data={"name": "instructor", "password": password}, timeout=10)
        rows = teacher.get(f"{url}class/api", timeout=30).json()["labs"]
        assert {(r["name"], r["engine"], r["engine_kind"]) for r in rows} == {
            (n, classengine.CONTEXT, USERNS) for n in (lab.cfg.name, other.cfg.name)}
        # the trainee: their cluster's page through the class server, their check, not the other lab
        trainee = requests.Session()
        trainee.post(f"{url}login", data={"name": lab.cfg.name, "password": roster[lab.cfg.name]}, timeout=10)
        page = trainee.get(f"{url}lab/{lab.cfg.name}/site/hostname.html", timeout=30)
        assert page.status_code == 200 and lab.cfg.master in page.text, page.text[:300]
        # "check my work": solved up to the browser test, the failover test is what is left to do
        check = trainee.post(f"{url}lab/{lab.cfg.name}/check", timeout=120).json()
        assert check["next"] == "failover-test", check
        assert [s["step"] for s in check["steps"] if not s["ok"]] == ["failover-test"], check
        assert all("hint" in c for s in check["steps"] for c in s["checks"] if not c["ok"]), check
        assert trainee.get(f"{url}lab/{other.cfg.name}/site/hostname.html", timeout=10,
                           allow_redirects=False).status_code in (302, 403)

        async def terminal(node: str) -> str:  # the browser's terminal, as its websocket carries it
            cookie = "; ".join(f"{c.name}={c.value}" for c in trainee.cookies)
            async with aiohttp.ClientSession() as http, \
                    http.ws_connect(f"{url}lab/{lab.cfg.name}/term/{node}", headers={"Cookie": cookie}) as ws:
                await ws.send_bytes(b"echo uid_map; cat /proc/self/uid_map; exit\r")
                seen = b""
                async for msg in ws:
                    seen += msg.data if isinstance(msg.data, bytes) else b""
                return seen.decode(errors="replace")

        uid, _gid = userns_root_ids()
        assert re.search(rf"\b0\s+{uid}\s+65536\b", asyncio.run(asyncio.wait_for(terminal("ha1"), 60)))

        async def ssh(user: str, secret: str) -> str:
            async with asyncssh.connect("127.0.0.1", ssh_port, username=user, password=secret,
                                        known_hosts=None) as conn:
                return (await conn.run("hostname; cat /proc/self/uid_map")).stdout

        assert asyncio.run(ssh(f"{lab.cfg.name}+ha2", roster[lab.cfg.name])).split()[:4] == ["ha2", "0", str(uid),
                                                                                           "65536"]
        for user in (f"{lab.cfg.name}+{NFS_DAEMON}", f"{other.cfg.name}+ha1"):
            with pytest.raises(asyncssh.PermissionDenied):
                asyncio.run(ssh(user, roster[lab.cfg.name]))
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _class_processes(uid: int) -> list[str]:
    """Processes of the class engine on this machine: its daemon and containerd (their
    command lines name its exec root or socket), and whatever runs as one of the remapped
    uids (every process of its containers but ganesha's)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmd = open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ").decode(errors="replace")
            owner = int(next(ln.split()[1] for ln in open(f"/proc/{pid}/status") if ln.startswith("Uid:")))
        except (OSError, StopIteration):
            continue  # gone meanwhile
        if str(classengine.RUN) in cmd or uid <= owner < uid + 65536:
            found.append(f"{pid} (uid {owner}): {cmd[:120]}")
    return found


def test_stopping_the_class_engine_leaves_nothing_of_it_running_and_starting_it_again_copies_nothing(
        klass):  # noqa: ANN001
    (lab, _), _, env = klass  # a class is up: the instructor stops the engine at the end of the day
    uid, _gid = userns_root_ids()
    assert _class_processes(uid), "the class engine and its labs should show processes before --stop"
    stopped = lab_cli("engine", "class", "--stop", env=env)
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert not classengine.answers()
    assert _class_processes(uid) == []
    assert docker_client().ping()  # the machine's engine goes on
    # as make class-engine documents: the context stays, and so do the labs and images, for the next start
    assert subprocess.run(["docker", "context", "inspect", classengine.CONTEXT], capture_output=True).returncode == 0
    again = lab_cli("engine", "class", env=env)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "copying" not in again.stdout + again.stderr, again.stdout + again.stderr
    assert {c.name for c in docker_client(classengine.CONTEXT).containers.list(all=True)} >= {
        lab.container(n).name for n in REACHABLE}
