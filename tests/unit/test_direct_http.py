"""The lab's own HTTP (to its VIP or its 127.0.0.1 port) never goes through a proxy that the
environment names: a proxy cannot reach a lab's private addresses."""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import requests

from lab.observe.state import direct_get


class _Page(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the standard library's name
        body = b"<h1>ha1</h1>"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def page_url():
    server = HTTPServer(("127.0.0.1", 0), _Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hostname.html"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def dead_proxy(monkeypatch):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))  # bound, never listening: a proxy that refuses
        url = f"http://127.0.0.1:{s.getsockname()[1]}"
        for var in ("NO_PROXY", "no_proxy"):
            monkeypatch.delenv(var, raising=False)
        for var in ("http_proxy", "HTTP_PROXY", "ALL_PROXY"):
            monkeypatch.setenv(var, url)
        yield url


def test_a_plain_request_would_go_to_the_proxy_and_fail(page_url, dead_proxy):
    with pytest.raises(requests.exceptions.ProxyError):
        requests.get(page_url, timeout=3)


def test_the_labs_get_goes_straight_to_the_lab(page_url, dead_proxy):
    r = direct_get(page_url, timeout=3)
    assert r.status_code == 200 and r.text == "<h1>ha1</h1>"
