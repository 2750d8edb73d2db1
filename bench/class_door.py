#!/usr/bin/env python3
"""The class's front door under a class's load (`make bench-door`, COUNT=24 by default):
start a class of COUNT labs at the stage `serial`, serve it (`lab class serve` in a process
of its own, as an instructor runs it), then

- the dashboard's page and /class/api, ROUNDS times each, while the poller sweeps every lab;
- COUNT trainees at once, each as their page behaves: logged in, a terminal open on ha1
  (a websocket to a shell), the status asked every 5 s, and one command typed per trainee
  every 10 s; the server process's CPU over that window (from /proc), and every command's
  round trip;
- "check my work" of one trainee while the others are open.

Writes bench/door_results.json and bench/DOOR.md; takes the class down and checks that
nothing is left."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lab import classroom  # noqa: E402
from lab.engine import images  # noqa: E402
from lab.engine.handle import docker_client  # noqa: E402
from lab.engine.labels import lab_filter  # noqa: E402

PREFIX = "hdoor"
PASSWORD = "the bench's own instructor"
GOALS = {"page_s": 1.0, "api_s": 1.0}


def say(msg: str) -> None:
    print(msg, flush=True)


def lab(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lab", *args], capture_output=True, text=True, env=env, timeout=1800)


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process and its waited-for children, in seconds (/proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")


async def timed_get(http: aiohttp.ClientSession, url: str) -> float:
    t = time.perf_counter()
    async with http.get(url) as r:
        await r.read()
        assert r.status == 200, (url, r.status)
    return time.perf_counter() - t


async def instructor(url: str, rounds: int) -> dict:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.post(f"{url}login", data={"name": "instructor", "password": PASSWORD}) as r:
            assert r.status == 200 and str(r.url).endswith("/class/"), r.url
        page = [await timed_get(http, f"{url}class/") for _ in range(rounds)]
        api = [await timed_get(http, f"{url}class/api") for _ in range(rounds)]
        async with http.get(f"{url}class/api") as r:
            labs = (await r.json())["labs"]
    return {"page_s": page, "api_s": api, "labs_in_api": len(labs)}


async def trainee(url: str, name: str, password: str, seconds: float, out: dict) -> None:
    """A trainee's page: its status every 5 s, a shell on ha1 with a command every 10 s."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.post(f"{url}login", data={"name": name, "password": password}) as r:
            assert str(r.url).endswith(f"/lab/{name}/"), r.url
        async with http.ws_connect(f"{url.replace('http', 'ws')}lab/{name}/term/ha1") as ws:
            await ws.send_str(json.dumps({"resize": [120, 40]}))
            end = time.monotonic() + seconds
            n = 0
            while time.monotonic() < end:
                async with http.get(f"{url}lab/{name}/status") as r:
                    assert r.status == 200
                n += 1
                mark = f"rt{n}x"
                t = time.perf_counter()
                await ws.send_bytes(f"echo {mark[:-1]}''x\n".encode())  # the echo, not the typing, matches
                seen = b""
                while mark.encode() not in seen:
                    msg = await asyncio.wait_for(ws.receive(), 30)
                    seen += msg.data if isinstance(msg.data, bytes) else b""
                # the first command waits for the shell the websocket just started: apart
                out.setdefault("round_trip_s" if n > 1 else "first_command_s", []).append(time.perf_counter() - t)
                await asyncio.sleep(10)


async def one_check(url: str, name: str, password: str) -> float:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=300), cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        await http.post(f"{url}login", data={"name": name, "password": password})
        t = time.perf_counter()
        async with http.post(f"{url}lab/{name}/check") as r:
            assert r.status == 200
            await r.json()
        return time.perf_counter() - t


