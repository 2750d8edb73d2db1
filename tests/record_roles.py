#!/usr/bin/env python3
"""Record what the roles' commands print on a running lab, into tests/unit/data/roles/, for
the roles' unit tests (tests/unit/test_roles.py). Run on a lab at rest with ha1 serving,
started with `lab up --name rec --timing fast --stonith ipmi` (the boards' answers too):

    .venv/bin/python tests/record_roles.py rec

It puts a fault rule on ha1 for the firewall's answer and removes it again."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lab.engine.handle import LabHandle  # noqa: E402
from lab.model.config import CLIENT  # noqa: E402
from lab.model.contract import HA_LOG, MESSAGES  # noqa: E402
from lab.roles import board, client, node  # noqa: E402

OUT = Path(__file__).resolve().parent / "unit" / "data" / "roles"


def main(name: str) -> int:
    lab = LabHandle.attach(name)
    cfg = lab.cfg
    rec = {
        "holds-ha1.txt": lab.sh("ha1", node.holds_script(cfg.vip)).output,
        "holds-ha2.txt": lab.sh("ha2", node.holds_script(cfg.vip)).output,
        "get-hostname.txt": lab.run(CLIENT, client.get_argv(f"{cfg.url}hostname.html", 3)).output,
        "get-missing.txt": lab.run(CLIENT, client.get_argv(f"{cfg.url}no-such-page.html", 3)).output,
        "get-no-answer.txt": lab.run(CLIENT, client.get_argv(f"http://{cfg.lan_ip('ha2')}:81/", 1)).output,
        "response-index.txt": lab.run(CLIENT, client.response_argv(f"{cfg.url}index.html", 3)).output,
        "response-no-answer.txt": lab.run(CLIENT, client.response_argv(f"http://{cfg.lan_ip('ha2')}:81/", 1)).output,
        "peer-status-ha1.txt": lab.run("ha1", node.peer_status_argv(cfg, "ha1")).output,
        "link-status-ha1-eth0.txt": lab.run("ha1", node.link_status_argv(cfg, "ha1", "eth0")).output,
        "last-fence-ha1.txt": lab.sh("ha1", node.last_fence_script()).output,
        "at-rest-ha1.txt": lab.sh("ha1", node.at_rest_script(cfg, "ha1")).output,
        "at-rest-ha2.txt": lab.sh("ha2", node.at_rest_script(cfg, "ha2")).output,
        "started-declared-ha1.txt": lab.sh("ha1", node.started_and_declared_dead_script(cfg.hb_name("ha2"))).output,
        "running-for-ha1.txt": lab.sh("ha1", node.running_for_script()).output,
        "line-count-ha-log.txt": lab.sh("ha1", node.line_count_script(HA_LOG)).output,
        "line-count-missing.txt": lab.sh("ha1", node.line_count_script("/var/log/no-such-log")).output,
        "messages-head.txt": lab.run("ha1", ["head", "-n", "3", MESSAGES]).output,
    }
    ha1 = node.Node(lab, "ha1")
    rec["fault-rules-none.txt"] = lab.sh("ha1", node.fault_rules_script()).output
    ha1.add_drops(cfg.lan_ip(CLIENT))
    ha1.add_drops(cfg.serial_ip("ha2"), outgoing=False)
    rec["fault-rules-two.txt"] = lab.sh("ha1", node.fault_rules_script()).output
    ha1.clear_drops()
    if cfg.has_boards:
        rec["power-on.txt"] = lab.run(CLIENT, board.ipmitool_argv(lab, "ha2", "chassis", "power", "status")).output
        rec["board-log-ha1.txt"] = board.board_log(lab, "ha1")
    OUT.mkdir(parents=True, exist_ok=True)
    for file, text in rec.items():
        (OUT / file).write_text(text)
        print(f"{file}: {len(text)} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "rec"))
