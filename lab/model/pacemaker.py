"""The article's cluster on Pacemaker and Corosync (`lab up --stack pacemaker`), rendered
from the same LabConfig as heartbeat's files: corosync.conf and its authkey, and the
resource configuration as a crm shell script (crmsh's `crm configure load update FILE`).

How heartbeat's settings map (docs/experiment/pacemaker.md):
- deadtime -> Corosync's token: both are how long a silent peer is still believed alive;
  keepalive -> the token's retransmit interval (token / (retransmits + 0.2), Corosync's
  formula), so a token is resent about as often as heartbeat sends a heartbeat;
- the LAN and the serial network -> two knet links (ha.cf's `bcast eth0` and `serial`);
- haresources' one line -> a group in the article's order (IPaddr2, Filesystem, Apache),
  each with a monitor operation every warntime (at least Pacemaker's advised 2 s);
- haresources' node and `auto_failback on` -> a location preference for the master and no
  stickiness (the group moves back); `off` -> stickiness above the preference (it stays);
- authkeys' key -> Corosync's authkey (knet's crypto), derived from the same secret;
- --stonith ipmi -> a fence_ipmilan device per board, never run on the node it fences;
  without boards, stonith-enabled=false (lab status warns)."""

from __future__ import annotations

import hashlib
import math

from .config import BMC_USER, NODES, LabConfig, bmc_host
from .contract import SHARE_MOUNT

GROUP = "article"  # the resource group: the article's haresources line
RESOURCES = ("cluster-ip", "share", "web")  # its members, in the article's order
PREFERENCE = 100  # the master's location score
STICKY = 200  # resource-stickiness for auto_failback off: above the preference
MIN_OPERATION_S = 2  # Pacemaker truncates ms to s; its maintainers advise nothing below 2 s
COROSYNC_CONF = "/etc/corosync/corosync.conf"
COROSYNC_KEY = "/etc/corosync/authkey"
COROSYNC_LOG = "/var/log/corosync/corosync.log"
PACEMAKER_LOG = "/var/log/pacemaker/pacemaker.log"
CIB_SCRIPT = "/etc/corosync/article.crm"  # where the nodes keep the rendered crm script
AUTHKEY_BYTES = 256  # what corosync-keygen writes (2048 bits)


def token_ms(cfg: LabConfig) -> int:
    """Corosync's token timeout: heartbeat's deadtime."""
    return int(round(cfg.times.deadtime * 1000))


def token_retransmits(cfg: LabConfig) -> int:
    """token_retransmits_before_loss_const, chosen so that the token is retransmitted every
    keepalive: Corosync retransmits every token / (const + 0.2); at least its default, 4."""
    t = cfg.times
    return max(4, round(t.deadtime / t.keepalive - 0.2))


def token_retransmit_ms(cfg: LabConfig) -> float:
    return token_ms(cfg) / (token_retransmits(cfg) + 0.2)


def consensus_ms(cfg: LabConfig) -> int:
    """Corosync's default consensus: 1.2 x token (it waits this long for agreement on a new
    membership after the token is lost)."""
    return int(round(1.2 * token_ms(cfg)))


def monitor_s(cfg: LabConfig) -> int:
    """How often Pacemaker checks each resource: heartbeat's warntime (when heartbeat starts
    to worry about a late peer), at least MIN_OPERATION_S."""
    return max(MIN_OPERATION_S, math.ceil(cfg.times.warntime))


def node_id(node: str) -> int:
    return NODES.index(node) + 1


