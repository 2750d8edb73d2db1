"""Picking a lab's addresses from the pool, clear of what is in use."""

import ipaddress

import pytest

from lab.errors import ConfigError
from lab.model.allocate import AUTO_FIELDS, Pool, allocate, default_vip

POOL = Pool.parse("172.29.80.0/22", "8080-8082")
ALL = set(AUTO_FIELDS) - {"mgmt_subnet"}  # a lab without boards (the default: --stonith none)
DEFAULTS = {"lan_subnet": "172.29.80.0/24", "vip": "172.29.80.200", "serial_subnet": "172.29.81.0/24",
            "local_port": 8080}


def nets(*subnets: str) -> list[ipaddress.IPv4Network]:
    return [ipaddress.IPv4Network(s) for s in subnets]


def test_an_empty_engine_gets_the_default_labs_addresses():
    assert allocate(ALL, DEFAULTS, [], set(), POOL) == DEFAULTS


def test_the_next_lab_skips_every_network_and_port_in_use():
    got = allocate(ALL, DEFAULTS, nets("172.29.80.0/24", "172.29.81.0/24", "10.0.0.0/8"), {8080}, POOL)
    assert got == {"lan_subnet": "172.29.82.0/24", "vip": "172.29.82.200", "serial_subnet": "172.29.83.0/24",
                   "local_port": 8081}
    # a docker network that overlaps only the serial half of a pair rules the pair out
    got = allocate(ALL, DEFAULTS, nets("172.29.81.128/25"), set(), POOL)
    assert got["lan_subnet"] == "172.29.82.0/24"


def test_a_port_bound_by_something_else_is_skipped():
    got = allocate({"local_port"}, DEFAULTS, [], {8080}, POOL, port_free=lambda p: p != 8081)
    assert got == {"local_port": 8082}


def test_explicit_values_win_and_only_the_rest_is_picked():
    fixed = {**DEFAULTS, "lan_subnet": "172.29.80.0/24"}
    got = allocate({"serial_subnet", "local_port"}, fixed, nets("172.29.81.0/24"), set(), POOL)
    assert got == {"serial_subnet": "172.29.83.0/24", "local_port": 8080}
    assert default_vip("10.1.2.0/24") == "10.1.2.200"


def test_an_exhausted_pool_says_what_to_do():
    taken = nets("172.29.80.0/22")
    with pytest.raises(ConfigError, match="no free pair of /24 subnets left in the pool 172.29.80.0/22.*lab down"):
        allocate(ALL, DEFAULTS, taken, set(), POOL)
    with pytest.raises(ConfigError, match="no free 127.0.0.1 port left in 8080-8082"):
        allocate({"local_port"}, DEFAULTS, [], {8080, 8081, 8082}, POOL)


def test_the_pool_is_read_from_the_environment_and_checked():
    pool = Pool.from_env({"LAB_SUBNET_POOL": "10.9.0.0/23", "LAB_PORT_POOL": "9000-9001"})
    assert [(str(a), str(b)) for a, b in pool.pairs()] == [("10.9.0.0/24", "10.9.1.0/24")]
    assert list(pool.ports) == [9000, 9001]
    with pytest.raises(ConfigError, match="LAB_SUBNET_POOL '10.9.0.0/25'.*/23 or larger"):
        Pool.parse("10.9.0.0/25", "9000-9001")
    with pytest.raises(ConfigError, match="LAB_PORT_POOL 'x'"):
        Pool.parse("10.9.0.0/23", "x")
    assert len(Pool.from_env({}).pairs()) >= 24  # a class of 24 fits the default pool


def test_a_fenced_lab_also_gets_a_free_management_subnet_apart_from_its_lan_and_serial():
    pool = Pool.parse("172.29.80.0/21", "8080-8082")
    got = allocate(ALL | {"mgmt_subnet"}, DEFAULTS, nets("172.29.80.0/24", "172.29.82.0/24"), set(), pool)
    # the LAN and serial pair skips 80/81 (80 taken); the management /24 is the first one left
    assert (got["lan_subnet"], got["serial_subnet"], got["mgmt_subnet"]) == \
        ("172.29.84.0/24", "172.29.85.0/24", "172.29.81.0/24")
    with pytest.raises(ConfigError, match="management network"):
        allocate({"mgmt_subnet"}, DEFAULTS, nets("172.29.80.0/21"), set(), pool)
