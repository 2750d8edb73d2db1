"""The lab's images: a Debian bookworm base (pulled, or bootstrapped when there is no registry)
and the node, nfs, client and bmc images built from images/ (the build contexts)."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import shutil
import tarfile
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import docker
import docker.errors

from ..errors import LabError
from . import debian
from ..model.contract import IMAGES
from ..model.topology import LAB_IMAGES, image_name
from .labels import APP, LABEL_APP, LABEL_CONTEXT, LABEL_ROLE
from .say import Say, say_stderr

IMAGES_DIR = IMAGES
# files more than one image needs (the CTS patch: the exerciser ha3 runs CTS, the nodes its
# proxy), put into those images' build contexts as shared/
SHARED_DIR = IMAGES_DIR / "shared"
SHARED_BY = ("node", "client")
# Helper images an image is built FROM (each passed as a build argument naming its tag):
# the nodes' packages and nfs4fuse build side by side (and beside nfs), then the node is
# those plus its files; ha3 and the boards start from the nodes' packages too.
NEEDS = {"node": {"node-packages": "PACKAGES_IMAGE", "nfs4fuse": "NFS4FUSE_IMAGE"},
         "client": {"node-packages": "PACKAGES_IMAGE"}, "bmc": {"node-packages": "PACKAGES_IMAGE"}}
UPSTREAM_BASE = "debian:bookworm-slim"
BOOTSTRAP_BASE = "heartbeat-lab/base:bookworm"
COPY_TIMEOUT = 1800.0  # s without a byte that an image copy between engines tolerates

class ImageError(LabError):
    pass


def _have(client: docker.DockerClient, ref: str) -> bool:
    try:
        client.images.get(ref)
        return True
    except docker.errors.ImageNotFound:
        return False


def ensure_base(client: docker.DockerClient, say: Say = say_stderr) -> str:
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


def bootstrap_base(client: docker.DockerClient, say: Say = say_stderr) -> None:
    """debootstrap a minimal bookworm into a temporary folder and `docker import` it."""
    if os.geteuid() != 0:
        raise ImageError(
            "the base image must be bootstrapped (no registry reachable) and debootstrap needs root; "
            "run the build as root, or load a debian:bookworm-slim image first"
        )
    if shutil.which("debootstrap") is None:
        debian.apt_install(["debootstrap"], lambda m: say(f"base: {m}"), ImageError)
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
        slim(root)
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


# What Debian's own bookworm-slim image leaves out (its dpkg configuration, debuerreotype's
# slimify): documentation but the licences, manuals, info pages, translations. The
# bootstrapped base matches it, and every later package install writes a fifth fewer files
# (measured here: the nodes' packages installed in 21.7 s instead of 26.7 s).
SLIM_EXCLUDES = """path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/overrides/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/man/*
"""


def slim(root: Path) -> None:
    """Make a debootstrapped root like bookworm-slim: its dpkg excludes, and what they
    exclude removed from the packages already there."""
    (root / "etc/dpkg/dpkg.cfg.d/docker-slim").write_text(SLIM_EXCLUDES)
    for top in ("usr/share/groff", "usr/share/info", "usr/share/linda", "usr/share/lintian/overrides",
                "usr/share/locale", "usr/share/man"):
        for child in (root / top).glob("*"):
            shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
    doc = root / "usr/share/doc"
    for pkg in doc.iterdir() if doc.is_dir() else ():
        if pkg.is_symlink() or not pkg.is_dir():
            continue
        for top, dirs, files in os.walk(pkg, topdown=False):  # never into a symlinked folder
            for name in files:
                if not (name == "copyright" and Path(top) == pkg):
                    os.unlink(os.path.join(top, name))
            for name in dirs:
                path = os.path.join(top, name)
                if os.path.islink(path):
                    os.unlink(path)
                elif not os.listdir(path):
                    os.rmdir(path)


def _run(cmd: list[str], what: str) -> None:
    debian.run(cmd, what, ImageError)


def context_files(kind: str) -> dict[str, Path]:
    """The build context of images/<kind>: its own files, and images/shared/ as shared/ for
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
    """Hash of everything a build depends on: the context's files, those of the helper images
    it is built from (so that an image is up to date without its helpers present: an engine
    the images were copied to has only the lab's own), and the base image id."""
    h = hashlib.sha256(base_id.encode())
    for k in (kind, *sorted(NEEDS.get(kind, ()))):
        for name, path in context_files(k).items():
            h.update(f"{k}/{name}".encode() if k != kind else name.encode())
            h.update(oct(path.stat().st_mode & 0o777).encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


def up_to_date(client: docker.DockerClient, kind: str, base_id: str) -> bool:
    return _built_from(client, kind, context_hash(kind, base_id))


def _built_from(client: docker.DockerClient, kind: str, digest: str) -> bool:
    """The image of `kind` exists and its label names the inputs hashed as `digest`."""
    try:
        return client.images.get(image_name(kind)).labels.get(LABEL_CONTEXT) == digest
    except docker.errors.ImageNotFound:
        return False


def build_image(client: docker.DockerClient, kind: str, base: str, say: Say = say_stderr, force: bool = False,
                helpers: dict[str, str] | None = None) -> str:
    """Build images/<kind> unless an image built from the same inputs exists. Returns the tag.
    `helpers`: the tags of the helper images it is built from, by build argument."""
    tag = image_name(kind)
    digest = context_hash(kind, client.images.get(base).id)  # the context read once, for the check and the label
    if not force and _built_from(client, kind, digest):
        say(f"image {tag}: up to date")
        return tag
    say(f"image {tag}: building from images/{kind} on {base} ...")
    t0 = time.monotonic()
    log: list[str] = []
    stream = client.api.build(
        fileobj=context_tar(kind),
        custom_context=True,
        tag=tag,
        buildargs={"BASE_IMAGE": base, **(helpers or {})},
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


def ensure_images(client: docker.DockerClient | None = None, say: Say = say_stderr, force: bool = False,
                  kinds: tuple[str, ...] = LAB_IMAGES) -> dict[str, str]:
    """The base, then the images (`kinds`: all by default) side by side, and the helper
    images of those that are not up to date: their package installs and the nfs4fuse compile
    overlap (a cold build took 4 min 15 s one after another)."""
    client = client or docker.from_env()
    base = ensure_base(client, say)
    base_id = client.images.get(base).id
    stale = [k for k in kinds if force or not up_to_date(client, k, base_id)]
    helpers = sorted({h for k in stale for h in NEEDS.get(k, ())})
    with ThreadPoolExecutor(max_workers=len(kinds) + len(helpers)) as pool:
        built = {h: pool.submit(build_image, client, h, base, say, force) for h in helpers}

        def build(kind: str) -> str:
            if kind not in stale:
                say(f"image {image_name(kind)}: up to date")
                return image_name(kind)
            args = {arg: built[h].result() for h, arg in NEEDS.get(kind, {}).items()}
            return build_image(client, kind, base, say, force, helpers=args)

        futures = {kind: pool.submit(build, kind) for kind in kinds}
        return {kind: f.result() for kind, f in futures.items()}


def remove_images(client: docker.DockerClient | None = None, say: Say = say_stderr) -> None:
    """Remove every image the lab built or bootstrapped."""
    client = client or docker.from_env()
    # all=True: also the build stages (labelled in their Dockerfiles), not only tagged images.
    # The engine refuses to remove an image another is built on (409, "has dependent child
    # images") in whatever order it lists them: those wait for a later pass.
    pending = client.images.list(all=True, filters={"label": f"{LABEL_APP}={APP}"})
    while pending:
        refused: list[tuple[docker.models.images.Image, docker.errors.APIError]] = []
        for img in pending:
            try:
                client.images.remove(img.id, force=True)
                say(f"removed image {', '.join(img.tags) or img.short_id}")
            except docker.errors.NotFound:
                pass  # went with an image removed before it
            except docker.errors.APIError as exc:
                if exc.status_code != 409:
                    raise
                refused.append((img, exc))
        if len(refused) == len(pending):
            img, exc = refused[0]
            raise LabError(f"lab images --remove: expected to remove {len(pending)} more image(s), the engine "
                           f"refused {', '.join(img.tags) or img.short_id}: {exc.explanation or exc}. A container "
                           "still using it? `lab ls`, then `lab down --name NAME`")
        pending = [img for img, _ in refused]


@contextlib.contextmanager
def _patient(*clients: docker.DockerClient, seconds: float = COPY_TIMEOUT):
    """The clients' read timeout raised for a copy: an engine that must first write out a
    500 MB image (under emulation in the test matrix) sends nothing for longer than the SDK's
    default of 60 s."""
    before = [c.api.timeout for c in clients]
    for c in clients:
        c.api.timeout = max(seconds, c.api.timeout or 0)
    try:
        yield
    finally:
        for c, t in zip(clients, before):
            c.api.timeout = t


def copy_images(source: docker.DockerClient, dest: docker.DockerClient, say: Say = say_stderr,
                only: tuple[str, ...] = ()) -> list[str]:
    """Bring another engine's lab images over (`docker save | docker load`, streamed): a
    rootless engine beside the machine's own gets them in well under a minute instead of a
    rebuild. Only images the destination lacks or holds in another version are sent; the
    destination's `lab images` then finds them up to date. Returns the tags sent (`only`:
    those tags alone)."""
    helpers = {image_name(h) for needs in NEEDS.values() for h in needs}  # only for building: not sent
    tags = [t for img in source.images.list(filters={"label": f"{LABEL_APP}={APP}"}) for t in img.tags
            if (t in only if only else t not in helpers)]
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
        with _patient(source, dest):
            dest.images.load(image.save(named=True))
        say(f"image {tag}: copied in {time.monotonic() - t0:.0f} s")
        sent.append(tag)
    return sent
