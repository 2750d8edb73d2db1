#!/usr/bin/env python3
"""The client-writes workload: clients that write to the cluster's CGI application while
faults come and go, recording what each request's client could know of it.

Standard library only: the lab copies this file into the client node ha3 and runs it there
(`python3 writes_agent.py BASE_URL --rate 10 --clients 2`), one JSON line per request on
stdout. Each client sends, at its share of the rate, adds; the first client alternates
them with increments:

  add   GET BASE/add?v=VALUE   append a unique VALUE (run, client, sequence) to the set on /ha
  incr  GET BASE/incr          read, add one, write back the counter on /ha (no lock)

and each request's result is Jepsen's:
  ok       200 "ok ...": the application says the write is on stable storage (acknowledged)
  failed   it cannot have happened: the connection was refused or timed out before the
           request was sent, or the application answered that it did not run (4xx)
  unknown  anything else: no answer after the request went out, a reset, a 5xx
"""

from __future__ import annotations

import argparse
import json
import signal
import socket
import sys
import threading
import time
from urllib.parse import urlsplit

OK, FAILED, UNKNOWN = "ok", "failed", "unknown"


def request(url: str, connect_timeout: float = 1.0, read_timeout: float = 3.0) -> tuple[str, str | None, str]:
    """One GET on a new connection: (result, node that answered, detail)."""
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or 80
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    try:
        s = socket.create_connection((host, port), timeout=connect_timeout)
    except OSError as exc:
        return FAILED, None, f"connect: {exc}"  # nothing was sent
    with s:
        try:
            s.settimeout(read_timeout)
            s.sendall(f"GET {path} HTTP/1.0\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
            data = b""
            while chunk := s.recv(4096):
                data += chunk
        except OSError as exc:
            return UNKNOWN, None, f"after sending: {exc}"
    head, _, body = data.partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n", 1)[0].decode(errors="replace")
    fields = status_line.split()
    code = int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else 0
    words = body.decode(errors="replace").split()
    if code == 200 and words[:1] == ["ok"]:
        return OK, words[-1] if len(words) >= 3 else None, ""
    if 400 <= code < 500:
        return FAILED, None, status_line
    return UNKNOWN, None, status_line or "no answer"


def client(base: str, name: str, interval: float, emit, stop: threading.Event) -> None:  # noqa: ANN001
    seq = 0
    next_at = time.monotonic()
    while not stop.is_set():
        seq += 1
        # one client increments (its odd requests), so that a lost increment is the
        # cluster's doing and not two clients racing through the unlocked counter
        op = "incr" if name.endswith("c1") and seq % 2 == 0 else "add"
        value = f"{name}-{seq}" if op == "add" else None
        url = f"{base}add?v={value}" if op == "add" else f"{base}incr"
        t0 = time.monotonic()
        result, node, detail = request(url)
        emit({"t": t0, "t_end": time.monotonic(), "client": name, "op": op, "value": value,
              "result": result, "node": node, "detail": detail})
        next_at += interval
        stop.wait(max(0.0, next_at - time.monotonic()))


def run(base: str, rate: float, clients: int, emit, stop: threading.Event, prefix: str = "") -> None:  # noqa: ANN001
    threads = [threading.Thread(target=client, args=(base, f"{prefix}c{i}", clients / rate, emit, stop), daemon=True)
               for i in range(1, clients + 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("base", help="the application's base URL, ending in /")
    ap.add_argument("--rate", type=float, default=10.0, help="requests per second, all clients together")
    ap.add_argument("--clients", type=int, default=2)
    ap.add_argument("--run", default="r", help="a prefix that makes this run's values unique")
    a = ap.parse_args()
    lock = threading.Lock()
    sent = 0

    def emit(record: dict) -> None:
        nonlocal sent
        with lock:
            sent += 1
            sys.stdout.write(json.dumps(record) + "\n")
            sys.stdout.flush()

    stop = threading.Event()
    # SIGTERM ends the run once every client has finished (and reported) its request in
    # flight: a write whose record was lost would look "unexpected" to the checker
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    run(a.base, a.rate, a.clients, emit, stop, a.run)
    print(json.dumps({"sent": sent}), flush=True)  # the count the host's history must match
    return 0


if __name__ == "__main__":
    sys.exit(main())
