"""haresources of `lab up --from DIR`: its resource groups read as heartbeat reads them, each
resource checked against the node image's scripts and the lab, and the group placed on the
lab's addresses (the VIP, the share)."""

from __future__ import annotations

import ipaddress

from . import hacf
from .config import NFS_SERVER, NODES, SHARE_EXPORT, LabConfig
from .contract import SHARE_MOUNT
from .custom_base import IMAGE_INIT_SCRIPTS, IMAGE_RESOURCE_SCRIPTS, IP_AGENTS, SCRIPT_ALIASES, WEB_SERVERS, Custom, Note


# ---- haresources ------------------------------------------------------------------------------------
def _haresources(text: str, names: tuple[str, ...], scripts: set[str], cfg: LabConfig,
                 problems: list[Note], out: Custom) -> None:
    groups = hacf.resource_groups(text)
    if not groups:
        problems.append(Note("haresources", None, "no resource group: expected a line `NODE RESOURCE...`"))
        return
    vip_group = None
    rewritten: list[tuple[int, list[str]]] = []  # (first line, the group as the lab runs it)
    for number, words in groups:
        node, resources = words[0], words[1:]
        if node not in names:
            problems.append(Note("haresources", number, f"node {node}: not a node of ha.cf ({' or '.join(names)}); "
                                 "a group's first word is the node that owns it by preference"))
        if not resources:
            problems.append(Note("haresources", number, f"{node}: a group with no resource"))
        new_words = [node]
        for word in resources:
            new_words.append(_resource(word, number, scripts, cfg, problems, out))
        ips = [w for w in new_words[1:] if _ip_of(w)]
        if ips and vip_group is None:
            vip_group = (number, node, new_words)
        if new_words != words:
            rewritten.append((number, new_words))
    if vip_group is None:
        problems.append(Note("haresources", groups[0][0], "no group takes an IP address: the lab's clients reach "
                             "the cluster at its floating address (IPaddr2::ADDRESS/PREFIX/eth0)"))
        return
    number, node, words = vip_group
    if not any(w.split("::")[0] in WEB_SERVERS for w in words[1:]):
        problems.append(Note("haresources", number, "the group with the cluster's address starts no web server: "
                             "the lab tells who serves by asking for hostname.html there; add apache2 (or httpd)"))
    vip = _ip_of(next(w for w in words[1:] if _ip_of(w)))
    out.changes["vip"] = vip
    if node in names:
        role = NODES[names.index(node)]
        out.changes["master"] = role
    adapted = text.splitlines()
    for number, new_words in reversed(rewritten):  # from the bottom: the line numbers above stay true
        adapted = _replace_group(adapted, number, new_words)
    out.files["haresources"] = ("\n".join(adapted).rstrip("\n").encode() + b"\n", 0o644)


def _placed(cfg: LabConfig, text: str, out: Custom) -> LabConfig:
    """The lab's LAN around haresources' first address, when it is outside the default one."""
    ip = next((_ip_of(w) for _, words in hacf.resource_groups(text) for w in words[1:] if _ip_of(w)), None)
    if ip is None or not _is_ip(ip) or ipaddress.IPv4Address(ip) in cfg.lan:
        return cfg
    lan = ipaddress.ip_network(f"{ip}/24", strict=False)
    serial = ipaddress.ip_network((int(lan.network_address) + 256, 24))
    out.changes.update(lan_subnet=str(lan), serial_subnet=str(serial))
    return cfg.with_(lan_subnet=str(lan), serial_subnet=str(serial), vip=ip)


def _ip_of(word: str) -> str | None:
    agent, _, rest = word.partition("::")
    if agent in IP_AGENTS:
        return rest.split("/")[0].split("::")[0]
    with_prefix = word.split("/")[0]
    try:
        ipaddress.IPv4Address(with_prefix)
        return with_prefix
    except ValueError:
        return None


