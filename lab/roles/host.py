"""What any of the lab's containers answers (a node, nfsha, ha3): files, their modes, links
and sums, mounts, processes, addresses, its name. The workshop's checks look at a trainee's
work through these; each is a command builder and, where the output needs reading, its
parser."""

from __future__ import annotations

from ..engine.handle import LabHandle


def exists_argv(path: str) -> list[str]:
    return ["test", "-e", path]


def mode_argv(path: str) -> list[str]:
    return ["stat", "-c", "%a", path]


def parse_mode(output: str) -> int:
    """stat's octal mode ("600") as a number (0o600)."""
    return int(output.strip(), 8)


def read_argv(path: str) -> list[str]:
    return ["cat", path]


def link_argv(path: str) -> list[str]:
    return ["readlink", path]


def kind_argv(path: str) -> list[str]:
    """What the path is: "regular file", "directory", "symbolic link" ..."""
    return ["stat", "-c", "%F", path]


def sum_argv(path: str) -> list[str]:
    return ["sha256sum", path]


def parse_sum(output: str) -> str:
    return output.strip().split(" ")[0]


def mount_argv(path: str) -> list[str]:
    """What is mounted on `path`: "SOURCE FSTYPE", or nothing."""
    return ["awk", f'$2=="{path}"{{print $1, $3}}', "/proc/mounts"]


def process_argv(name: str, full: bool = False) -> list[str]:
    """Exit 0 while a process called `name` runs; full=True matches `name` as a pattern
    against whole command lines."""
    return ["pgrep", "-f" if full else "-x", name]


def addresses_argv() -> list[str]:
    return ["ip", "-4", "-o", "addr", "show"]


def has_address(output: str, ip: str) -> bool:
    """`ip -4 -o addr show` lists `ip` (on any interface)."""
    return f" {ip}/" in output


def name_argv() -> list[str]:
    return ["uname", "-n"]


class Host:
    def __init__(self, lab: LabHandle, name: str):
        self.lab, self.name = lab, name

    def ask(self, argv: list[str], timeout: float = 15) -> tuple[int, str]:
        """(exit code, output stripped) of one of the commands above."""
        res = self.lab.run(self.name, argv, timeout=timeout)
        return res.code, res.output.strip()