def corosync_conf(cfg: LabConfig) -> str:
    """/etc/corosync/corosync.conf: two knet links (link 0 the LAN, link 1 the serial
    network), the token from deadtime, two_node quorum, knet crypto with the lab's key."""
    nodes = "".join(
        f"    node {{\n"
        f"        name: {cfg.hb_name(n)}\n"
        f"        nodeid: {node_id(n)}\n"
        f"        ring0_addr: {cfg.lan_ip(n)}\n"
        f"        ring1_addr: {cfg.serial_ip(n)}\n"
        f"    }}\n" for n in NODES)
    t = cfg.times
    return (
        f"# /etc/corosync/corosync.conf rendered by the heartbeat lab {cfg.name!r}; identical on both nodes.\n"
        f"# heartbeat's timers, mapped: deadtime {t.deadtime:g} s -> token; keepalive {t.keepalive:g} s -> "
        f"the token's retransmit (token / (retransmits + 0.2) = {token_retransmit_ms(cfg):.0f} ms).\n"
        "totem {\n"
        "    version: 2\n"
        f"    cluster_name: {cfg.cluster}\n"
        "    transport: knet\n"
        f"    token: {token_ms(cfg)}\n"
        f"    token_retransmits_before_loss_const: {token_retransmits(cfg)}\n"
        f"    consensus: {consensus_ms(cfg)}\n"
        "    crypto_cipher: aes256\n"
        "    crypto_hash: sha256\n"
        "    # link 0: the LAN (ha.cf's bcast eth0); link 1: the serial network (ha.cf's serial)\n"
        "    interface {\n        linknumber: 0\n        knet_link_priority: 1\n    }\n"
        "    interface {\n        linknumber: 1\n        knet_link_priority: 0\n    }\n"
        "}\n\n"
        f"nodelist {{\n{nodes}}}\n\n"
        "quorum {\n"
        "    provider: corosync_votequorum\n"
        "    # two nodes: the survivor of a partition keeps quorum (and waits for both at the first start)\n"
        "    two_node: 1\n"
        "}\n\n"
        "logging {\n"
        "    to_logfile: yes\n"
        f"    logfile: {COROSYNC_LOG}\n"
        "    to_syslog: yes\n"
        "    syslog_facility: local0\n"
        "    timestamp: hires\n"
        "}\n"
    )


def corosync_authkey(cfg: LabConfig) -> bytes:
    """Corosync's shared key (what corosync-keygen writes: 256 bytes), derived from the lab's
    authkeys secret so that both nodes of a lab, and only they, share it."""
    out = b""
    i = 0
    while len(out) < AUTHKEY_BYTES:
        out += hashlib.sha512(f"{cfg.auth_key}:corosync:{i}".encode()).digest()
        i += 1
    return out[:AUTHKEY_BYTES]


def stickiness(cfg: LabConfig) -> int:
    """auto_failback on (and legacy): 0, the group follows the master's preference back;
    off: above the preference, it stays where it runs."""
    return STICKY if cfg.auto_failback == "off" else 0


def crm_script(cfg: LabConfig) -> str:
    """The cluster's configuration as crmsh commands (`crm configure load update FILE`): the
    article's haresources line as a group, the master's preference, fencing or its absence."""
    m = monitor_s(cfg)
    ip, share, web = RESOURCES
    lines = [
        f"# the article's haresources line on Pacemaker, rendered by the heartbeat lab {cfg.name!r}",
        f"# monitors every {m} s (heartbeat's warntime); load with: crm configure load update {CIB_SCRIPT}",
        f"primitive {ip} ocf:heartbeat:IPaddr2 \\",
        f"    params ip={cfg.vip} cidr_netmask={cfg.prefixlen} nic=eth0 \\",
        f"    op monitor interval={m}s timeout=20s",
        f"primitive {share} ocf:heartbeat:Filesystem \\",
        f"    params device=\"{cfg.share_source}\" directory=\"{SHARE_MOUNT}\" fstype=\"{cfg.share_fstype}\" "
        "options=\"rw,hard\" \\",
        "    op start timeout=60s op stop timeout=60s \\",
        f"    op monitor interval={m}s timeout=40s",
        f"primitive {web} ocf:heartbeat:apache \\",
        "    params configfile=/etc/apache2/apache2.conf statusurl=\"http://localhost/server-status\" \\",
        "    op start timeout=40s op stop timeout=60s \\",
        f"    op monitor interval={m}s timeout=20s",
        f"group {GROUP} {ip} {share} {web}",
        f"location {GROUP}-prefers-{cfg.master} {GROUP} {PREFERENCE}: {cfg.hb_name(cfg.master)}",
    ]
    if cfg.has_boards:
        for n in NODES:
            dev = f"fence-{n}"
            lines += [
                f"primitive {dev} stonith:fence_ipmilan \\",
                f"    params ip={cfg.mgmt_ip(bmc_host(n))} username={BMC_USER} password={cfg.bmc_password} "
                f"lanplus=0 pcmk_host_list={cfg.hb_name(n)} \\",
                "    op monitor interval=60s",
                f"location {dev}-not-on-{n} {dev} -inf: {cfg.hb_name(n)}",
            ]
    lines += [
        f"rsc_defaults rsc-options: resource-stickiness={stickiness(cfg)}",
        "property cib-bootstrap-options: \\",
        f"    stonith-enabled={'true' if cfg.has_boards else 'false'} \\",
        f"    cluster-name={cfg.cluster}",
    ]
    return "\n".join(lines) + "\n"
