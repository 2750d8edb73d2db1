"""The nodes' management boards (`lab up --stonith ipmi`): an IPMI BMC per node, emulated by
OpenIPMI's ipmi_sim on the management network, powering its node's container off, on or
through a reset (images/bmc). Everything here asks the boards over IPMI, from ha3, the way
an operator would: `ipmitool -I lanplus -C 3 -H bmc-ha2 -U admin -P ... chassis power status`."""

from __future__ import annotations

import shlex
import time
from datetime import datetime

from ..engine.handle import LabHandle, Result
from ..errors import LabError
from ..model.config import BMC_USER, CLIENT, NODES, bmc_host, check_node
from ..model.contract import BMC_LOG
from ..waiting import wait_until

# ipmitool 1.8.19 asks for cipher suite 17 by default, which ipmi_sim does not offer: suite 3
# (RAKP-HMAC-SHA1, AES-CBC-128) is the strongest it answers
IPMI_LANPLUS = ("-I", "lanplus", "-C", "3")
BOARD_START_WAIT = 20.0  # ipmi_sim answers about 0.3 s after its container starts
ACTION_STALE = 30.0  # a power action takes about a second (kill, start); one this old crashed


def ipmitool_argv(lab: LabHandle, node: str, *command: str) -> list[str]:
    """The ipmitool command line that sends `command` to the board of `node`."""
    return ["ipmitool", *IPMI_LANPLUS, "-H", bmc_host(node), "-U", BMC_USER, "-P", lab.cfg.bmc_password, *command]


def ipmitool(lab: LabHandle, node: str, *command: str, via: str = CLIENT, timeout: float = 15) -> Result:
    """Send an IPMI command to the board of `node` from the host `via` (ha3 by default)."""
    _need_boards(lab)
    check_node(node, NODES)
    return lab.run(via, ipmitool_argv(lab, node, *command), timeout=timeout)


def power_state(lab: LabHandle, node: str) -> str:
    """What the node's board says of its power: "on", "off", or why it did not answer."""
    res = ipmitool(lab, node, "chassis", "power", "status", timeout=10)
    return parse_power(res.code, res.output)


def parse_power(code: int, output: str) -> str:
    """ipmitool's `chassis power status`: "on", "off", or why it did not answer."""
    out = output.strip()
    if code == 0 and out.startswith("Chassis Power is "):
        return out.removeprefix("Chassis Power is ")
    return f"no answer ({out.splitlines()[-1] if out else f'exit {code}'})"


def power_states(lab: LabHandle) -> dict[str, str]:
    return {node: power_state(lab, node) for node in NODES} if lab.cfg.has_boards else {}


def wait_answering(lab: LabHandle, node: str) -> None:
    """The board of `node` answers IPMI (and says the node's power is on)."""
    wait_until(f"the board of {node} ({bmc_host(node)}) to answer IPMI",
               lambda: ((s := power_state(lab, node)) == "on", s), timeout=BOARD_START_WAIT, interval=0.3)


def chassis(lab: LabHandle, node: str, *args: str) -> Result:
    """Run a board's chassis_control program by hand, inside the board (what ipmi_sim runs)."""
    _need_boards(lab)
    board = bmc_host(node)
    return lab.run(board, ["sh", "-c", "chassis " + " ".join(shlex.quote(a) for a in args) + " 2>&1"], timeout=30)


def board_log(lab: LabHandle, node: str) -> str:
    """The board's log of power actions (read from its container, also when it is stopped)."""
    _need_boards(lab)
    return lab.read_file(bmc_host(node), BMC_LOG).decode(errors="replace")


def action_in_flight(lab: LabHandle, node: str) -> str | None:
    """The board's last power action if it has not logged its end ("done: ..."), else None."""
    _need_boards(lab)
    return unfinished_action(board_log(lab, node), time.time())


def unfinished_action(log: str, now: float) -> str | None:
    """The last power action in a board's log (images/bmc/chassis logs the action, acts
    on the node's container, then logs "done: ...") if it has not ended; an action older
    than ACTION_STALE crashed and is not in flight."""
    actions = [ln for ln in log.splitlines() if " refused:" not in ln and ln.strip()]
    if not actions or " done: " in actions[-1]:
        return None
    stamp, _, what = actions[-1].partition(" ")
    try:
        age = now - datetime.fromisoformat(stamp).timestamp()
    except ValueError:
        return None
    return what if age < ACTION_STALE else None


def _need_boards(lab: LabHandle) -> None:
    if not lab.cfg.has_boards:
        raise LabError(f"lab {lab.cfg.name!r} has no management boards: start it with `lab up --stonith ipmi`")