def dist(xs: list[float]) -> dict:
    xs = sorted(xs)
    return {"n": len(xs), "median": round(statistics.median(xs), 3), "p95": round(xs[int(0.95 * (len(xs) - 1))], 3),
            "max": round(xs[-1], 3)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=24)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=60.0, help="how long the trainees' pages stay open")
    a = ap.parse_args()
    client = docker_client()
    images.ensure_images(client, say)
    state = tempfile.mkdtemp(prefix="lab-door-bench-")
    env = {**os.environ, "LAB_STATE_HOME": state, "PYTHONUNBUFFERED": "1"}
    Path(state, "pw").write_text(PASSWORD)
    names = classroom.member_names(PREFIX, a.count)
    result: dict = {"machine": {"cpus": os.cpu_count(), "kernel": platform.release(), "python": platform.python_version()},
                    "labs": a.count}
    server = None
    try:
        t = time.monotonic()
        say(f"starting a class of {a.count} labs at the stage serial ...")
        res = lab("class", "up", "--count", str(a.count), "--class", PREFIX, "--stage", "serial", "--trust-trainees",
                  "--instructor-password-file", str(Path(state, "pw")), env=env)
        result["class_up_s"] = round(time.monotonic() - t, 1)
        if res.returncode != 0:  # the class's own summary names each lab that failed and why: all of it
            say(res.stdout)
            say(res.stderr)
            raise SystemExit(f"`lab class up` of {a.count} labs failed (exit {res.returncode}); its output is above")
        roster = json.loads(lab("class", "roster", "--class", PREFIX, "--format", "json", env=env).stdout)
        creds = {t["lab"]: t["password"] for t in roster["trainees"]}
        server = subprocess.Popen([sys.executable, "-m", "lab", "class", "serve", "--class", PREFIX,
                                   "--listen", "127.0.0.1:0"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                  text=True, env=env)
        m = re.search(r"at (http://127\.0\.0\.1:\d+/)", server.stdout.readline())
        assert m, "the server did not say where it listens"
        url = m.group(1)
        say(f"served at {url}; the dashboard, {a.rounds} times, while the poller sweeps ...")
        time.sleep(5)  # let the poller begin its first sweep: the page is then measured while it works
        inst = asyncio.run(instructor(url, a.rounds))
        result["page_s"], result["api_s"] = dist(inst["page_s"]), dist(inst["api_s"])
        say(f"{a.count} trainees' pages open for {a.seconds:.0f} s (a shell each, status every 5 s) ...")
        c0, w0 = cpu_seconds(server.pid), time.monotonic()
        rt: dict = {}

        async def everyone() -> None:
            await asyncio.gather(*(trainee(url, n, creds[n], a.seconds, rt) for n in names))
        asyncio.run(everyone())
        c1, w1 = cpu_seconds(server.pid), time.monotonic()
        result["server_cpu_percent_of_a_core"] = round(100 * (c1 - c0) / (w1 - w0), 1)
        result["terminal_round_trip_s"] = dist(rt["round_trip_s"])
        result["terminal_first_command_s"] = dist(rt["first_command_s"])
        result["check_s"] = round(asyncio.run(one_check(url, names[0], creds[names[0]])), 2)
        say(json.dumps(result, indent=2))
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        lab("class", "down", "--class", PREFIX, "--yes", env=env)
    left = [c.name for n in names for c in client.containers.list(all=True, filters=lab_filter(n))]
    result["left_after_down"] = left
    (ROOT / "bench" / "door_results.json").write_text(json.dumps(result, indent=2) + "\n")
    (ROOT / "bench" / "DOOR.md").write_text(report(result))
    say(report(result))
    return 0 if not left else 1


def report(r: dict) -> str:
    m = r["machine"]
    met = lambda v, g: "met" if v <= g else f"missed by {v - g:.2f} s"  # noqa: E731
    return f"""# The class's front door under a class's load

`make bench-door` (bench/class_door.py), {r['labs']} labs at the stage serial, on {m['cpus']} CPUs, kernel
{m['kernel']}, Python {m['python']}. `lab class up` took {r['class_up_s']} s.

| measure | median | p95 | max | goal | |
| --- | --- | --- | --- | --- | --- |
| dashboard page (`/class/`), {r['page_s']['n']} loads | {r['page_s']['median']} s | {r['page_s']['p95']} s | {r['page_s']['max']} s | < 1 s | {met(r['page_s']['max'], GOALS['page_s'])} |
| `/class/api` (every lab's row), {r['api_s']['n']} loads | {r['api_s']['median']} s | {r['api_s']['p95']} s | {r['api_s']['max']} s | < 1 s | {met(r['api_s']['max'], GOALS['api_s'])} |
| a command's round trip in a browser terminal, {r['labs']} trainees open | {r['terminal_round_trip_s']['median']} s | {r['terminal_round_trip_s']['p95']} s | {r['terminal_round_trip_s']['max']} s | | |
| the first command, {r['labs']} terminals opened at once (the shell starting) | {r['terminal_first_command_s']['median']} s | {r['terminal_first_command_s']['p95']} s | {r['terminal_first_command_s']['max']} s | | |

The server process's CPU while {r['labs']} trainees' pages were open (a shell each, the status
every 5 s, a command every 10 s; the poller sweeping every lab's checks meanwhile):
**{r['server_cpu_percent_of_a_core']} % of one core**. One trainee's "check my work" meanwhile: {r['check_s']} s.
Left after `lab class down`: {len(r['left_after_down'])} containers.
"""


if __name__ == "__main__":
    sys.exit(main())
