"""Run inside the matrix's VM (by its job unit, as root): load the lab's images, then each
cell asked for, the way a user runs the lab on such a host (the `lab` command line), and
write /job/out/results.json after each cell, so that what ran survives a cell that hangs.

A cell: lab up with relaxed timers (RELAXED: the VM is emulated, about ten times slower than
native), the article's failover test with the probe (scenario graceful-stop), a hung master
(scenario pause), the NFS server stopped then healed, and lab down leaving nothing on the
engine. A cell judges function, not speed: a step passes when its checks hold and the
cluster recovered, whatever its outage against the bounds of a native host."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path

JOB = Path("/job")
OUT = JOB / "out"
IMAGES_TAR = JOB / "images.tar"
LAB = [sys.executable, "-m", "lab"]
NAME = "mx"
# heartbeat's timers for an emulated host: the article's own (keepalive 2 s, deadtime 60 s,
# warntime 10 s, initdead 120 s). The fast profile stretched tenfold (deadtime 20 s) was
# tried first: the pause scenario's heal, whose budget follows the timers (193 s), ran out
# while heartbeat restarted under emulation
TIMING = "article"
RELAXED = {"keepalive": "2", "deadtime": "60", "warntime": "10", "initdead": "120"}  # the article's, for the table
STEP_TIMEOUT = 600  # a lab command under emulation: the pause scenario takes about 8 min at the article's timers


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def sh(cmd: list[str], env: dict | None = None, timeout: float = STEP_TIMEOUT,
       show: bool = False) -> subprocess.CompletedProcess:
    """Run a command; with `show`, print its lines as they come (the host follows them), for
    the long ones (lab up, a scenario): stdout and stderr are then one stream."""
    if not show:
        return subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **(env or {})},
                              timeout=timeout)
    lines = []
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          env={**os.environ, **(env or {})}) as proc:
        timer = threading.Timer(timeout, proc.kill)  # silent or not, it ends in time
        timer.start()
        for line in proc.stdout:
            lines.append(line)
            print(f"    {line.rstrip()}", flush=True)
        code = proc.wait()
        if not timer.is_alive():
            lines.append(f"(stopped after {timeout:.0f} s: no end in sight)\n")
        timer.cancel()
    return subprocess.CompletedProcess(cmd, code, "".join(lines), "")


def tail(res: subprocess.CompletedProcess, n: int = 6) -> str:
    return " | ".join((res.stdout + res.stderr).strip().splitlines()[-n:])


def host_facts() -> dict:
    cg = sh(["stat", "-fc", "%T", "/sys/fs/cgroup"]).stdout.strip()
    fs = Path("/proc/filesystems").read_text()
    return {"kernel": platform.release(), "cgroup": "v2" if cg == "cgroup2fs" else f"v1 ({cg})",
            "kernel_nfs": "\tnfs\n" in fs or "\tnfs4\n" in fs, "cpus": os.cpu_count(),
            "docker": sh(["dockerd", "--version"]).stdout.strip(), "podman": sh(["podman", "--version"]).stdout.strip()}


class Cell:
    def __init__(self, spec: dict) -> None:
        self.spec = spec
        self.name = spec["name"]
        self.env: dict[str, str] = {}
        self.steps: list[dict] = []
        self.calls = 0
        self.out = OUT / self.name
        self.out.mkdir(parents=True, exist_ok=True)

    def step(self, what: str, fn) -> dict:
        log(f"{self.name}: {what} ...")
        t0 = time.monotonic()
        try:
            ok, detail, extra = fn()
        except Exception as exc:  # a step's own failure is its result, not the job's
            ok, detail, extra = False, f"{type(exc).__name__}: {exc}", {}
            traceback.print_exc()
        rec = {"step": what, "ok": ok, "detail": detail, "seconds": round(time.monotonic() - t0, 1), **extra}
        self.steps.append(rec)
        log(f"{self.name}: {what}: {'ok' if ok else 'FAILED'} ({rec['seconds']} s) {detail}")
        return rec

    def lab(self, *args: str, timeout: float = STEP_TIMEOUT, show: bool = False) -> subprocess.CompletedProcess:
        """`lab ARGS`; its whole output kept in the cell's folder (read back by the host)."""
        res = sh([*LAB, *args], env=self.env, timeout=timeout, show=show)
        self.calls += 1
        (self.out / f"{self.calls:02d}-lab-{'-'.join(args[:2])}.log").write_text(
            f"$ lab {' '.join(args)}\n(exit {res.returncode})\n{res.stdout}{res.stderr}")
        return res

    # ---- the steps ----
    def up(self):
        res = self.lab("up", "--name", NAME, "--keep-on-failure", "--nfs-client", self.spec["nfs"], "--timing", TIMING,
                       show=True)
        return res.returncode == 0, tail(res, 3 if res.returncode == 0 else 12), {}

    def scenario(self, name: str):
        report = self.out / name
        res = self.lab("scenario", "run", name, "--name", NAME, "--report", str(report), show=True)
        try:
            data = json.loads((report / "report.json").read_text())
        except (OSError, ValueError):
            return False, f"no report (exit {res.returncode}): {tail(res, 12)}", {}
        steps = data["steps"]
        failed = [f"{s['label']}: {h['what']} ({h['seen']})" for s in steps for h in s["holds"] if not h["ok"]]
        failed += [f"{s['label']}: no recovery" for s in steps if s["outage_s"] is None and s["bounds_s"]
                   and s["bounds_s"][0] > 0]
        outages = {s["label"]: s["outage_s"] for s in steps}
        return not failed, "; ".join(failed) or "checks held", {"outages_s": outages,
                                                               "within_native_bounds": all(s["within_bounds"] is not False for s in steps)}

    def up_refused(self):
        res = self.lab("up", "--name", NAME, "--nfs-client", self.spec["nfs"])
        said = "open_by_handle_at" in res.stdout + res.stderr
        return res.returncode != 0 and said, tail(res, 3), {}

    def stop_nfs(self):
        res = self.lab("fail", "stop-nfs", "--name", NAME)
        if res.returncode != 0:
            return False, f"lab fail stop-nfs: {tail(res)}", {}
        during = self.lab("status", "--name", NAME, "--json")
        res = self.lab("heal", "--name", NAME, show=True)
        if res.returncode != 0:
            return False, f"lab heal: {tail(res, 12)}", {}
        audit = self.lab("audit", "--name", NAME)
        if audit.returncode != 0:
            return False, f"lab audit after heal: {tail(audit, 12)}", {}
        status = json.loads(self.lab("status", "--name", NAME, "--json").stdout)
        serving = status.get("serving") or status.get("serving_node")
        return bool(serving), f"healed; served by {serving}", {"status_during": during.stdout[-2000:]}

    def down(self):
        res = self.lab("down", "--name", NAME)
        left = {}
        for kind in ("ps", "network", "volume"):
            cmd = [*self.client(), *((kind, "-a") if kind == "ps" else (kind, "ls")), "-q",
                   "--filter", "label=io.heartbeat-lab.app"]
            left[kind] = sh(cmd).stdout.split()
        ok = res.returncode == 0 and not any(left.values())
        return ok, tail(res, 2) if ok else f"exit {res.returncode}; left: {left}; {tail(res)}", {}

    def postmortem(self) -> None:
        """What a failed lab up left (--keep-on-failure): the nodes' logs and mounts, the
        VM's kernel messages; kept in the cell's folder and its end printed."""
        docker = self.client()
        parts = []
        for node, cmd in (("ha1", "cat /var/log/ha-log; echo; mount | grep -i nfs; tail -50 /var/log/messages"),
                          ("ha2", "tail -60 /var/log/ha-log"), ("nfsha", "tail -40 /var/log/ganesha/ganesha.log")):
            res = sh([*docker, "exec", f"{NAME}-{node}", "sh", "-c", cmd])
            parts.append(f"--- {node}: {cmd}\n{res.stdout}{res.stderr}")
        debug = JOB / "debug.sh"  # LAB_MATRIX_DEBUG on the host: a script of one's own, run here
        if debug.exists():
            res = sh(["sh", str(debug)], env={**self.env, "LAB": " ".join(LAB), "NAME": NAME})
            parts.append(f"--- {debug}\n{res.stdout}{res.stderr}")
        parts.append("--- the VM's kernel\n" + sh(["dmesg"]).stdout[-3000:])
        parts.append("--- containers\n" + sh([*docker, "ps", "-a"]).stdout)
        text = "\n".join(parts)
        (self.out / "postmortem.txt").write_text(text)
        print(text[-12000:], flush=True)

    def client(self) -> list[str]:
        host = self.env.get("DOCKER_HOST")
        if self.spec["engine"] == "podman":
            return ["podman"]
        return ["docker", *(("-H", host) if host else ())]

    def run(self) -> dict:
        t0 = time.monotonic()
        engine = self.spec["engine"]
        if engine == "docker":
            pass
        elif engine == "podman":
            if not self.step("podman's Docker API socket (podman.socket), the images loaded", self.podman).get("ok"):
                return self.result(t0)
        elif engine == "rootless":
            if not self.step("lab engine rootless (the images copied)", self.rootless).get("ok"):
                return self.result(t0)
            self.step("pause: docker pause on the rootless engine (cgroup v2, the user's systemd)", self.pause_works)
            # nfs-ganesha cannot serve from a user namespace (docs/built/limits.md): the lab
            # refuses such an engine before making anything, and this cell checks it says so
            self.step("lab up refused, nothing made (nfs-ganesha needs open_by_handle_at)", self.up_refused)
            self.step("lab down", self.down)
            # the next cell has the VM's two vCPUs to itself
            self.step("lab engine rootless --stop", lambda: self.ran(self.lab("engine", "rootless", "--stop")))
            return {**self.result(t0), "explained": "lab up refused as documented: nfs-ganesha's open_by_handle_at "
                                                    "is refused in a user namespace"}
        if not self.step("lab up", self.up)["ok"]:
            self.postmortem()
            self.step("lab down", self.down)
            return self.result(t0)
        self.step("graceful-stop (the article's failover, probed)", lambda: self.scenario("graceful-stop"))
        self.step("pause (a hung master)", lambda: self.scenario("pause"))
        self.step("stop-nfs, heal, audit", self.stop_nfs)
        self.step("lab down", self.down)
        return self.result(t0)

    def result(self, t0: float) -> dict:
        return {**self.spec, "steps": self.steps, "seconds": round(time.monotonic() - t0, 1),
                "passed": bool(self.steps) and all(s["ok"] for s in self.steps)}

    # ---- engines ----
    def podman(self):
        sh(["systemctl", "start", "podman.socket"])
        self.env["DOCKER_HOST"] = "unix:///run/podman/podman.sock"
        res = sh(["podman", "load", "-i", str(IMAGES_TAR)])
        return res.returncode == 0, tail(res, 2), {}

    def rootless(self):
        res = self.lab("engine", "rootless")
        host = next((w.split("=", 1)[1] for w in (res.stdout + res.stderr).split() if w.startswith("DOCKER_HOST=")),
                    None)
        if res.returncode != 0:
            return False, tail(res, 12), {}
        if host is None:
            import pwd

            host = f"unix:///run/user/{pwd.getpwnam('heartbeat-lab').pw_uid}/docker.sock"
        self.env["DOCKER_HOST"] = host
        return True, tail(res, 2), {}

    @staticmethod
    def ran(res) -> tuple:  # noqa: ANN001  (a CompletedProcess)
        return res.returncode == 0, tail(res, 2), {}

    def pause_works(self):
        import docker

        client = docker.DockerClient(base_url=self.env["DOCKER_HOST"])
        image = next(t for i in client.images.list() for t in i.tags if "node" in t)
        c = client.containers.run(image, ["sleep", "infinity"], entrypoint=[], detach=True, remove=True)
        try:
            c.pause()
            c.reload()
            paused = c.status == "paused"
            c.unpause()
            c.reload()
            return paused and c.status == "running", f"{image}: paused, then running again", {}
        finally:
            c.kill()


def main() -> int:
    cells = json.loads((JOB / "cells.json").read_text())
    facts = host_facts()
    log(f"host: {json.dumps(facts)}")
    results = {"host": facts, "cells": []}
    t0 = time.monotonic()
    res = sh(["docker", "load", "-i", str(IMAGES_TAR)])
    results["images_load_s"] = round(time.monotonic() - t0, 1)
    log(f"docker load: exit {res.returncode} in {results['images_load_s']} s: {tail(res, 8)}")
    for spec in cells:
        results["cells"].append(Cell(spec).run())
        (OUT / "results.json").write_text(json.dumps(results, indent=1))
    (OUT / "results.json").write_text(json.dumps(results, indent=1))
    return 0 if all(c["passed"] for c in results["cells"]) else 1


if __name__ == "__main__":
    sys.exit(main())
