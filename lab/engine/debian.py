"""Where the Debian packages come from when the lab bootstraps its own base image: the
host's apt configuration, or the environment. The project names no mirror of its own. And
the host's own tools: a command that fails with the end of its output, and apt-get."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import LabError

ENV_MIRROR = "LAB_DEBIAN_MIRROR"
ENV_SECURITY = "LAB_DEBIAN_SECURITY_MIRROR"
APT_DIR = Path("/etc/apt")
# suites that say a source is Debian itself (not a third-party repository on the host)
DEBIAN_SUITES = {"buster", "bullseye", "bookworm", "trixie", "forky", "sid",
                 "oldstable", "stable", "testing", "unstable"}


class MirrorError(RuntimeError):
    pass


@dataclass(frozen=True)
class Source:
    uri: str
    suites: tuple[str, ...]
    components: tuple[str, ...]

    @property
    def security(self) -> bool:
        return any(s.endswith("-security") or s.endswith("/updates") for s in self.suites)

    @property
    def debian(self) -> bool:
        return any(s.split("-")[0].split("/")[0] in DEBIAN_SUITES for s in self.suites) and "main" in self.components


def parse_one_line(text: str) -> list[Source]:
    """`deb [options] URI SUITE COMPONENT...` lines (sources.list, *.list)."""
    out = []
    for line in text.splitlines():
        line = re.sub(r"\[[^]]*\]", " ", line.split("#", 1)[0]).split()  # type: ignore[assignment]
        if len(line) >= 4 and line[0] == "deb":
            out.append(Source(line[1].rstrip("/"), (line[2],), tuple(line[3:])))
    return out


def parse_deb822(text: str) -> list[Source]:
    """deb822 stanzas (*.sources): Types, URIs, Suites, Components, Enabled."""
    out = []
    for stanza in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        key = None
        for line in stanza.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            if line[0].isspace() and key:
                fields[key] += " " + line.strip()
                continue
            key, _, val = line.partition(":")
            key = key.strip().lower()
            fields[key] = val.strip()
        if "deb" not in fields.get("types", "").split() or fields.get("enabled", "yes").lower() == "no":
            continue
        suites = tuple(fields.get("suites", "").split())
        comps = tuple(fields.get("components", "").split())
        out += [Source(uri.rstrip("/"), suites, comps) for uri in fields.get("uris", "").split()]
    return out


def host_sources(apt_dir: Path = APT_DIR) -> list[Source]:
    found: list[Source] = []
    files = [apt_dir / "sources.list", *sorted((apt_dir / "sources.list.d").glob("*.list"))]
    for f in files:
        if f.is_file():
            found += parse_one_line(f.read_text(errors="replace"))
    for f in sorted((apt_dir / "sources.list.d").glob("*.sources")):
        found += parse_deb822(f.read_text(errors="replace"))
    return found


def mirrors(env: dict[str, str] | None = None, apt_dir: Path = APT_DIR) -> tuple[str, str]:
    """(Debian mirror, Debian security mirror): the environment's, else the host's apt
    sources'. Raises MirrorError naming both places when either cannot be found."""
    env = dict(os.environ if env is None else env)
    sources = [s for s in host_sources(apt_dir) if s.debian]
    main = env.get(ENV_MIRROR) or next((s.uri for s in sources if not s.security), None)
    security = env.get(ENV_SECURITY) or next((s.uri for s in sources if s.security), None)
    missing = []
    if not main:
        missing.append(f"the Debian mirror: set {ENV_MIRROR}=http://<mirror>/debian")
    if not security:
        missing.append(f"the Debian security mirror: set {ENV_SECURITY}=http://<mirror>/debian-security")
    if missing:
        raise MirrorError(
            f"the base image is bootstrapped with debootstrap and needs a Debian mirror; neither the "
            f"environment nor the host's apt sources ({apt_dir}/sources.list, {apt_dir}/sources.list.d) "
            "name " + " nor ".join(m.split(':')[0] for m in missing) + ". " + "; ".join(missing)
        )
    return str(main).rstrip("/"), str(security).rstrip("/")


# ---- the host's tools ------------------------------------------------------------------------
def run(cmd: list[str], what: str, error: type[Exception] = LabError, **kw) -> subprocess.CompletedProcess:
    """Run a host command; if it fails, raise `error` saying what failed, its exit status and
    the end of its output."""
    res = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if res.returncode != 0:
        tail = "\n  ".join((res.stdout + res.stderr).strip().splitlines()[-15:])
        raise error(f"{what} failed (exit {res.returncode}):\n  {tail}")
    return res


def apt_install(packages: list[str], say: Callable[[str], None], error: type[Exception] = LabError) -> None:
    """Install Debian packages from the host's own apt sources (no mirror named here); when
    the first try fails (lists never fetched on a fresh machine, or stale), update the lists
    and try again."""
    if not packages:
        return
    say(f"installing {' '.join(packages)} (apt-get) ...")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    cmd = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages]
    if subprocess.run(cmd, env=env, capture_output=True).returncode != 0:
        run(["apt-get", "update", "-qq"], "apt-get update", error, env=env)
        run(cmd, f"apt-get install {' '.join(packages)}", error, env=env)
