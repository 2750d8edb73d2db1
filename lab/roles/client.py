"""ha3, the article's third machine: the browser on the LAN that fetches the cluster's pages
with curl, as the article's reader did."""

from __future__ import annotations

from ..engine.handle import LabHandle
from ..model.config import CLIENT


# ---- build and parse: pure -----------------------------------------------------------------
def get_argv(url: str, timeout: float) -> list[str]:
    """The page's body, then its HTTP code on a line of its own (000: no answer)."""
    return ["curl", "-s", "-m", f"{timeout:g}", "-w", "\n%{http_code}", url]


def parse_get(output: str) -> tuple[int, str]:
    """(HTTP code, body); code 0 when nothing answered."""
    body, _, code = output.rpartition("\n")
    return (int(code) if code.strip().isdigit() else 0), body


def response_argv(url: str, timeout: float, head: bool = False) -> list[str]:
    """The whole response, its status line and headers included (-i), for a proxy."""
    return ["curl", "-s", "-i", "-m", f"{timeout:g}", *(["-I"] if head else []), url]


def parse_response(output: bytes | str) -> tuple[int, dict[str, str], bytes] | None:
    """(status, headers, body), or None when nothing answered."""
    raw = output.encode() if isinstance(output, str) else output
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    if not lines or not lines[0].startswith("HTTP/"):
        return None
    headers = {k.strip(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
    return int(lines[0].split()[1]), headers, body


# ha3 as CTS's exerciser: its key, its ssh to the nodes, CTS's configuration folder
EXERCISER_KEY = "/root/.ssh/id_ed25519"
KNOWN_HOSTS = "/root/.ssh/known_hosts"


def new_key_script(comment: str) -> str:
    """A new ed25519 key pair for root, replacing any earlier one."""
    return (f"install -d -m 700 /root/.ssh && rm -f {EXERCISER_KEY} {EXERCISER_KEY}.pub && "
            f"ssh-keygen -q -t ed25519 -N '' -C '{comment}' -f {EXERCISER_KEY}")


def ssh_argv(node: str, *command: str) -> list[str]:
    return ["ssh", node, *command]


def etc_dir_argv(path: str) -> list[str]:
    return ["install", "-d", path]


def stop_cts_argv() -> list[str]:
    return ["pkill", "-TERM", "-f", "CTSlab.py"]


def stop_agent_argv(path: str) -> list[str]:
    """SIGTERM to an agent of the lab's (it reports what was in flight and exits)."""
    return ["pkill", "-TERM", "-f", path]


# ---- run them on a lab ---------------------------------------------------------------------
class Client:
    def __init__(self, lab: LabHandle):
        self.lab = lab

    def get(self, path: str, timeout: float = 3.0) -> tuple[int, str]:
        """GET a page of the cluster URL from ha3: (HTTP code, body); code 0 when nothing answered."""
        res = self.lab.run(CLIENT, get_argv(f"{self.lab.cfg.url}{path}", timeout), timeout=timeout + 7)
        return parse_get(res.output)

    def response(self, path: str, timeout: float = 8.0, head: bool = False) -> tuple[int, dict[str, str], bytes] | None:
        res = self.lab.run(CLIENT, response_argv(f"{self.lab.cfg.url}{path}", timeout, head), timeout=timeout + 7)
        return parse_response(res.output)
