"""Engine kinds, the classroom's refusal of an engine whose container root is the host's
root, and the subordinate id ranges a rootless engine's user is given."""

from __future__ import annotations

import pytest

from lab import classroom
from lab.engine.rootless import (FIRST_SUBID, ROOTFUL, ROOTLESS, SUBIDS, USERNS, engine_kind, free_subid_start,
                                 refuse_lab, subid_ranges)
from lab.errors import ConfigError


class FakeClient:
    def __init__(self, options: list[str] | None):
        self.options = options

    def info(self) -> dict:
        return {"SecurityOptions": self.options}


@pytest.mark.parametrize("options, kind", [
    (["name=seccomp,profile=default"], ROOTFUL),  # this machine's engine
    (None, ROOTFUL),
    (["name=seccomp,profile=default", "name=rootless"], ROOTLESS),
    (["name=apparmor", "name=seccomp,profile=default", "name=userns"], USERNS),
])
def test_the_engine_kind_comes_from_the_engines_security_options(options, kind):  # noqa: ANN001
    assert engine_kind(FakeClient(options)) == kind


def engine(name: str, kind: str) -> classroom.Engine:
    return classroom.Engine(name, client=None, daemon=name, kind=kind)


def test_a_class_on_a_rootful_engine_is_refused_with_the_way_out_unless_the_trainees_are_trusted():
    with pytest.raises(ConfigError) as err:
        classroom.refuse_unsafe([engine("e1", ROOTLESS), engine("default", ROOTFUL)], trusted=False)
    msg = str(err.value)
    assert "default (rootful)" in msg and "e1" not in msg.split(":")[0]
    assert "host's root" in msg and "lab engine class" in msg and classroom.TRUST_FLAG in msg
    classroom.refuse_unsafe([engine("default", ROOTFUL)], trusted=True)
    classroom.refuse_unsafe([engine("e1", ROOTLESS), engine("e2", USERNS)], trusted=False)


def test_a_lab_on_a_rootless_engine_is_refused_saying_why():
    with pytest.raises(ConfigError, match="open_by_handle_at"):
        refuse_lab(ROOTLESS)
    refuse_lab(ROOTFUL)
    refuse_lab(USERNS)


def test_subordinate_ids_are_read_and_a_free_range_is_found_above_the_others():
    ranges = subid_ranges("alice:100000:65536\n# a comment\nbob:165536:65536\nbroken line\ncarol:300000:1000\n")
    assert ranges == {"alice": [(100000, 65536)], "bob": [(165536, 65536)], "carol": [(300000, 1000)]}
    start = free_subid_start(ranges)
    assert start == 231072  # after bob; carol's 300000.. starts beyond this range's end
    assert start + SUBIDS <= 300000
    assert free_subid_start({}) == FIRST_SUBID
    # a range that would overlap carol moves past her
    assert free_subid_start({"a": [(100000, 150000)], "c": [(300000, 1000)]}) == 301000


class FakeLab:
    """What fetch and the probe read of a lab handle."""

    def __init__(self, vip_from_host: bool):
        from lab.model.config import LabConfig
        self.cfg = LabConfig.numbered("kinds", 70).resolved()
        self.vip_from_host = vip_from_host


@pytest.mark.parametrize("vip_from_host, expected", [(True, "http://172.29.70.200/hostname.html"),
                                                     (False, "http://127.0.0.1:40123/hostname.html")])
def test_the_cluster_url_is_fetched_through_the_local_port_where_the_host_cannot_reach_the_vip(
        monkeypatch, vip_from_host, expected):  # noqa: ANN001
    from lab.observe import state

    asked = []

    class Answer:
        status_code, text = 200, "ha1"

    monkeypatch.setattr(state, "local_url", lambda lab: "http://127.0.0.1:40123/")
    monkeypatch.setattr(state, "direct_get", lambda url, timeout: asked.append(url) or Answer())
    assert state.fetch(FakeLab(vip_from_host), "hostname.html") == (200, "ha1")
    assert asked == [expected]


