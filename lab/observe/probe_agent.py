#!/usr/bin/env python3
"""The availability probe's client: requests to the cluster URL many times a second, each on
a fresh TCP connection, with short connect and read timeouts and monotonic timestamps.

Standard library only: the lab copies this file into the client node ha3 and runs it there
(`python3 probe_agent.py URL --hz 20`), one JSON line per request on stdout; the host side
imports it and runs the same loop in a thread.

Each request is
  ok       200 and a hostname.html body naming a node (`node` says which);
  failed   refused, reset, unreachable, an HTTP error status, or a body that is not the page;
  unknown  no answer within the timeouts (the server may yet have done it).
"""

from __future__ import annotations

import argparse
import json
import re
import socket
import sys
import threading
import time
from typing import Callable
from urllib.parse import urlsplit

NODE_RE = re.compile(rb"served from a node (\S+) in a High Availability Cluster")


def request(url: str, connect_timeout: float, read_timeout: float) -> dict:
    """One GET on a new connection. Returns {"t", "latency", "result", "node", "detail"}."""
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or 80
    path = parts.path or "/"
    t0 = time.monotonic()
    out: dict = {"t": t0, "result": "failed", "node": None, "detail": ""}
    try:
        with socket.create_connection((host, port), timeout=connect_timeout) as s:
            s.settimeout(read_timeout)
            s.sendall(f"GET {path} HTTP/1.0\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        status = head.split(b" ", 2)[1].decode() if head.count(b" ") >= 1 else "?"
        m = NODE_RE.search(body)
        if status == "200" and m:
            out.update(result="ok", node=m.group(1).decode())
        else:
            out["detail"] = f"HTTP {status}" if status != "200" else "wrong body"
    except socket.timeout:
        out.update(result="unknown", detail="timeout")
    except OSError as exc:  # refused, reset, unreachable
        out["detail"] = type(exc).__name__
    out["latency"] = time.monotonic() - t0
    return out


def poll(url: str, hz: float, emit: Callable[[dict], None], stop: threading.Event,
         connect_timeout: float = 0.25, read_timeout: float = 0.5) -> None:
    """Start a request every 1/hz seconds, each in its own thread so a slow one does not
    lower the rate, until `stop` is set. Results go to emit() as they complete."""
    interval = 1.0 / hz
    lock = threading.Lock()

    def one() -> None:
        result = request(url, connect_timeout, read_timeout)
        with lock:
            emit(result)

    next_t = time.monotonic()
    workers: list[threading.Thread] = []
    while not stop.is_set():
        th = threading.Thread(target=one, daemon=True)
        th.start()
        workers.append(th)
        workers = [w for w in workers if w.is_alive()]
        next_t += interval
        stop.wait(max(0.0, next_t - time.monotonic()))
    for w in workers:
        w.join(connect_timeout + read_timeout + 1)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--hz", type=float, default=20)
    ap.add_argument("--connect-timeout", type=float, default=0.25)
    ap.add_argument("--read-timeout", type=float, default=0.5)
    a = ap.parse_args()
    stop = threading.Event()

    def emit(r: dict) -> None:
        sys.stdout.write(json.dumps(r) + "\n")
        sys.stdout.flush()

    # runs until killed: the lab stops it with SIGTERM
    try:
        poll(a.url, a.hz, emit, stop, a.connect_timeout, a.read_timeout)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
