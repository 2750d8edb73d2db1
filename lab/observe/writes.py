"""Clients' writes across a failover: a small CGI application on the shared disk, a workload
from ha3 that records what each request's client knew of it, and a checker with Jepsen's
set semantics over that history and the data left on the disk.

The application (installed by `install`, idempotent; the article serves CGI scripts the same
way, from the shared disk): /app/add?v=VALUE appends VALUE to /ha/www/data/set and answers
200 only once `sync FILE` (fsync through the mount) returned; /app/read returns the set;
/app/incr reads the counter, adds one and writes it back, with no lock; /app/count reads it.

The checker (Jepsen's set checker; no Python port exists, and the definitions are short):
  lost        acknowledged adds missing from the final set
  unexpected  values in the final set that no client ever sent
  recovered   adds not acknowledged (failed or unknown) that are in the final set
  duplicated  values that appear more than once in the final set
and, for the counter, acknowledged increments the final value does not account for."""

from __future__ import annotations

import secrets
import threading
from collections import Counter
from dataclasses import asdict, dataclass, field

from ..engine.handle import LabHandle
from ..model.config import NFS_SERVER, NODES
from ..model.contract import SHARE_MOUNT
from ..waiting import wait_until
from . import writes_agent
from ..roles.client import Client
from ..roles.node import enable_apache_conf_script
from .agent import Agent
from .state import who_serves
from .writes_agent import FAILED, OK, UNKNOWN

APP_DIR = f"{SHARE_MOUNT}/www/cgi-bin"
DATA_DIR = f"{SHARE_MOUNT}/www/data"
SET_FILE = f"{DATA_DIR}/set"
COUNTER_FILE = f"{DATA_DIR}/counter"
APACHE_CONF = "/etc/apache2/conf-available/lab-writes.conf"
APP_PREFIX = "/app/"

_CGI_HEAD = "#!/bin/sh\n# the lab's client-writes application (lab/observe/writes.py), served from the shared disk\n"
SCRIPTS = {
    "add": _CGI_HEAD + f"""\
v=${{QUERY_STRING#v=}}
case $v in ''|*[!A-Za-z0-9-]*) printf 'Status: 400 Bad Request\\r\\nContent-Type: text/plain\\r\\n\\r\\nbad value\\n'; exit 0;; esac
# acknowledged only once the value is on the server's stable storage: fsync through the mount
if printf '%s\\n' "$v" >> {SET_FILE} && sync {SET_FILE}; then
    printf 'Content-Type: text/plain\\r\\n\\r\\nok %s %s\\n' "$v" "$(hostname)"
else
    printf 'Status: 503 Service Unavailable\\r\\nContent-Type: text/plain\\r\\n\\r\\nnot stored\\n'
fi
""",
    "incr": _CGI_HEAD + f"""\
# read, add one, write back: no lock, as careless applications do
n=$(cat {COUNTER_FILE} 2>/dev/null); n=$(( ${{n:-0}} + 1 ))
if printf '%s\\n' "$n" > {COUNTER_FILE} && sync {COUNTER_FILE}; then
    printf 'Content-Type: text/plain\\r\\n\\r\\nok %s %s\\n' "$n" "$(hostname)"
else
    printf 'Status: 503 Service Unavailable\\r\\nContent-Type: text/plain\\r\\n\\r\\nnot stored\\n'
fi
""",
    "read": _CGI_HEAD + f"printf 'Content-Type: text/plain\\r\\n\\r\\n'; cat {SET_FILE}\n",
    "count": _CGI_HEAD + f"printf 'Content-Type: text/plain\\r\\n\\r\\n'; cat {COUNTER_FILE}\n",
}
APACHE_CONF_TEXT = f"""\
# The lab's client-writes application: CGI scripts on the shared disk (lab/observe/writes.py)
ScriptAlias {APP_PREFIX} {APP_DIR}/
<Directory {APP_DIR}>
    Options +ExecCGI
    Require all granted
</Directory>
"""


def install(lab: LabHandle) -> None:
    """Put the application on the shared disk (from nfsha, where /ha is the same directory)
    and its Apache configuration on both nodes; the node that serves reloads Apache
    gracefully, and the application answers before this returns."""
    script = f"mkdir -p {APP_DIR} {DATA_DIR} && chmod 1777 {DATA_DIR} && touch {SET_FILE} {COUNTER_FILE} && " \
             f"chmod 666 {SET_FILE} {COUNTER_FILE}"
    lab.sh(NFS_SERVER, script, check=True)
    for name, text in SCRIPTS.items():
        lab.put_file(NFS_SERVER, f"{APP_DIR}/{name}", text.encode(), 0o755)
    for node in NODES:
        if lab.container_status(node) != "running":
            continue
        lab.put_file(node, APACHE_CONF, APACHE_CONF_TEXT.encode(), 0o644)
        # mod_cgid is enabled in the image: its daemon starts only with Apache
        lab.sh(node, enable_apache_conf_script("lab-writes"), check=True)
    serving = who_serves(lab)
    if serving is not None:
        wait_until(f"the writes application to answer on {serving}", lambda: (
            (code := Client(lab).get(f"{APP_PREFIX.lstrip('/')}count")[0]) == 200, f"HTTP {code}"),
            timeout=15, interval=0.2)