def test_contexts_go_where_the_docker_cli_looks_even_without_a_config_file(tmp_path, monkeypatch):  # noqa: ANN001
    from docker.context.config import get_context_dir
    from docker.utils.config import find_config_file

    from lab.engine.contexts import ensure_docker_config

    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    assert find_config_file() is None and get_context_dir() == "contexts"  # the SDK's ./contexts
    ensure_docker_config()
    assert get_context_dir() == str(tmp_path / "docker" / "contexts")  # the CLI's
    ensure_docker_config()  # again: the file stays as it is
    assert (tmp_path / "docker" / "config.json").read_text() == "{}\n"


@pytest.mark.parametrize("where, vip_from_host, expected", [
    ("host", True, "http://172.29.70.200/hostname.html"),
    ("host", False, "http://127.0.0.1:40123/hostname.html"),
    ("ha3", False, "http://172.29.70.200/hostname.html"),  # ha3 is on the LAN: the VIP always
])
def test_the_probe_asks_the_same_url_as_fetch_from_where_it_runs(monkeypatch, where, vip_from_host, expected):  # noqa: ANN001
    from lab.observe import probe, state

    monkeypatch.setattr(state, "local_url", lambda lab: "http://127.0.0.1:40123/")
    assert probe.Probe(FakeLab(vip_from_host), where=where).url == expected


def test_on_a_systemd_cgroup_v2_host_the_rootless_engine_is_a_unit_of_the_users_own_systemd(tmp_path):  # noqa: ANN001
    from lab.engine.usersystemd import user_unit

    log = tmp_path / "dockerd-rootless.log"
    unit = user_unit("/usr/share/docker.io/contrib/dockerd-rootless.sh", log)
    lines = unit.splitlines()
    assert "ExecStart=/usr/share/docker.io/contrib/dockerd-rootless.sh --storage-driver fuse-overlayfs" in lines
    # its containers' cgroups are delegated to it, its log goes where the instructor reads it,
    # and it comes back with the user's systemd (lingering) after a reboot
    assert "Delegate=yes" in lines
    assert f"StandardOutput=append:{log}" in lines and f"StandardError=append:{log}" in lines
    assert "WantedBy=default.target" in lines


class _Image:
    def __init__(self, id_: str, tags: list[str]) -> None:
        self.id, self.short_id, self.tags = id_, id_[:12], tags


class _BuiltImages:
    """An engine's images where `child` is built on `stage`: the stage cannot go first."""

    def __init__(self, in_use: bool = False) -> None:
        self.left = {"stage": _Image("stage", []), "child": _Image("child", ["heartbeat-lab/nfs4fuse:latest"])}
        self.in_use = in_use

    def list(self, all: bool, filters: dict) -> list:  # noqa: A002
        return list(self.left.values())  # the parent first, as the engine listed it in run 42

    def remove(self, image_id: str, force: bool) -> None:
        import docker.errors
        from requests import Response
        if (image_id == "stage" and "child" in self.left) or self.in_use:
            resp = Response()
            resp.status_code = 409
            raise docker.errors.APIError("409 Conflict", resp, explanation="image has dependent child images")
        del self.left[image_id]


def test_lab_images_remove_takes_an_image_built_on_another_before_it_and_says_what_it_cannot_remove():
    from types import SimpleNamespace

    from lab.engine.images import remove_images
    from lab.errors import LabError
    engine = _BuiltImages()
    said: list[str] = []
    remove_images(SimpleNamespace(images=engine), say=said.append)
    assert engine.left == {} and said == ["removed image heartbeat-lab/nfs4fuse:latest", "removed image stage"]
    with pytest.raises(LabError, match="refused .* A container still using it"):
        remove_images(SimpleNamespace(images=_BuiltImages(in_use=True)), say=said.append)
