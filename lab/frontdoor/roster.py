"""The class's roster: for each lab, its trainee's URL, credential, ssh command and cluster
address; as CSV, JSON or a printable HTML sheet (one card per trainee)."""

from __future__ import annotations

import csv
import io
import json

from pathlib import Path

from ..model.config import LabConfig
from .record import ClassRecord

HERE = Path(__file__).parent

FORMATS = ("csv", "json", "html")


def entries(record: ClassRecord, cfgs: dict[str, LabConfig]) -> list[dict]:
    served = record.served or {}
    url, host, port = served.get("url"), served.get("ssh_host"), served.get("ssh_port")
    out = []
    for name in sorted(record.credentials):
        cfg = cfgs.get(name)
        out.append({
            "lab": name,
            "url": f"{url}lab/{name}/" if url else None,
            "login": name,
            "password": record.credentials[name],
            "ssh": f"ssh -p {port} {name}@{host}" if port else None,
            "ssh_node": f"ssh -p {port} {name}+ha1@{host}" if port else None,
            "ssh_fingerprint": served.get("ssh_fingerprint"),
            "cluster_address": cfg.vip if cfg else None,
            "site": f"{url}lab/{name}/site/hostname.html" if url else None,
        })
    return out


def render(record: ClassRecord, cfgs: dict[str, LabConfig], fmt: str) -> str:
    rows = entries(record, cfgs)
    if fmt == "json":
        return json.dumps({"class": record.klass, "served": record.served or None, "trainees": rows}, indent=2)
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(rows[0]) if rows else ["lab"])
        writer.writeheader()
        writer.writerows(rows)
        return buf.getvalue()
    from .extra import need
    need("lab class roster --format html")
    from jinja2 import Environment, FileSystemLoader, select_autoescape
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]))
    return env.get_template("roster.html").render(klass=record.klass, rows=rows, served=record.served)
