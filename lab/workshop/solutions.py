"""The lab's reference solution of each article step: shell scripts run on the hosts (the
article's commands, taking the files `lab up` rendered into /lab/etc), and for the steps
that are a procedure rather than files (starting the cluster, the failover test), the
lab's own Python. The scripts are idempotent (run twice, they leave the same state);
`lab solve` skips a step whose checks already pass, so the procedures are not repeated.

The scripts are also written into the rendered tree (/lab/solve/NN-step.sh) so that a
compose project, which has no lab to run the steps, configures itself at boot."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .. import heartbeat
from ..engine.handle import LabHandle
from ..model.config import NFS_SERVER, NODES, LabConfig
from ..model.contract import (AUTHKEYS_FILE, HA_CF_FILE, HARESOURCES_FILE, LAB_DIR, LAB_ETC, RESOURCE_D,
                              SHARE_MOUNT)
from ..observe.state import heartbeat_running, wait_serving
from ..roles.node import autostart_argv

Scripts = tuple[tuple[str, str], ...]  # (host, sh script), run in this order


@dataclass(frozen=True)
class Solution:
    scripts: Callable[[LabConfig], Scripts] = lambda cfg: ()
    act: Callable[[LabHandle], None] | None = None  # after the scripts

    def run(self, lab: LabHandle) -> None:
        for host, script in self.scripts(lab.cfg):
            lab.sh(host, script, timeout=60, check=True)
        if self.act:
            self.act(lab)


def _nodes(script: str) -> Scripts:
    return tuple((n, script) for n in NODES)


# ---- the steps' scripts ---------------------------------------------------------------------------
def _serial_test(lab: LabHandle) -> None:
    """The article's cat/echo test both ways; heartbeat reads the port, so only while it is stopped."""
    if not any(heartbeat_running(lab, n) for n in NODES):
        for sender, receiver in ((NODES[1], NODES[0]), (NODES[0], NODES[1])):
            heartbeat.serial_test(lab, sender, receiver)


SERIAL_CABLE = Solution(act=_serial_test)

NFS_EXPORT = Solution(lambda cfg: ((NFS_SERVER, f"""\
mkdir -p {SHARE_MOUNT}
install -m 644 {LAB_ETC}/exports /etc/exports
exportfs -ra
"""),))

FSTAB = Solution(lambda cfg: _nodes(f"""\
grep -Eq '^[^#[:space:]]+[[:space:]]+{SHARE_MOUNT}[[:space:]]' /etc/fstab || cat {LAB_ETC}/fstab >> /etc/fstab
"""))

# on nfsha, where the share is the same /ha: the same result as unpacking it over NFS
SAMPLE_PAGES = Solution(lambda cfg: ((NFS_SERVER, f"""\
cd {SHARE_MOUNT}
[ -e hahbcode.tar.gz ] || cp {LAB_DIR}/download/hahbcode.tar.gz .
tar -xzf hahbcode.tar.gz
"""),))

APACHE_LAYOUT = Solution(lambda cfg: (
    (NFS_SERVER, f"""\
mkdir -p {SHARE_MOUNT}/www/html
chmod 775 {SHARE_MOUNT}/www {SHARE_MOUNT}/www/html
install -m 644 {LAB_ETC}/index.html {SHARE_MOUNT}/www/html/index.html
ln -sfn /var/www/htmllocal/hostname.html {SHARE_MOUNT}/www/html/hostname.html
if [ -d {LAB_ETC}/www ]; then cp -R {LAB_ETC}/www/. {SHARE_MOUNT}/www/html/; fi
"""),
    *_nodes(f"""\
if [ ! -L /var/www/html ]; then
    if [ -e /var/www/htmllocal ]; then rm -rf /var/www/html; else mv /var/www/html /var/www/htmllocal; fi
fi
ln -sfn {SHARE_MOUNT}/www/html /var/www/html
install -m 644 {LAB_ETC}/hostname.html /var/www/htmllocal/hostname.html
""")))

AUTHKEYS = Solution(lambda cfg: _nodes(f"install -m 600 {LAB_ETC}/authkeys {AUTHKEYS_FILE}\n"))
HA_CF = Solution(lambda cfg: _nodes(f"install -m 644 {LAB_ETC}/ha.cf {HA_CF_FILE}\n"))
# with the resource scripts of a `lab up --from` directory, if it has any
HARESOURCES = Solution(lambda cfg: _nodes(f"""\
install -m 644 {LAB_ETC}/haresources {HARESOURCES_FILE}
if [ -d {LAB_ETC}/resource.d ]; then install -m 755 {LAB_ETC}/resource.d/* {RESOURCE_D}/; fi
"""))


def _start_cluster(lab: LabHandle) -> None:
    """heartbeat on the master, then the backup (stopped first where it runs, so the order is
    the article's); from then on it starts at boot, like an enabled service."""
    for node in (lab.cfg.backup, lab.cfg.master):
        if heartbeat_running(lab, node):
            heartbeat.stop_heartbeat(lab, node)
    heartbeat.start_cluster(lab)
    for node in NODES:
        lab.run(node, autostart_argv(), check=True)


START_CLUSTER = Solution(act=_start_cluster)
BROWSER_TEST = Solution(act=lambda lab: wait_serving(lab, lab.cfg.master, timeout=lab.cfg.failover_wait))


def _failover_test(lab: LabHandle) -> None:
    """The article's test: stop heartbeat on the master, the backup serves; start it again,
    the master takes everything back (auto_failback on)."""
    cfg = lab.cfg
    heartbeat.stop_heartbeat(lab, cfg.master)
    wait_serving(lab, cfg.backup, timeout=cfg.failover_wait)
    heartbeat.start_heartbeat(lab, cfg.master)
    wait_serving(lab, cfg.master, timeout=cfg.start_wait)


FAILOVER_TEST = Solution(act=_failover_test)


def write_scripts(cfg: LabConfig, solutions: list[tuple[str, Solution]], rendered: dict[str, Path]) -> None:
    """Each host's scripts, in the steps' order, as /lab/solve/NN-step.sh of its tree."""
    for number, (step_id, solution) in enumerate(solutions, 1):
        for host, script in solution.scripts(cfg):
            path = rendered[host] / "solve" / f"{number:02d}-{step_id}.sh"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"# the lab's reference solution of the step {step_id!r}\n{script}")
