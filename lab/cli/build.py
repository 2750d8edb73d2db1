"""lab images, compose."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..engine import images
from ..errors import ConfigError
from ..compose import write_compose
from ..engine.handle import docker_client
from .options import config_args, config_from


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("images", help="build the lab's images (skipped when nothing changed)")
    p.add_argument("--force", action="store_true", help="rebuild even if up to date")
    p.add_argument("--remove", action="store_true", help="remove the lab's images instead")
    p.set_defaults(func=cmd_images)

    p = sub.add_parser("compose", help="write a docker compose (v2) project of the lab")
    config_args(p)
    p.add_argument("--out", default="compose/project", help="folder to write (default compose/project)")
    p.set_defaults(func=cmd_compose)


def cmd_images(a: argparse.Namespace) -> int:
    client = docker_client()
    if a.remove:
        images.remove_images(client)
    else:
        images.ensure_images(client, force=a.force)
    return 0


def cmd_compose(a: argparse.Namespace) -> int:
    cfg = config_from(a)
    if cfg.stack != "heartbeat":
        raise ConfigError("compose --stack pacemaker: a compose project runs the article's heartbeat cluster only "
                          "(its nodes configure themselves with the article's steps); use `lab up --stack pacemaker`")
    path = write_compose(cfg, Path(a.out))
    print(f"wrote {path} and the files it mounts.\n"
          f"Build the images first (make images), then: docker compose -f {path} up -d")
    return 0