def _resource(word: str, number: int, scripts: set[str], cfg: LabConfig, problems: list[Note],
              out: Custom) -> str:
    """Check one resource of a haresources group; return it as the lab runs it."""
    agent, _, args = word.partition("::")
    ip = _ip_of(word)
    if ip is not None:  # a bare address (IPaddr's shorthand) or IPaddr(2)::ADDRESS[/PREFIX[/IFACE]]
        if not _is_ip(ip):
            problems.append(Note("haresources", number, f"{word}: {ip!r} is not an IPv4 address"))
            return word
        lan, addr = cfg.lan, ipaddress.IPv4Address(ip)
        what = "" if word == ip else f"{word}: "  # the resource, when it is more than its address
        if addr not in lan and ip == cfg.site_vip:  # moved to a LAN of the lab's own (the plugin's labs)
            new = f"IPaddr2::{cfg.vip}/{lan.prefixlen}/eth0"
            out.differences.append(Note("haresources", number, f"{word} -> {new}: this lab's own address "
                                        f"({ip}'s LAN was taken by another lab on the engine)"))
            return new
        if addr not in lan:
            problems.append(Note("haresources", number, f"{what}{ip} is outside the lab's LAN {lan} (--subnet); "
                                 "leave --subnet out (the lab then takes the /24 around the address) or change "
                                 "the address"))
            return word
        if addr in cfg.lan_dynamic_range or addr == lan.broadcast_address:
            problems.append(Note("haresources", number, f"{what}{ip} is in the lower half of the LAN {lan}, where "
                                 "docker places containers (or is its broadcast address); pick one from "
                                 f"{lan.network_address + lan.num_addresses // 2} up"))
            return word
        new = f"IPaddr2::{ip}/{lan.prefixlen}/eth0"
        if new != word:
            out.differences.append(Note("haresources", number, f"{word} -> {new}: IPaddr2 on the lab's LAN, "
                                        f"eth0, /{lan.prefixlen}"))
        return new
    if agent == "Filesystem":
        fields = args.split("::")
        if len(fields) < 2:
            problems.append(Note("haresources", number, f"{word}: expected Filesystem::DEVICE::MOUNTPOINT[::FSTYPE"
                                 "[::OPTIONS]]"))
            return word
        device, mount = fields[0], fields[1]
        fstype = fields[2] if len(fields) > 2 else ""
        opts = fields[3] if len(fields) > 3 else "rw,hard"
        host, sep, export = device.partition(":")
        if not sep or export != SHARE_EXPORT or fstype not in ("nfs", "nfs4", ""):
            problems.append(Note("haresources", number, f"{word}: the lab's one shared disk is {NFS_SERVER}:"
                                 f"{SHARE_EXPORT} over NFS; write Filesystem::{NFS_SERVER}:{SHARE_EXPORT}::"
                                 f"{SHARE_MOUNT}::nfs::rw,hard"))
            return word
        if mount != SHARE_MOUNT:
            problems.append(Note("haresources", number, f"{word}: mount point {mount}: the lab serves its pages "
                                 f"from {SHARE_MOUNT}/www/html; mount the share at {SHARE_MOUNT}"))
            return word
        new = f"Filesystem::{cfg.share_source}::{SHARE_MOUNT}::{cfg.share_fstype}::{opts}"
        if new != word:
            why = []
            if host != NFS_SERVER:
                why.append(f"the NFS server is {NFS_SERVER}")
            if cfg.share_fstype != fstype:
                why.append(f"this kernel's NFS client is the lab's {cfg.share_fstype}"
                           if cfg.share_fstype != "nfs" else "nfs")
            out.differences.append(Note("haresources", number, f"{word} -> {new}" + (f": {'; '.join(why)}" if why
                                                                                        else "")))
        return new
    name = SCRIPT_ALIASES.get(agent, agent)
    if name != agent and agent not in scripts:
        out.differences.append(Note("haresources", number, f"{agent} -> {name}: Debian's name of the script"))
    if name not in scripts and name not in IMAGE_RESOURCE_SCRIPTS and name not in IMAGE_INIT_SCRIPTS:
        problems.append(Note("haresources", number, f"{agent}: no such resource script: not in the directory's "
                             "resource.d/, nor among the nodes' /etc/ha.d/resource.d and /etc/init.d scripts "
                             f"({', '.join(sorted(IMAGE_RESOURCE_SCRIPTS | IMAGE_INIT_SCRIPTS))}); add "
                             f"resource.d/{agent} (executable)"))
    return name + (f"::{args}" if args else "")


def _is_ip(text: str) -> bool:
    try:
        ipaddress.IPv4Address(text)
        return True
    except ValueError:
        return False


def _replace_group(lines: list[str], number: int, new: list[str]) -> list[str]:
    """haresources with the group starting at line `number` rewritten on one line (its old
    text kept as a comment)."""
    out = list(lines)
    end = number - 1
    while out[end].split("#", 1)[0].rstrip().endswith("\\"):
        end += 1
    old_text = [f"# lab: was `{ln}`" for ln in out[number - 1:end + 1]]
    out[number - 1:end + 1] = [*old_text, " ".join(new)]
    return out
