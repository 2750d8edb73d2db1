"""`lab`: bring the article's cluster up, look at it, get a shell in it, break it, take it
down."""

# One small module per group of commands: cluster (up, down, status, shell, logs),
# breaking (fail, heal, audit, scenario, probe, cts), build (images, compose), workshop (check, guide,
# solve, reset, exercise), classroom (class up, status, reset, down), engine (rootless).

from __future__ import annotations

import argparse
import sys
from importlib import metadata

import docker.errors
import requests.exceptions

from ..errors import ConfigError, LabError
from ..waiting import WaitTimeout
from . import breaking, build, classroom, cluster, engine, workshop


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="lab", description=__doc__)
    ap.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    sub = ap.add_subparsers(dest="cmd", required=True, metavar="COMMAND")
    for group in (cluster, breaking, build, workshop, classroom, engine):
        group.add_parsers(sub)
    return ap


def version() -> str:
    """The installed package's version (pyproject.toml's)."""
    try:
        return metadata.version("heartbeat-lab")
    except metadata.PackageNotFoundError:  # run from a checkout without installing
        return "(not installed)"


def parse(argv: list[str]) -> argparse.Namespace:
    """The command line; for `lab exec`, everything after the first `--` is the command run on
    the node, untouched by lab's own options (argparse would take its --name, or refuse its -l)."""
    if "exec" in argv and "--" in argv and argv.index("exec") < argv.index("--"):
        cut = argv.index("--")
        a = parser().parse_args(argv[:cut])
        if a.cmd == "exec":
            a.argv = argv[cut + 1:]
            return a
    return parser().parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    a = parse(sys.argv[1:] if argv is None else argv)
    try:
        return a.func(a)
    except ConfigError as exc:
        print(f"lab {a.cmd}: {exc}", file=sys.stderr)
        return 2
    except (LabError, WaitTimeout) as exc:
        print(f"lab {a.cmd}: {exc}", file=sys.stderr)
        return 1
    except docker.errors.DockerException as exc:  # the engine refused something: say what, no traceback
        print(f"lab {a.cmd}: Docker said: {exc}", file=sys.stderr)
        return 1
    except requests.exceptions.RequestException as exc:  # the engine went silent (the SDK's timeout)
        print(f"lab {a.cmd}: the Docker engine did not answer: {exc}. Check that it runs and is not "
              "overloaded (`docker info`), then run the command again.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"lab {a.cmd}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
