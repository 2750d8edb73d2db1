"""Addresses for a lab nobody gave addresses to: a LAN /24, a serial /24, the boards'
management /24 (fenced labs only), the VIP and a 127.0.0.1 port, taken from a pool and clear of every network and port already in use.
Pure logic: what is in use comes from the caller (provision reads it from Docker and
the host under a lock, so two `lab up`s started together never pick the same)."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from typing import Callable

from ..errors import ConfigError

# the pool: /24 pairs (LAN, serial) carved from it, in order; 127.0.0.1 ports likewise
DEFAULT_SUBNET_POOL = "172.29.80.0/20,172.29.96.0/19,172.29.128.0/17"
DEFAULT_PORT_POOL = "8080-8179"
AUTO_FIELDS = ("lan_subnet", "vip", "serial_subnet", "mgmt_subnet", "local_port")


@dataclass(frozen=True)
class Pool:
    subnets: tuple[ipaddress.IPv4Network, ...]
    ports: range

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "Pool":
        env = os.environ if environ is None else environ
        return cls.parse(env.get("LAB_SUBNET_POOL", DEFAULT_SUBNET_POOL), env.get("LAB_PORT_POOL", DEFAULT_PORT_POOL))

    @classmethod
    def parse(cls, subnets: str, ports: str) -> "Pool":
        try:
            nets = tuple(ipaddress.IPv4Network(s.strip()) for s in subnets.split(",") if s.strip())
        except ValueError as exc:
            raise ConfigError(f"LAB_SUBNET_POOL {subnets!r}: {exc} (expected networks such as 172.29.80.0/20, "
                              "comma separated)") from None
        if not nets or any(n.prefixlen > 23 for n in nets):
            raise ConfigError(f"LAB_SUBNET_POOL {subnets!r}: expected networks of /23 or larger (each lab takes "
                              "two /24s)")
        low, _, high = ports.partition("-")
        if not (low.isdigit() and high.isdigit() and 1 <= int(low) <= int(high) <= 65535):
            raise ConfigError(f"LAB_PORT_POOL {ports!r}: expected a range such as 8080-8179")
        return cls(nets, range(int(low), int(high) + 1))

    def pairs(self) -> list[tuple[ipaddress.IPv4Network, ipaddress.IPv4Network]]:
        """(LAN, serial) /24 pairs, in pool order."""
        out = []
        for net in self.subnets:
            sub = list(net.subnets(new_prefix=24))
            out += [(sub[i], sub[i + 1]) for i in range(0, len(sub) - 1, 2)]
        return out


def default_vip(lan_subnet: str) -> str:
    """The VIP a LAN gets unless one is given: .200 of a /24, in the upper half where docker
    hands out no addresses (an invalid subnet is left to the config's validation)."""
    try:
        lan = ipaddress.IPv4Network(lan_subnet)
    except ValueError:
        return ""
    return str(lan.network_address + (lan.num_addresses * 200 // 256))


def allocate(fields: set[str], fixed: dict[str, object], taken_subnets: list[ipaddress.IPv4Network],
             taken_ports: set[int], pool: Pool, port_free: Callable[[int], bool] = lambda p: True) -> dict:
    """Values for the `fields` to pick (a subset of AUTO_FIELDS), given the values that are
    fixed. A LAN given without a VIP gets the VIP .200 of it (the upper half)."""
    unknown = fields - set(AUTO_FIELDS)
    if unknown:
        raise ValueError(f"cannot allocate {sorted(unknown)}")
    out: dict[str, object] = {}
    if "lan_subnet" in fields or "serial_subnet" in fields:
        for lan, serial in pool.pairs():
            want_lan = lan if "lan_subnet" in fields else ipaddress.IPv4Network(str(fixed["lan_subnet"]))
            want_serial = serial if "serial_subnet" in fields else ipaddress.IPv4Network(str(fixed["serial_subnet"]))
            if want_lan.overlaps(want_serial):
                continue
            if any(n.overlaps(t) for n in (want_lan, want_serial) for t in taken_subnets):
                continue
            if "lan_subnet" in fields:
                out["lan_subnet"] = str(want_lan)
            if "serial_subnet" in fields:
                out["serial_subnet"] = str(want_serial)
            break
        else:
            raise ConfigError(f"no free pair of /24 subnets left in the pool {', '.join(map(str, pool.subnets))} "
                              f"({len(taken_subnets)} docker networks in use); remove labs with `lab down`, or "
                              "widen LAB_SUBNET_POOL")
    if "mgmt_subnet" in fields:  # the boards' network (--stonith ipmi): the first free /24 left
        chosen = [ipaddress.IPv4Network(str(out.get(f, fixed.get(f)))) for f in ("lan_subnet", "serial_subnet")]
        free = (n for net in pool.subnets for n in net.subnets(new_prefix=24)
                if not any(n.overlaps(t) for t in (*taken_subnets, *chosen)))
        mgmt = next(free, None)
        if mgmt is None:
            raise ConfigError(f"no free /24 left in the pool {', '.join(map(str, pool.subnets))} for the "
                              "management network; remove labs with `lab down`, or widen LAB_SUBNET_POOL")
        out["mgmt_subnet"] = str(mgmt)
    if "vip" in fields:
        out["vip"] = default_vip(str(out.get("lan_subnet", fixed["lan_subnet"])))
    if "local_port" in fields:
        port = next((p for p in pool.ports if p not in taken_ports and port_free(p)), None)
        if port is None:
            raise ConfigError(f"no free 127.0.0.1 port left in {pool.ports.start}-{pool.ports.stop - 1}; "
                              "remove labs with `lab down`, or widen LAB_PORT_POOL")
        out["local_port"] = port
    return out
