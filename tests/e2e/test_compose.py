"""The compose project is made from the same model as `lab up`: this fails when they drift."""

from __future__ import annotations

import yaml

from lab.compose import write_compose
from lab.engine.handle import LabHandle
from lab.engine.labels import LABEL_APP, LABEL_LAB, LABEL_ROLE


def test_compose_project_describes_the_containers_lab_up_built(lab: LabHandle, tmp_path):
    path = write_compose(lab.cfg, tmp_path)
    project = yaml.safe_load(path.read_text())
    assert set(project["services"]) == {"ha1", "ha2", "nfsha", "ha3"}
    for host, svc in project["services"].items():
        c = lab.container(host)
        attrs = c.attrs
        cfg, hc = attrs["Config"], attrs["HostConfig"]
        assert svc["container_name"] == c.name
        assert cfg["Image"] == svc["image"]
        assert svc["hostname"] == cfg["Hostname"]
        assert hc["Init"] is True and svc["init"] is True
        assert sorted(svc.get("cap_add", [])) == sorted(hc["CapAdd"] or [])
        assert sorted(d.split(":")[0] for d in svc.get("devices", [])) == sorted(
            d["PathOnHost"] for d in hc["Devices"] or [])
        assert sorted(svc["extra_hosts"]) == sorted(hc["ExtraHosts"])
        env = dict(e.split("=", 1) for e in cfg["Env"])
        for key, val in svc.get("environment", {}).items():
            # compose configures the hosts and starts heartbeat at boot; the lab runs the article's steps
            if key not in ("HEARTBEAT_AUTOSTART", "LAB_CONFIGURE"):
                assert env.get(key) == val, f"{host}: {key}"
        for key in (LABEL_APP, LABEL_LAB, LABEL_ROLE):
            assert svc["labels"][key] == cfg["Labels"][key]
        nets = attrs["NetworkSettings"]["Networks"]
        for key, net in svc["networks"].items():
            name = project["networks"][key]["name"]
            assert nets[name]["IPAddress"] == net["ipv4_address"], f"{host} on {name}"
        assert len(nets) == len(svc["networks"])
        mounts = {m["Destination"]: m for m in attrs["Mounts"]}
        for vol in svc.get("volumes", []):
            src, dest = vol.split(":")[:2]
            if not src.startswith("./"):
                assert mounts[dest]["Name"] == project["volumes"][src]["name"]
    for net in project["networks"].values():
        live = lab.client.networks.get(net["name"]).attrs
        assert live["Internal"] == net["internal"]
        assert live["IPAM"]["Config"][0]["Subnet"] == net["ipam"]["config"][0]["subnet"]
        assert live["IPAM"]["Config"][0].get("IPRange") == net["ipam"]["config"][0].get("ip_range")
    # the rendered files compose mounts are the ones the lab installed
    for node in ("ha1", "ha2"):
        for f in ("ha.cf", "haresources", "authkeys"):
            assert lab.run(node, ["cat", f"/etc/ha.d/{f}"]).output == (tmp_path / node / "lab" / "etc" / f).read_text()
        assert (tmp_path / node / "lab" / "etc" / "fstab").read_text() in lab.run(node, ["cat", "/etc/fstab"]).output
    # and the reference solution's scripts compose runs at boot are the ones `lab up` ran
    for host in ("ha1", "ha2", "nfsha"):
        scripts = sorted((tmp_path / host / "lab" / "solve").iterdir())
        assert scripts
        assert lab.run(host, ["ls", "/lab/solve"]).output.split() == [p.name for p in scripts]
        for script in scripts:
            assert lab.run(host, ["cat", f"/lab/solve/{script.name}"]).output == script.read_text()