def data(lab: LabHandle) -> tuple[list[str], int]:
    """What the shared disk holds, read on the NFS server: the set's lines and the counter.
    (Nothing is truncated between runs: a file changed behind the nodes' mounts would meet
    their cached sizes, and the next append would land past a hole. A run subtracts what
    was there before it.)"""
    values = lab.read_file(NFS_SERVER, SET_FILE).decode(errors="replace").split("\n")
    count = lab.read_file(NFS_SERVER, COUNTER_FILE).decode(errors="replace").strip()
    return [v for v in values if v], int(count) if count.isdigit() else 0


def since(before: tuple[list[str], int], after: tuple[list[str], int]) -> tuple[list[str], int]:
    """What a run added: the set's lines minus those there before (as multisets), and the
    counter's rise."""
    return list((Counter(after[0]) - Counter(before[0])).elements()), after[1] - before[1]


@dataclass(frozen=True)
class Op:
    t: float
    t_end: float
    client: str
    op: str  # add, incr
    value: str | None
    result: str  # ok, failed, unknown
    node: str | None = None
    detail: str = ""


class Workload:
    """The writes agent running in ha3 while in a with-block; `history` is every request."""

    def __init__(self, lab: LabHandle, rate: float = 10.0, clients: int = 2):
        self.lab, self.rate, self.clients = lab, rate, clients
        self.run_id = secrets.token_hex(3)  # every value of this run starts with it: r<id>c1-7
        self.base = f"{lab.cfg.url.rstrip('/')}{APP_PREFIX}"
        self._ops: list[Op] = []
        self.sent: int | None = None  # how many requests the agent says it made, once it has stopped
        self._lock = threading.Lock()
        self._agent: Agent | None = None

    @property
    def history(self) -> list[Op]:
        with self._lock:
            return sorted(self._ops, key=lambda o: o.t)

    def __enter__(self) -> "Workload":
        self._agent = Agent(self.lab, writes_agent, [self.base, "--rate", str(self.rate), "--clients",
                                                     str(self.clients), "--run", f"r{self.run_id}"],
                            self._record, "writes")
        self._agent.start()
        return self

    def _record(self, record: dict) -> None:
        if "sent" in record:
            self.sent = record["sent"]
            return
        try:
            op = Op(**record)
        except TypeError:
            return
        with self._lock:
            self._ops.append(op)

    def __exit__(self, *exc: object) -> None:
        # SIGTERM: every client finishes and reports its request in flight, then the agent exits
        if self._agent:
            self._agent.stop(wait=15)


@dataclass
class Check:
    attempted: int
    acknowledged: int
    failed: int
    unknown: int
    lost: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    recovered: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    increments: dict = field(default_factory=dict)  # acknowledged, attempted, final, lost

    @property
    def valid(self) -> bool:
        """Jepsen's verdict for a set: nothing acknowledged was lost, nothing appeared from nowhere."""
        return not self.lost and not self.unexpected

    def to_dict(self) -> dict:
        return {**asdict(self), "valid": self.valid}

    def summary(self) -> str:
        inc = self.increments
        return (f"{self.attempted} adds ({self.acknowledged} acknowledged, {self.failed} failed, {self.unknown} "
                f"unknown): lost {len(self.lost)}, unexpected {len(self.unexpected)}, recovered "
                f"{len(self.recovered)}, duplicated {len(self.duplicated)}; counter {inc.get('final')} after "
                f"{inc.get('acknowledged')} acknowledged increments: {inc.get('lost')} lost")


def check(history: list[Op], final_values: list[str], final_counter: int) -> Check:
    """Jepsen's set checker over the adds, and lost updates of the counter."""
    adds = [o for o in history if o.op == "add"]
    by_result = {r: {o.value for o in adds if o.result == r} for r in (OK, FAILED, UNKNOWN)}
    present = Counter(final_values)
    sent = {o.value for o in adds}
    incs = [o for o in history if o.op == "incr"]
    acked_incs = sum(o.result == OK for o in incs)
    return Check(
        attempted=len(adds),
        acknowledged=len(by_result[OK]),
        failed=len(by_result[FAILED]),
        unknown=len(by_result[UNKNOWN]),
        lost=sorted(by_result[OK] - set(present), key=_order),
        unexpected=sorted(set(present) - sent, key=_order),
        recovered=sorted((by_result[FAILED] | by_result[UNKNOWN]) & set(present), key=_order),
        duplicated=sorted((v for v, n in present.items() if n > 1), key=_order),
        increments={"attempted": len(incs), "acknowledged": acked_incs, "final": final_counter,
                    "lost": max(0, acked_incs - final_counter)},
    )


def _order(value: str | None) -> tuple[str, int]:
    name, _, seq = (value or "").rpartition("-")
    return name, int(seq) if seq.isdigit() else 0
