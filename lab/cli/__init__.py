"""`lab`: bring the article's cluster up, look at it, get a shell in it, break it, take it
down."""

# One small module per group of commands: cluster (up, down, status, shell, logs),
# breaking (fail, heal, audit, scenario, probe, cts), build (images, compose), workshop (check, guide,
# solve, reset, exercise), classroom (class up, status, reset, down), engine (rootless).

from __future__ import annotations

import argparse
import sys

import docker.errors

from ..errors import ConfigError, LabError
from ..waiting import WaitTimeout
from . import breaking, build, classroom, cluster, engine, workshop


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="lab", description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True, metavar="COMMAND")
    for group in (cluster, breaking, build, workshop, classroom, engine):
        group.add_parsers(sub)
    return ap


def main(argv: list[str] | None = None) -> int:
    a = parser().parse_args(argv)
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
    except KeyboardInterrupt:
        print(f"lab {a.cmd}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
