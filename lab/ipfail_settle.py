"""The heal's dealings with ipfail: what a running ipfail still means to do (read from its
debug log), waiting for it or respawning it so that it gives nothing up after the heal, and
waiting for it to see a ping node come back."""

from __future__ import annotations

from .engine.handle import LabHandle
from .errors import LabError
from .model.config import NODES
from .model.contract import HA_DEBUG, IPFAIL, MESSAGES
from .observe import ipfail
from .observe.audit import lines_since
from .observe.state import heartbeat_running
from .roles.node import ipfail_debug_script, ipfail_lines_of_script, pids_script, stop_script
from .waiting import wait_until



def ipfail_pending(lab: LabHandle, node: str) -> tuple[str | None, str]:
    """What ipfail on `node` still means to do (lab.observe.ipfail), from its debug log."""
    if lab.container_status(node) != "running" or not heartbeat_running(lab, node):
        return None, ""
    res = lab.sh(node, ipfail_debug_script(), timeout=10)
    return ipfail.pending(res.output) if res.ran else (None, "")


def settle_ipfail(lab: LabHandle) -> bool:
    """The heal's last step: ipfail on neither node means to give anything up. A delayed
    give-up, or the 10 s ipfail sleeps before asking its peer again, ends by itself: wait for
    it. A give-up it holds until its peer is stable would wait for the next transition,
    whatever it is, and hand the resources over then: heartbeat respawns a stopped ipfail,
    and the new one starts with nothing held. True if ipfail did anything (the caller checks
    the owner again)."""
    acted = False
    for _ in range(3):
        seen = {n: ipfail_pending(lab, n) for n in NODES}
        busy = {n: p for n, p in seen.items() if p[0]}
        if not busy:
            return acted
        acted = True
        held = [n for n, (what, _) in busy.items() if what == ipfail.HELD]
        for node in held:
            lab.say(f"heal: ipfail on {node} holds {ipfail.HELD} (since {busy[node][1]}); restarting ipfail there")
            restart_ipfail(lab, node)
        if len(held) < len(busy):
            waiting = ", ".join(f"{n}: {what}" for n, (what, _) in busy.items() if what != ipfail.HELD)
            lab.say(f"heal: waiting for ipfail ({waiting}) ...")

        def quiet() -> tuple[bool, str]:
            now = {n: ipfail_pending(lab, n)[0] for n in NODES}
            return not any(w in (ipfail.TIMER, ipfail.ASLEEP) for w in now.values()), \
                ", ".join(f"{n}: {w or 'nothing pending'}" for n, w in now.items())

        wait_until("ipfail to finish what it began (a delayed give-up, its 10 s sleep)", quiet,
                   timeout=IPFAIL_SLEEP + 2 * lab.cfg.times.keepalive + 5, interval=0.3)
    still = {n: p for n in NODES if (p := ipfail_pending(lab, n))[0]}
    if still:
        raise LabError("ipfail still means to give resources up after the heal: "
                       + "; ".join(f"{n}: {w} since {t}" for n, (w, t) in still.items())
                       + f". Expected nothing pending; see {HA_DEBUG} on those nodes.")
    return acted


IPFAIL_SLEEP = 10  # ipfail sleeps 10 s once its peer is stable before asking again (ipfail.c)


def restart_ipfail(lab: LabHandle, node: str) -> None:
    """Stop ipfail on `node`; heartbeat respawns it (`respawn hacluster ipfail`; it logs the
    respawn as an ERROR): wait for the new one to have answered its peer's count of ping
    nodes, the exchange its join starts."""
    old = lab.sh(node, pids_script(IPFAIL), timeout=10).output.split()
    lab.sh(node, stop_script(IPFAIL), timeout=10)

    def answered() -> tuple[bool, str]:
        pids = lab.sh(node, pids_script(IPFAIL), timeout=10).output.split()
        new = [p for p in pids if p not in old]
        if not new:
            return False, f"ipfail pids {pids or 'none'}, the old ones {old}"
        said = lab.sh(node, ipfail_lines_of_script(new[0]), timeout=10).output
        return any(a in said for a in ipfail.ANSWERS), f"ipfail {new[0]} has not answered its peer's count yet"

    wait_until(f"heartbeat to respawn ipfail on {node}, and the new one to answer its peer", answered,
               timeout=15, interval=0.3)


def wait_ipfail_settled(lab: LabHandle, node: str, marks: dict[str, int]) -> None:
    """ipfail on both nodes has seen the ping node come back to `node`. It learns of it
    seconds after heartbeat does (about 9 s here), and the peer then hands back resources
    on its own ("Giving up foreign resources (auto_failback)"): a move made before that
    races with it."""
    peer = lab.cfg.peer(node)
    wanted = {node: "A ping node just came up", peer: "Ping node count is balanced"}

    def seen() -> tuple[bool, str]:
        # a peer that was down when heal began has no mark: its whole log is read
        found = {n: text in lines_since(lab, n, MESSAGES, marks.get(n, 0)) for n, text in wanted.items()}
        return all(found.values()), ", ".join(f"{n}: {wanted[n]!r} {'seen' if ok else 'not yet'}"
                                              for n, ok in found.items())

    lab.say(f"heal: waiting for ipfail to see the ping node back on {node} ...")
    wait_until(f"ipfail on {node} and {peer} to see {node}'s ping node again", seen,
               timeout=lab.cfg.failover_wait + 15, interval=0.2)
