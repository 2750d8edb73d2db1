"""Linux-HA's own Cluster Test Suite (CTS) run from ha3 against the lab.

ha3 is CTS's exerciser (lab/exerciser.py): it reaches the nodes over ssh as root and reads
every node's syslog from one file. CTS itself is Debian's heartbeat package's, with the
fixes it needs under python3 and Debian carried in images/shared/cts-python3.patch. It
stops and starts heartbeat on the nodes, so a run ends with the lab healed: the master
serving again."""

from __future__ import annotations

import ast
import json
import re
import shlex
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from .roles.board import ipmitool_argv
from .roles.client import etc_dir_argv, stop_cts_argv
from .roles.node import after_cts_script, configured_script
from .engine.handle import LabHandle
from .errors import LabError
from .exerciser import logs_forwarded
from .model.config import CLIENT, NODES
from .model.contract import CLUSTER_LOG, HA_ETC
from .recovery import heal

CTS_DIR = "/usr/share/heartbeat/cts"
# The tests of CTStests.py that apply to a haresources (release 1) cluster; the others are
# for the CRM. Stonith needs a way to reset a node: the lab's IPMI boards.
TESTS = ("Flip", "Restart", "StartOnebyOne", "SimulStart", "SimulStop", "StopOnebyOne",
         "RestartOnebyOne", "standby", "DetectionTime", "Split_brain", "SpecialTest1")
FENCING_TESTS = ("Stonith",)

_RUNNING = re.compile(r"Running test (\S+) \((\S+)\)\s+\[(\d+)\]")
_OVERALL = re.compile(r"Overall Results:(\{.*\})")
_DETAIL = re.compile(r"Test (\S+):\s+(\{.*\})")
# what CTS says that a person watching wants to see as it happens
_NEWS = re.compile(r"failed|FAILED|BadNews|Audit|detection time|Exception|Traceback|ERROR|timed out|Warn"
                   r"|Cluster Manager on all nodes")


def applicable(lab: LabHandle) -> tuple[str, ...]:
    return TESTS + (FENCING_TESTS if lab.cfg.stonith == "ipmi" else ())


def check_tests(lab: LabHandle, names: list[str] | None) -> list[str]:
    tests = list(applicable(lab))
    if not names:
        return tests
    unknown = [n for n in names if n not in tests]
    if unknown:
        hint = ("; Stonith needs a lab with IPMI boards (lab up --stonith ipmi)"
                if "Stonith" in unknown and lab.cfg.stonith != "ipmi" else "")
        raise LabError(f"unknown CTS test(s) {', '.join(unknown)}: expected some of {', '.join(tests)}{hint}")
    return names


@dataclass
class CtsResult:
    seed: str
    iterations: int
    tests: list[str]
    exit_code: int
    overall: dict = field(default_factory=dict)  # CTS's "Overall Results"
    per_test: dict = field(default_factory=dict)  # CTS's "Detailed Results", per test
    bad_news: list[str] = field(default_factory=list)  # the log lines CTS called bad news
    failures: list[str] = field(default_factory=list)  # "Test X failed [reason: ...]"
    seconds: float = 0.0
    files: dict = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """CTS's own verdict: every iteration a success, no failure, no bad news, no failed audit."""
        o = self.overall
        return (self.exit_code == 0 and o.get("failure", 1) == 0 and o.get("BadNews", 1) == 0
                and o.get("auditfail", 0) == 0 and o.get("success") == self.iterations)

    def to_dict(self) -> dict:
        return {**asdict(self), "passed": self.passed}

    def report(self) -> str:
        lines = [f"CTS: {self.iterations} iteration(s), seed {self.seed}, {self.seconds:.0f} s: "
                 + ("every test passed, no bad news" if self.passed else "FAILED"),
                 f"  Overall Results: {self.overall or '(none: CTS did not finish, see its log)'}"]
        for name, stats in sorted(self.per_test.items()):
            lines.append(f"  {name:16} calls {stats.get('calls', 0):3}  success {stats.get('success', 0):3}  "
                         f"failure {stats.get('failure', 0):3}  skipped {stats.get('skipped', 0):3}  "
                         f"auditfail {stats.get('auditfail', 0):3}")
        lines += [f"  failed: {f}" for f in self.failures]
        lines += [f"  bad news: {b}" for b in self.bad_news]
        if self.exit_code and not self.overall:
            lines.append(f"  CTS exited {self.exit_code}")
        return "\n".join(lines)


