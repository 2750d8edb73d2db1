"""The lab's model without containers: topology, compose project, node-side contract."""

import re

import pytest

from lab.compose import compose_model
from lab.model import contract
from lab.model.config import LabConfig
from lab.model.topology import LAN, NODE_CAPS, SERIAL, image_name, images_for, topology

FUSE = LabConfig(nfs_client="fuse")


def test_topology_puts_the_nodes_on_the_lan_and_the_serial_network_and_the_rest_on_the_lan_only():
    topo = topology(FUSE)
    assert [(n.key, n.subnet, n.internal) for n in topo.networks] == [
        (LAN, "172.29.80.0/24", False), (SERIAL, "172.29.81.0/24", True)]
    assert topo.network(LAN).ip_range == "172.29.80.0/25"
    by_host = {c.host: c for c in topo.containers}
    assert set(by_host) == {"ha1", "ha2", "nfsha", "ha3"}
    assert by_host["ha1"].addresses == {LAN: "172.29.80.11", SERIAL: "172.29.81.11"}
    assert by_host["ha2"].env == {"SERIAL_PEER": "172.29.81.11", "SERIAL_PORT": "7000"}
    assert by_host["nfsha"].addresses == {LAN: "172.29.80.20"} and by_host["nfsha"].volumes == {"share": "/ha"}
    assert by_host["ha3"].ports == {80: ("127.0.0.1", 8080)}
    assert by_host["ha1"].extra_hosts["ha"] == "172.29.80.200"  # the cluster's name resolves to the VIP
    assert by_host["ha1"].image == image_name("node") and by_host["ha1"].cap_add == NODE_CAPS
    # the nodes do not route, as servers: a node that gave the VIP up drops what clients still send it
    assert by_host["ha1"].sysctls == by_host["ha2"].sysctls == {"net.ipv4.ip_forward": "0"}
    assert by_host["ha1"].uname == "ha1"


def test_a_lab_from_a_site_s_files_names_the_nodes_as_its_ha_cf_does():
    topo = topology(FUSE.with_(node_names=("web1", "web2")))
    assert [(c.host, c.uname) for c in topo.containers if c.role == "node"] == [("ha1", "web1"), ("ha2", "web2")]
    # the names heartbeat knows the nodes by resolve on every host
    assert topo.container("ha3").extra_hosts["web2"] == "172.29.80.12"


def test_only_the_userspace_nfs_client_gets_dev_fuse():
    assert topology(FUSE).container("ha1").devices == ("/dev/fuse",)
    assert topology(FUSE.with_(nfs_client="kernel")).container("ha1").devices == ()


def test_topology_and_compose_refuse_an_unresolved_nfs_client():
    with pytest.raises(ValueError, match="not resolved"):
        topology(LabConfig(nfs_client="auto"))
    with pytest.raises(ValueError, match="not resolved"):
        compose_model(LabConfig(nfs_client="auto"))


def test_compose_model_matches_the_topology_and_labels_everything():
    cfg = FUSE.with_(name="cmp")
    model = compose_model(cfg)
    topo = topology(cfg)
    assert model["name"] == "cmp"
    for c in topo.containers:
        svc = model["services"][c.host]
        assert svc["container_name"] == c.name and svc["init"] is True and svc["hostname"] == c.uname
        assert svc.get("sysctls", {}) == c.sysctls
        assert svc["networks"] == {k: {"ipv4_address": ip} for k, ip in c.addresses.items()}
        assert svc["labels"]["io.heartbeat-lab.lab"] == "cmp"
    assert model["services"]["ha2"]["depends_on"] == ["nfsha", "ha1"]  # the master starts first
    assert model["services"]["ha1"]["volumes"] == ["./ha1/lab:/lab:ro"]
    assert all(n["labels"]["io.heartbeat-lab.lab"] == "cmp" for n in model["networks"].values())
    assert model["volumes"]["share"]["name"] == "cmp-share"


def installs_contract(dockerfile: str) -> bool:
    """The Dockerfile puts contract.env where the image's scripts read it (a COPY, or an
    install from the files copied in one layer)."""
    return bool(re.search(r"^(COPY|\s*&& install -D -m 644) contract.env /usr/local/lib/heartbeat-lab/contract.env",
                          dockerfile, re.M))


def test_the_contract_is_read_from_the_file_the_node_image_installs():
    text = contract.CONTRACT_SOURCE.read_text()
    assert "HA_LOG=/var/log/ha-log" in text and contract.HA_LOG == "/var/log/ha-log"
    assert contract.MESSAGES == "/var/log/messages" and contract.SERIAL_DEVICE == "/dev/ttyS0"
    assert f"CONTRACT_FILE={'/usr/local/lib/heartbeat-lab/contract.env'}" in text
    dockerfile = (contract.CONTRACT_SOURCE.parent / "Dockerfile").read_text()
    assert installs_contract(dockerfile)


@pytest.mark.parametrize("image,key", [("bmc", "BMC_LOG"), ("client", "CLUSTER_LOG"), ("nfs", "GANESHA_EXPORTS"),
                                       ("nfs", "EXPORTS_DROP")])
def test_the_boards_ha3_and_nfsha_have_a_contract_their_image_installs_and_their_scripts_read(image: str, key: str):
    folder = contract.IMAGES / image
    text = (folder / "contract.env").read_text()
    path = getattr(contract, key)
    assert f"{key}={path}" in text
    assert installs_contract((folder / "Dockerfile").read_text())
    spelled = [f.name for f in folder.iterdir() if f.name != "contract.env" and path in f.read_text()]
    assert spelled == [], f"{path} is spelled in {spelled}: read it from contract.env"


def test_a_lab_without_boards_needs_no_board_image_and_one_with_them_does():
    plain = LabConfig(timing="fast").resolved()
    assert images_for(plain) == ("node", "nfs", "client")
    assert set(images_for(plain)) == {c.image.split("/")[-1].split(":")[0] for c in topology(plain).containers}
    fenced = plain.with_(stonith="ipmi").resolved()
    assert "bmc" in images_for(fenced)
