"""The lab's images: a Debian bookworm base (pulled, or bootstrapped when there is no registry)
and the node, nfs and client images built from lab/images/."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

import docker
import docker.errors

from ..errors import LabError
from . import debian
from ..model.topology import LAB_IMAGES, image_name
from .labels import APP, LABEL_APP, LABEL_CONTEXT, LABEL_ROLE

IMAGES_DIR = Path(__file__).resolve().parents[1] / "images"
# files more than one image needs (the CTS patch: the exerciser ha3 runs CTS, the nodes its
# proxy), put into those images' build contexts as shared/
SHARED_DIR = IMAGES_DIR / "shared"
SHARED_BY = ("node", "client")
UPSTREAM_BASE = "debian:bookworm-slim"
BOOTSTRAP_BASE = "heartbeat-lab/base:bookworm"

Say = Callable[[str], None]


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


class ImageError(LabError):
    pass


def _have(client: docker.DockerClient, ref: str) -> bool:
    try:
        client.images.get(ref)
        return True
    except docker.errors.ImageNotFound:
        return False


def ensure_base(client: docker.DockerClient, say: Say = _say) -> str:
    """Return a bookworm base image reference, bootstrapping one if none can be found or pulled."""
    wanted = os.environ.get("BASE_IMAGE", UPSTREAM_BASE)
    if _have(client, wanted):
        return wanted
    if _have(client, BOOTSTRAP_BASE):
        return BOOTSTRAP_BASE
    try:
        say(f"base: pulling {wanted} ...")
        client.images.pull(wanted)
        return wanted
    except docker.errors.APIError as exc:
        say(f"base: cannot pull {wanted} ({str(exc).splitlines()[0][:120]}); bootstrapping one")
    bootstrap_base(client, say)
    return BOOTSTRAP_BASE


def bootstrap_base(client: docker.DockerClient, say: Say = _say) -> None:
    """debootstrap a minimal bookworm into a temporary folder and `docker import` it."""
    if os.geteuid() != 0:
        raise ImageError(
            "the base image must be bootstrapped (no registry reachable) and debootstrap needs root; "
            "run the build as root, or load a debian:bookworm-slim image first"
        )
    if shutil.which("debootstrap") is None:
        say("base: installing debootstrap (apt-get) ...")
        _run(["apt-get", "install", "-y", "--no-install-recommends", "debootstrap"], "apt-get install debootstrap")
    try:
        mirror, security = debian.mirrors()
    except debian.MirrorError as exc:
        raise ImageError(str(exc)) from None
    with tempfile.TemporaryDirectory(prefix="heartbeat-lab-base-") as tmp:
        root = Path(tmp) / "rootfs"
        say(f"base: debootstrap --variant=minbase bookworm from {mirror} (about 30 s) ...")
        t0 = time.monotonic()
        _run(["debootstrap", "--variant=minbase", "bookworm", str(root), mirror], "debootstrap")
        (root / "etc/apt/sources.list").write_text(
            f"deb {mirror} bookworm main\n"
            f"deb {mirror} bookworm-updates main\n"
            f"deb {security} bookworm-security main\n"
        )
        for junk in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for p in (root / junk).glob("*"):
                if p.is_file():
                    p.unlink()
        say(f"base: debootstrap done in {time.monotonic() - t0:.0f} s; importing as {BOOTSTRAP_BASE} ...")
        tar_path = Path(tmp) / "rootfs.tar"
        with tarfile.open(tar_path, "w") as tar:
            tar.add(root, arcname=".")
        client.api.import_image_from_file(
            str(tar_path),
            repository=BOOTSTRAP_BASE.split(":")[0],
            tag=BOOTSTRAP_BASE.split(":")[1],
            changes=[f"LABEL {LABEL_APP}={APP} {LABEL_ROLE}=base", 'CMD ["bash"]'],
        )
        if not _have(client, BOOTSTRAP_BASE):
            raise ImageError(f"docker import did not produce {BOOTSTRAP_BASE}")


def _run(cmd: list[str], what: str) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-15:])
        raise ImageError(f"{what} failed (exit {proc.returncode}):\n{tail}")


def context_files(kind: str) -> dict[str, Path]:
    """The build context of lab/images/<kind>: its own files, and lab/images/shared/ as shared/ for
    the images that use it."""
    files = {}
    for top, prefix in ((IMAGES_DIR / kind, ""), *(((SHARED_DIR, "shared/"),) if kind in SHARED_BY else ())):
        for path in sorted(p for p in top.rglob("*") if p.is_file()):
            files[prefix + str(path.relative_to(top))] = path
    return files


def context_tar(kind: str) -> io.BytesIO:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, path in context_files(kind).items():
            tar.add(str(path), arcname=name)
    buf.seek(0)
    return buf


def context_hash(kind: str, base_id: str) -> str:
    """Hash of everything a build depends on: the context's files and the base image id."""
    h = hashlib.sha256(base_id.encode())
    for name, path in context_files(kind).items():
        h.update(name.encode())
        h.update(oct(path.stat().st_mode & 0o777).encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def build_image(client: docker.DockerClient, kind: str, base: str, say: Say = _say, force: bool = False) -> str:
    """Build lab/images/<kind> unless an image built from the same inputs exists. Returns the tag."""
    tag = image_name(kind)
    digest = context_hash(kind, client.images.get(base).id)
    if not force:
        try:
            existing = client.images.get(tag)
            if existing.labels.get(LABEL_CONTEXT) == digest:
                say(f"image {tag}: up to date")
                return tag
        except docker.errors.ImageNotFound:
            pass
    say(f"image {tag}: building from lab/images/{kind} on {base} ...")
    t0 = time.monotonic()
    log: list[str] = []
    stream = client.api.build(
        fileobj=context_tar(kind),
        custom_context=True,
        tag=tag,
        buildargs={"BASE_IMAGE": base},
        labels={LABEL_APP: APP, LABEL_ROLE: f"image-{kind}", LABEL_CONTEXT: digest},
        rm=True,
        forcerm=True,
        decode=True,
    )
    for chunk in stream:
        if "error" in chunk:
            tail = "\n".join(log[-20:])
            raise ImageError(f"building {tag} failed: {chunk['error'].strip()}\n--- last build output ---\n{tail}")
        line = chunk.get("stream", "").rstrip()
        if line:
            log.append(line)
            if line.startswith("Step "):
                say(f"  {kind}: {line[:150]}")
    say(f"image {tag}: built in {time.monotonic() - t0:.0f} s")
    return tag


def ensure_images(client: docker.DockerClient | None = None, say: Say = _say, force: bool = False) -> dict[str, str]:
    """The base, then the three images side by side: their package downloads and the node's
    nfs4fuse compile overlap (a cold build took 4 min 15 s one after another)."""
    client = client or docker.from_env()
    base = ensure_base(client, say)
    with ThreadPoolExecutor(max_workers=len(LAB_IMAGES)) as pool:
        futures = {kind: pool.submit(build_image, client, kind, base, say, force) for kind in LAB_IMAGES}
        return {kind: f.result() for kind, f in futures.items()}


def remove_images(client: docker.DockerClient | None = None, say: Say = _say) -> None:
    """Remove every image the lab built or bootstrapped."""
    client = client or docker.from_env()
    # all=True: also the build stages (labelled in their Dockerfiles), not only tagged images
    for img in client.images.list(all=True, filters={"label": f"{LABEL_APP}={APP}"}):
        try:
            client.images.remove(img.id, force=True)
            say(f"removed image {', '.join(img.tags) or img.short_id}")
        except docker.errors.NotFound:
            pass  # went with an image removed before it


def copy_images(source: docker.DockerClient, dest: docker.DockerClient, say: Say = _say,
                only: tuple[str, ...] = ()) -> list[str]:
    """Bring another engine's lab images over (`docker save | docker load`, streamed): a
    rootless engine beside the machine's own gets them in well under a minute instead of a
    rebuild. Only images the destination lacks or holds in another version are sent; the
    destination's `lab images` then finds them up to date. Returns the tags sent (`only`:
    those tags alone)."""
    tags = [t for img in source.images.list(filters={"label": f"{LABEL_APP}={APP}"}) for t in img.tags
            if not only or t in only]
    sent = []
    for tag in sorted(tags):
        image = source.images.get(tag)
        try:
            if dest.images.get(tag).id == image.id:
                continue
        except docker.errors.ImageNotFound:
            pass
        t0 = time.monotonic()
        say(f"image {tag}: copying to the other engine ({image.attrs.get('Size', 0) / 1e6:.0f} MB) ...")
        dest.images.load(image.save(named=True))
        say(f"image {tag}: copied in {time.monotonic() - t0:.0f} s")
        sent.append(tag)
    return sent
