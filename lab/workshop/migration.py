"""The migration exercise (`lab exercise migrate-to-pacemaker`): on a finished heartbeat lab,
the trainee stops heartbeat and builds the same cluster on Pacemaker and Corosync from the
article's three files: ha.cf becomes corosync.conf, authkeys becomes Corosync's authkey,
haresources becomes a resource group typed with crmsh. The checks read what the trainee
made (the files, Corosync's links, the CIB as `cibadmin --query` prints it, the pages) and
end with the article's failover test on the new stack. The pure readers of corosync.conf
and of the CIB are apart from the probes, so that unit tests feed them recorded text."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from .. import heartbeat, pacemaker, scenario
from ..engine.handle import LabHandle
from ..errors import ConfigError
from ..model.config import NODES, LabConfig
from ..model.contract import AUTOSTART_MARK, HEARTBEAT_PROCESS, SHARE_MOUNT
from ..model.pacemaker import COROSYNC_CONF, COROSYNC_KEY, GROUP, PREFERENCE, RESOURCES
from ..model.render import hostname_text
from ..observe.state import heartbeat_running, who_serves
from ..roles import host
from ..roles.host import Host
from .checks import Check, Probe, each_node, file_matches, file_mode, page, process, same_file
from .solutions import Solution
from .steps import Exercise

AGENTS = ("ocf:heartbeat:IPaddr2", "ocf:heartbeat:Filesystem", "ocf:heartbeat:apache")  # haresources' order
CIB_QUERY = ["cibadmin", "--query"]
LINKS_QUERY = ["corosync-cmapctl", "-m", "stats", "stats.knet."]
CIB_DIR = "/var/lib/pacemaker/cib"  # where Pacemaker keeps the CIB between starts
_LINK = re.compile(r"^stats\.knet\.node(\d+)\.link(\d+)\.connected \(u8\) = (\d+)", re.M)


# ---- what the trainee wrote, read without the lab ------------------------------------------------
def _blocks(text: str, name: str) -> list[str]:
    """The bodies of `name { ... }` blocks with no block inside (corosync.conf's node, quorum)."""
    return re.findall(rf"(?m)^\s*{name}\s*\{{([^{{}}]*)\}}", text)


def _value(body: str, key: str) -> str | None:
    m = re.search(rf"(?m)^\s*{key}\s*:\s*(\S+)", body)
    return m.group(1) if m else None


def corosync_conf_problems(text: str, cfg: LabConfig) -> list[str]:
    """What corosync.conf lacks to be the article's ha.cf on Corosync: both nodes by name, each
    with link 0 on the LAN and link 1 on the serial network (the article's two paths), two_node
    quorum, a token no slower than heartbeat's deadtime."""
    text = re.sub(r"#.*", "", text)
    problems = []
    nodes = {_value(b, "name"): b for b in _blocks(text, "node")}
    for n in NODES:
        name = cfg.hb_name(n)
        if name not in nodes:
            problems.append(f"no node block with `name: {name}` in the nodelist")
            continue
        for key, want, what in (("ring0_addr", cfg.lan_ip(n), "the LAN"),
                                ("ring1_addr", cfg.serial_ip(n), "the serial network")):
            got = _value(nodes[name], key)
            if got != want:
                problems.append(f"node {name}: {key} is {got or 'missing'}, expected {want} ({what})")
        if _value(nodes[name], "nodeid") is None:
            problems.append(f"node {name}: no nodeid")
    if not any(_value(b, "two_node") == "1" for b in _blocks(text, "quorum")):
        problems.append("no `two_node: 1` in the quorum block (a two-node cluster keeps quorum with one node)")
    token = _value(text, "token")
    deadtime_ms = round(cfg.times.deadtime * 1000)
    if token is None or not token.isdigit():
        problems.append(f"no `token:` in totem (heartbeat's deadtime {cfg.times.deadtime:g} s is token: "
                        f"{deadtime_ms})")
    elif int(token) > deadtime_ms:
        problems.append(f"token {token} ms is slower than heartbeat's deadtime ({deadtime_ms} ms)")
    return problems


def _nvpairs(element: ET.Element | None) -> dict[str, str]:
    if element is None:
        return {}
    return {nv.get("name", ""): nv.get("value", "") for nv in element.iter("nvpair")}


def _agent(primitive: ET.Element) -> str:
    return ":".join(filter(None, (primitive.get("class"), primitive.get("provider"), primitive.get("type"))))


def cib_problems(cib_xml: str, cfg: LabConfig) -> list[str]:
    """What the CIB lacks to be the article's haresources line: the group `article` of the
    VIP, the share and Apache in that order, each with a monitor; the master preferred above
    the stickiness (auto_failback on); fencing off, or a fence device per board."""
    try:
        cib = ET.fromstring(cib_xml)
    except ET.ParseError as exc:
        return [f"the CIB is not XML ({exc})"]
    config = cib.find("configuration")
    if config is None:
        return ["the CIB has no configuration"]
    problems = []
    group = config.find(f"resources/group[@id='{GROUP}']")
    members = [] if group is None else list(group.findall("primitive"))
    agents = [_agent(p) for p in members]
    if group is None:
        problems.append(f"no resource group {GROUP!r} (crm configure group {GROUP} {' '.join(RESOURCES)})")
    elif agents != list(AGENTS):
        problems.append(f"group {GROUP!r} holds {', '.join(agents) or 'nothing'}; expected {', '.join(AGENTS)}, "
                        "in haresources' order")
    by_agent = {_agent(p): p for p in members}
    ip = _nvpairs(by_agent[AGENTS[0]].find("instance_attributes")) if AGENTS[0] in by_agent else {}
    if AGENTS[0] in by_agent and ip.get("ip") != cfg.vip:
        problems.append(f"IPaddr2's ip is {ip.get('ip') or 'missing'}, expected the cluster address {cfg.vip}")
    if AGENTS[1] in by_agent:
        fs = _nvpairs(by_agent[AGENTS[1]].find("instance_attributes"))
        want = {"device": cfg.share_source, "directory": SHARE_MOUNT, "fstype": cfg.share_fstype}
        problems += [f"Filesystem's {k} is {fs.get(k) or 'missing'}, expected {v}" for k, v in want.items()
                     if fs.get(k) != v]
        if not {"rw", "hard"} <= set(fs.get("options", "").split(",")):
            problems.append(f"Filesystem's options are {fs.get('options') or 'missing'}, expected rw,hard "
                            "(the article's mount)")
    problems += [f"{p.get('id')} ({_agent(p)}) has no monitor operation: Pacemaker would not notice it fail"
                 for p in members if not any(op.get("name") == "monitor" for op in p.iter("op"))]
    master = cfg.hb_name(cfg.master)
    scores = [c.get("score", "") for c in config.iter("rsc_location")
              if c.get("rsc") == GROUP and c.get("node") == master]
    score = max((_score(s) for s in scores), default=None)
    sticky = max((_score(nv.get("value", "0")) for d in config.iter("rsc_defaults") for nv in d.iter("nvpair")
                  if nv.get("name") == "resource-stickiness"), default=0)
    if score is None or score <= 0:
        problems.append(f"no location constraint preferring {master} for {GROUP!r} (e.g. location "
                        f"{GROUP}-prefers-{master} {GROUP} {PREFERENCE}: {master})")
    elif sticky >= score:
        problems.append(f"resource-stickiness {sticky} is not below {master}'s preference {score}: the group would "
                        "stay on the backup (auto_failback off, where the article has on)")
    stonith = _nvpairs(config.find("crm_config")).get("stonith-enabled", "true").lower()
    devices = [p for p in config.iter("primitive") if p.get("class") == "stonith"]
    if cfg.has_boards and len(devices) < len(NODES):
        problems.append(f"{len(devices)} fence device(s): this lab has a board per node, expected one "
                        "stonith:fence_ipmilan per node")
    if not cfg.has_boards and stonith not in ("false", "no", "0", "off"):
        problems.append("stonith-enabled is not false and this lab has no fencing boards: Pacemaker will start "
                        "nothing (crm configure property stonith-enabled=false)")
    return problems


def _score(text: str) -> float:
    t = text.strip().upper().lstrip("+")
    if t in ("INFINITY", "INF"):
        return float("inf")
    if t in ("-INFINITY", "-INF"):
        return float("-inf")
    try:
        return float(t)
    except ValueError:
        return 0.0


def links_seen(cmap: str, local: int) -> dict[int, bool]:
    """Corosync's knet links to the other node, from `corosync-cmapctl -m stats stats.knet.`:
    link number -> connected."""
    return {int(link): state == "1" for node, link, state in _LINK.findall(cmap) if int(node) != local}


# ---- probes on the lab ------------------------------------------------------------------------------
def corosync_conf(node: str) -> Probe:
    def probe(lab: LabHandle) -> tuple[bool, str]:
        code, text = Host(lab, node).ask(host.read_argv(COROSYNC_CONF))
        if code:
            return False, f"{COROSYNC_CONF} does not exist on {node}"
        problems = corosync_conf_problems(text, lab.cfg)
        return not problems, "; ".join(problems) or f"{COROSYNC_CONF} on {node} names both nodes and both links"
    return probe


def both_links(lab: LabHandle) -> tuple[bool, str]:
    node = lab.cfg.master
    res = lab.run(node, LINKS_QUERY, timeout=10)
    links = links_seen(res.output, NODES.index(node) + 1) if res.ok else {}
    seen = ", ".join(f"link {k} {'connected' if v else 'down'}" for k, v in sorted(links.items()))
    return set(links) >= {0, 1} and all(links.values()), f"{node} sees its peer over: {seen or 'no link'}"


def cib(lab: LabHandle) -> tuple[bool, str]:
    res = lab.run(lab.cfg.master, CIB_QUERY, timeout=20)
    if not res.ok:
        return False, f"cibadmin --query failed on {lab.cfg.master}: {res.output.strip()[:200]}"
    problems = cib_problems(res.output, lab.cfg)
    return not problems, "; ".join(problems) or f"group {GROUP!r}: {', '.join(AGENTS)}, the master preferred"


def failover_test(lab: LabHandle) -> tuple[bool, str]:
    """The article's test on the new stack (the graceful-stop scenario: the stack stopped on
    the master, the backup serves; started again, the master takes everything back)."""
    result = scenario.run(lab, "graceful-stop")
    found = scenario.problems(result)
    outages = ", ".join(f"{s['label']}: {s['outage_s']} s" for s in result["steps"])
    return not found, "; ".join(found) or f"the backup served, then the master again (outages {outages})"


# ---- what the lab does: set-up and the reference solution ------------------------------------------
def adopt(lab: LabHandle) -> None:
    """From now on the lab's commands (status, heal, scenarios, logs) read the cluster as
    Pacemaker's: the lab's configuration says so. Refused on a lab whose article is not done."""
    cfg = lab.cfg
    if cfg.stack == "pacemaker":
        return
    if cfg.stonith == "meatware":
        raise ConfigError(f"lab {cfg.name!r} fences with meatware, which Pacemaker has not; migrate a lab "
                          "with --stonith none or ipmi")
    if heartbeat_running(lab, cfg.master) and who_serves(lab) != cfg.master:
        raise ConfigError(f"lab {cfg.name!r}: the article's cluster is not serving from {cfg.master}: finish the "
                          "article first (`lab check`), or `lab heal`")
    lab.record_config(cfg.with_(stack="pacemaker", stage="failover", source=None))


def _solve(lab: LabHandle) -> None:
    """heartbeat stopped (backup first); whatever the trainee began of Pacemaker stopped and
    its CIB removed, as on a fresh install; the lab's rendered Corosync and crm files
    installed, both stacks started, the group loaded, the stack started at boot."""
    adopt(lab)
    for node in (lab.cfg.backup, lab.cfg.master):
        heartbeat.stop_heartbeat(lab, node)
    for node in (lab.cfg.backup, lab.cfg.master):
        pacemaker.stop_stack(lab, node)
    for node in NODES:
        lab.sh(node, f"rm -f {CIB_DIR}/cib*", check=True)
    pacemaker.start_cluster(lab)


TODO = (
    "Move the finished cluster from heartbeat to Pacemaker on Corosync, keeping what the article's three "
    "files mean. (1) Stop heartbeat on both nodes, {backup} first (/etc/init.d/heartbeat stop). "
    "(2) ha.cf becomes /etc/corosync/corosync.conf, the same on both nodes: a totem block (cluster_name "
    "{cluster}, transport knet, token: heartbeat's deadtime in ms), a nodelist with one node block per node "
    "(name, nodeid 1 and 2, ring0_addr its LAN address, ring1_addr its address on the serial network: "
    "the article's second path; `ip -4 addr` shows both), a quorum block (provider corosync_votequorum, "
    "two_node: 1). (3) authkeys becomes /etc/corosync/authkey: corosync-keygen on {master}, then the same "
    "bytes on {backup}, mode 0400 (base64 -w0 /etc/corosync/authkey on one node, echo ... | base64 -d > "
    "/etc/corosync/authkey on the other). (4) /etc/init.d/corosync start, then /etc/init.d/pacemaker start, "
    "on both nodes; crm_mon -1 shows both online. (5) haresources becomes a group, typed on {master} in "
    "crm configure: primitives cluster-ip (ocf:heartbeat:IPaddr2 ip={vip} cidr_netmask=... nic=eth0), share "
    "(ocf:heartbeat:Filesystem device=nfsha:/ha directory=/ha fstype={fstype} options=rw,hard) and web "
    "(ocf:heartbeat:apache configfile=/etc/apache2/apache2.conf statusurl=http://localhost/server-status), "
    "each with op monitor interval=...; group article cluster-ip share web; location article-prefers-{master} "
    "article 100: {master} (auto_failback on); fencing: property stonith-enabled=false on a lab without "
    "boards, else a stonith:fence_ipmilan device per board (ip, username, password from ha.cf's stonith_host "
    "lines, lanplus=0, pcmk_host_list the node it fences, and a -inf location on that node); commit. "
    "(6) Start the stack at boot: echo pacemaker > " + AUTOSTART_MARK + " on both nodes (the lab's "
    "stand-in for enabling the corosync and pacemaker services: the nodes have no systemd). The lab's own "
    "rendering of the three files is in /lab/etc (corosync.conf, authkey, article.crm), to compare with "
    "afterwards. `lab check migrate-to-pacemaker` ends with the article's failover test on the new stack."
)

MIGRATE = Exercise(
    "migrate-to-pacemaker", "Move the cluster to Pacemaker and Corosync",
    "Beyond the article: the stack that followed heartbeat (ClusterLabs' Clusters from Scratch)", TODO,
    lambda cfg: (
        *each_node(lambda n: Check(f"heartbeat-stopped-{n}", f"heartbeat does not run on {n}",
                               process(n, HEARTBEAT_PROCESS, running=False, label="heartbeat", full=True),
                               f"/etc/init.d/heartbeat stop on {n} ({cfg.backup} first)")),
        *each_node(lambda n: Check(f"corosync-conf-{n}", f"{COROSYNC_CONF} on {n} is ha.cf on Corosync",
                               corosync_conf(n), "both nodes by name, ring0_addr on the LAN and ring1_addr on the "
                               "serial network, quorum two_node: 1, token no slower than heartbeat's deadtime")),
        Check("corosync-conf-same", f"{COROSYNC_CONF} is the same on both nodes", same_file(COROSYNC_CONF),
              "copy it to the other node"),
        *each_node(lambda n: Check(f"authkey-mode-{n}", f"{COROSYNC_KEY} on {n} is mode 0400",
                               file_mode(n, COROSYNC_KEY, 0o400), "corosync-keygen writes it; chmod 400")),
        Check("authkey-same", f"{COROSYNC_KEY} is the same on both nodes", same_file(COROSYNC_KEY),
              "the same bytes on both: base64 -w0 on one node, base64 -d on the other"),
        Check("members", "Corosync and Pacemaker run on both nodes, both online, with quorum", pacemaker.members,
              "/etc/init.d/corosync start && /etc/init.d/pacemaker start on both; read "
              "/var/log/corosync/corosync.log", wait=cfg.start_wait),
        Check("both-links", "Corosync carries the cluster over both links (LAN and serial network)", both_links,
              "corosync-cfgtool -n on the master; ring1_addr must be the peer's serial-network address",
              wait=cfg.failover_wait),
        Check("group", "the CIB holds the article's group, the master preferred", cib,
              "crm configure show; fix with crm configure edit (or delete and type again)"),
        *each_node(lambda n: Check(f"autostart-{n}", f"the stack starts at boot on {n}",
                               file_matches(n, AUTOSTART_MARK, r"^pacemaker\s*$"),
                               f"echo pacemaker > {AUTOSTART_MARK} on {n}")),
        Check("served", f"{cfg.master} serves the article's pages on the new stack",
              page("hostname.html", lambda lab: hostname_text(lab.cfg, lab.cfg.master)),
              "crm_mon -1rf: which resource failed, and why (crm resource cleanup article after the fix)",
              wait=cfg.start_wait),
        Check("failover-test", "the article's failover test on Pacemaker: the backup takes over, the master "
              "takes back (measured)", failover_test,
              "crm_mon -1rf and /var/log/pacemaker/pacemaker.log on both nodes", breaks=True),
    ),
    Solution(act=_solve),
    setup=adopt,
)