def parse(output: str, result: CtsResult) -> CtsResult:
    for line in output.splitlines():
        if m := _OVERALL.search(line):
            result.overall = ast.literal_eval(m.group(1))
        elif (m := _DETAIL.search(line)) and "failed [reason" not in line:
            result.per_test[m.group(1)] = ast.literal_eval(m.group(2))
        if "BadNews: " in line:
            result.bad_news.append(line.split("BadNews: ", 1)[1].strip())
        if m := re.search(r"Test (\S+) failed \[reason:(.*)\]", line):
            result.failures.append(f"{m.group(1)}: {m.group(2).strip()}")
    return result


def command(lab: LabHandle, tests: list[str], iterations: int, seed: str) -> list[str]:
    argv = ["python3", "-u", f"{CTS_DIR}/CTSlab.py", "--logfile", CLUSTER_LOG, "--seed", seed,
            "--stonith", "yes" if "Stonith" in tests else "no"]
    if "Stonith" in tests:
        # CTS resets the node as an operator would: ipmitool to the node's board, from ha3
        argv += ["--reset-command", " ".join(shlex.quote(a) for a in ipmitool_argv(lab, "%s", "chassis", "power",
                                                                                      "reset"))]
    return argv + ["--choose", ",".join(tests), str(iterations)]


def run(lab: LabHandle, tests: list[str] | None = None, iterations: int = 20, seed: str | None = None,
        report_dir: Path | None = None, progress: Callable[[str], None] = print) -> CtsResult:
    """Run CTS from ha3: `iterations` tests drawn by CTS at random (seeded) from `tests`
    (default: every applicable one), with CTS's audits after each; then heal the lab."""
    if iterations < 1:
        raise LabError(f"--iterations {iterations}: expected at least 1")
    tests = check_tests(lab, tests)
    seed = seed or str(int(time.time()))
    if not lab.sh(NODES[0], configured_script()).ok:
        raise LabError("CTS tests a configured heartbeat cluster: /etc/ha.d/ha.cf and haresources are missing on "
                       f"{NODES[0]}. Finish the article's steps first (`lab guide`, or `lab solve`).")
    heal(lab)
    # CTS reads the cluster's configuration on the exerciser, as the nodes have it
    lab.run(CLIENT, etc_dir_argv(HA_ETC), check=True)
    for name in ("ha.cf", "haresources"):
        lab.put_file(CLIENT, f"{HA_ETC}/{name}", lab.read_file(NODES[0], f"{HA_ETC}/{name}"), 0o644)
    logs_forwarded(lab)
    log_start = len(lab.read_file(CLIENT, CLUSTER_LOG))
    argv = command(lab, tests, iterations, seed)
    shown = " ".join(argv[2:])
    if lab.cfg.has_boards:  # the boards' password stays out of what is printed
        shown = shown.replace(lab.cfg.bmc_password, "***")
    progress(f"CTS from ha3: {shown}")
    result = CtsResult(seed=seed, iterations=iterations, tests=tests, exit_code=-1)
    t0 = time.monotonic()
    out: list[str] = []
    stream = lab.lines(CLIENT, argv, workdir=CTS_DIR)
    try:
        for line in map(str.rstrip, stream):
            out.append(line)
            if m := _RUNNING.search(line):
                progress(f"[{m.group(3)}/{iterations}] {m.group(1)} ({m.group(2)})  "
                         f"{time.monotonic() - t0:5.0f} s")
            elif _NEWS.search(line) and "debug:" not in line:
                progress("    " + line.split("\t", 1)[-1])
        result.exit_code = stream.exit_code
    except BaseException:
        lab.run(CLIENT, stop_cts_argv())
        progress("CTS interrupted: healing the lab ...")
        _restore(lab, heal)
        raise
    result.seconds = time.monotonic() - t0
    parse("\n".join(out), result)
    progress("CTS done: healing the lab ...")
    _restore(lab, heal)
    if report_dir is not None:
        result.files = write_report(lab, report_dir, result, out, log_start)
    return result


def _restore(lab: LabHandle, heal: Callable[[LabHandle], None]) -> None:
    """CTS's tear-down stops heartbeat everywhere; an interrupted Split_brain may leave its
    packet-loss file. Remove it, and heal: heartbeat started, the master serving."""
    for node in NODES:
        lab.sh(node, after_cts_script())
    heal(lab)


def write_report(lab: LabHandle, out_dir: Path, result: CtsResult, output: list[str], log_start: int) -> dict:
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {"cts_log": out_dir / "cts.log", "cluster_log": out_dir / "cluster.log",
             "json": out_dir / "cts.json", "summary": out_dir / "summary.txt"}
    files["cts_log"].write_text("\n".join(output) + "\n")
    files["cluster_log"].write_bytes(lab.read_file(CLIENT, CLUSTER_LOG)[log_start:])
    named = {k: str(v) for k, v in files.items()}
    files["json"].write_text(json.dumps({**result.to_dict(), "files": named}, indent=2) + "\n")
    files["summary"].write_text(result.report() + "\n")
    return named
