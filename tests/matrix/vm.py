"""The matrix's virtual machine: a Debian bookworm host as users have one (Debian's stock
kernel, systemd, cgroup v2, the kernel's NFS client as a module, Docker, rootless Docker's
parts and Podman from Debian), booted with QEMU.

Made on this machine without booting anything: debootstrap into a folder (the host's Debian
mirror, as the lab's own base image), the files under tests/matrix/root/ laid over it, the
lab's Python dependencies installed into /opt/lab-venv from wheels built here, and the folder
packed into an ext4 disk image (mkfs.ext4 -d, no mount). The disk, its kernel and initrd are
cached under CACHE by a key of everything they are made from; each run boots a copy-on-write
overlay of it, so the cached disk stays as built.

A run carries the job in a second disk (the project's files, the lab's images as `docker
save` wrote them, the cells to run): a systemd unit in the VM runs it at boot, prints to the
second serial port (which the host follows) and powers off; the host then reads the results
back from that disk with debugfs. Nothing is rebuilt inside, nothing is fetched there, and
the VM has no network of its own."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(PROJECT))

from lab.engine import debian  # noqa: E402  (the same mirror rules as the lab's base image)

HERE = Path(__file__).resolve().parent
OVERLAY = HERE / "root"
CACHE = Path(os.environ.get("LAB_MATRIX_CACHE", "/var/cache/heartbeat-lab-matrix"))
# the host's packages: Debian's stock kernel, systemd, the engines, the NFS client's tools
BASE_PACKAGES = (
    "systemd-sysv", "udev", "dbus", "linux-image-amd64", "kmod", "procps", "iproute2", "iptables",
    "ca-certificates", "e2fsprogs", "nfs-common", "fuse3", "python3", "python3-venv",
)
# the engines, installed by apt-get in the root afterwards (debootstrap configures its
# --include packages in one pass, and podman's containers-common fails to configure there)
ENGINE_PACKAGES = (
    # apparmor: Debian's kernel enables AppArmor, and Docker then loads its docker-default
    # profile with apparmor_parser (without it no container starts: seen in the first run)
    "apparmor", "docker.io", "uidmap", "rootlesskit", "slirp4netns", "fuse-overlayfs", "dbus-user-session",
    "podman", "catatonit",
)
PACKAGES = BASE_PACKAGES + ENGINE_PACKAGES
ROOT_SIZE = "24G"  # sparse: the images three engines load, and the labs' containers
MEMORY_MB = int(os.environ.get("LAB_MATRIX_MEMORY", "4096"))
CPUS = int(os.environ.get("LAB_MATRIX_CPUS", "2"))
KVM_PROBE_S = 20.0  # a VM under KVM prints its kernel's first line well within this


def say(msg: str) -> None:
    print(f"matrix: {msg}", flush=True)


class MatrixError(RuntimeError):
    pass


def _run(cmd: list[str], what: str, **kw) -> subprocess.CompletedProcess:
    return debian.run(cmd, what, MatrixError, **kw)


def python_requirements() -> list[str]:
    """The lab's own dependencies (pyproject.toml's), nothing of the test or class extras."""
    import tomllib

    return list(tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"]["dependencies"])


def root_key() -> str:
    """What the cached disk is made from: the packages, the overlay's files, the Python
    requirements and the Python that builds their wheels (its minor version is the VM's)."""
    h = hashlib.sha256(json.dumps([PACKAGES, python_requirements(), sys.version_info[:2]]).encode())
    for path in sorted(p for p in OVERLAY.rglob("*") if p.is_file()):
        h.update(str(path.relative_to(OVERLAY)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:12]


@dataclass(frozen=True)
class Root:
    folder: Path

    @property
    def disk(self) -> Path:
        return self.folder / "root.img"

    @property
    def kernel(self) -> Path:
        return self.folder / "vmlinuz"

    @property
    def initrd(self) -> Path:
        return self.folder / "initrd.img"

    @property
    def facts(self) -> dict:
        return json.loads((self.folder / "facts.json").read_text())

    def ready(self) -> bool:
        return all(p.exists() for p in (self.disk, self.kernel, self.initrd, self.folder / "facts.json"))


def root() -> Root:
    return Root(CACHE / f"root-{root_key()}")


TOOLS = (("debootstrap", "debootstrap"), ("qemu-system-x86_64", "qemu-system-x86"), ("qemu-img", "qemu-utils"),
         ("mkfs.ext4", "e2fsprogs"), ("debugfs", "e2fsprogs"))


def ensure_tools() -> None:
    """The VM builder's tools, installed where missing, then checked again: installing one
    package can remove another (seen on a CI machine: qemu-system-x86 7.2 from bookworm
    removed the qemu-utils 10.0 of bookworm-backports the machine came with, and qemu-img
    was gone), so a second round installs what the first took away, from the same release."""
    for _ in range(2):
        missing = sorted({pkg for tool, pkg in TOOLS if not shutil.which(tool)})
        if not missing:
            return
        debian.apt_install(missing, say, MatrixError)
    gone = [tool for tool, _ in TOOLS if not shutil.which(tool)]
    if gone:
        raise MatrixError(f"expected {', '.join(gone)} after apt-get install, found none: install "
                          f"{', '.join(sorted({p for t, p in TOOLS if t in gone}))} by hand and run again")


def build_root(force: bool = False) -> Root:
    """The VM's disk, kernel and initrd: from the cache when their key matches."""
    r = root()
    if r.ready() and not force:
        say(f"VM disk: cached ({r.folder})")
        return r
    if os.geteuid() != 0:
        raise MatrixError("the VM's root is made with debootstrap and mkfs.ext4 -d, which need root")
    ensure_tools()
    mirror, security = debian.mirrors()
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="root-", dir=CACHE))
    try:
        fs = tmp / "fs"
        t0 = time.monotonic()
        say(f"VM disk: debootstrap bookworm from {mirror} with Debian's kernel, systemd, docker.io, podman "
            "(about 4 min) ...")
        try:
            _run(["debootstrap", "--variant=minbase", "--include=" + ",".join(BASE_PACKAGES), "bookworm", str(fs),
                  mirror], "debootstrap")
        except MatrixError:
            log = fs / "debootstrap/debootstrap.log"
            if log.exists():
                shutil.copy2(log, CACHE / "debootstrap-failed.log")
                say(f"debootstrap's own log: {CACHE / 'debootstrap-failed.log'}")
            raise
        say(f"VM disk: debootstrap done in {time.monotonic() - t0:.0f} s")
        (fs / "etc/apt/sources.list").write_text(f"deb {mirror} bookworm main\ndeb {security} bookworm-security main\n")
        _apt_install(fs, ENGINE_PACKAGES)
        shutil.copytree(OVERLAY, fs, dirs_exist_ok=True, symlinks=True)
        (fs / "job").mkdir(exist_ok=True)
        wants = fs / "etc/systemd/system/multi-user.target.wants"
        wants.mkdir(parents=True, exist_ok=True)
        link = wants / "matrix-job.service"
        if not link.exists():
            link.symlink_to("/etc/systemd/system/matrix-job.service")
        # no login prompt on the console: the job is the VM's only business
        for unit in ("serial-getty@ttyS0.service", "getty@tty1.service"):
            (fs / "etc/systemd/system" / unit).unlink(missing_ok=True)
            (fs / "etc/systemd/system" / unit).symlink_to("/dev/null")
        _install_venv(fs)
        boot = fs / "boot"
        kernel = max(boot.glob("vmlinuz-*"))
        initrd = max(boot.glob("initrd.img-*"))
        shutil.copy2(kernel, tmp / "vmlinuz")
        shutil.copy2(initrd, tmp / "initrd.img")
        versions = _installed(fs, ("linux-image-amd64", "docker.io", "podman", "rootlesskit", "systemd"))
        (tmp / "facts.json").write_text(json.dumps({"kernel_file": kernel.name, "packages": versions,
                                                    "mirror": mirror}, indent=1))
        for junk in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for p in (fs / junk).glob("*.deb"):
                p.unlink()
        say(f"VM disk: packing {ROOT_SIZE} (sparse) ext4 image ...")
        _run(["mkfs.ext4", "-q", "-F", "-L", "root", "-d", str(fs), str(tmp / "root.img"), ROOT_SIZE], "mkfs.ext4")
        subprocess.run(["rm", "-rf", "--one-file-system", str(fs)], check=True)
        if r.folder.exists():
            shutil.rmtree(r.folder)
        tmp.rename(r.folder)
        for stale in CACHE.glob("root-*"):  # disks of earlier inputs: never booted again
            if stale != r.folder and (stale / "root.img").exists():
                say(f"VM disk: removing the stale {stale.name}")
                shutil.rmtree(stale)
        say(f"VM disk: ready in {time.monotonic() - t0:.0f} s: {r.folder} ({kernel.name})")
        return r
    finally:
        if tmp.exists():
            subprocess.run(["rm", "-rf", "--one-file-system", str(tmp)])


def _apt_install(fs: Path, packages: tuple[str, ...]) -> None:
    """apt-get install in the root (its own dependency order), with /proc, /sys and /dev from
    this machine for the packages' scripts and no service started (policy-rc.d)."""
    say(f"VM disk: apt-get install {' '.join(packages)} in the root ...")
    policy = fs / "usr/sbin/policy-rc.d"
    policy.write_text("#!/bin/sh\nexit 101\n")
    policy.chmod(0o755)
    shutil.copy2("/etc/resolv.conf", fs / "etc/resolv.conf")
    mounts = []
    try:
        for what, args in (("proc", ["-t", "proc", "proc"]), ("sys", ["-t", "sysfs", "sysfs"]),
                           ("dev", ["--bind", "/dev"])):
            _run(["mount", *args, str(fs / what)], f"mount {what} in the root")
            mounts.append(fs / what)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        _run(["chroot", str(fs), "apt-get", "update", "-qq"], "apt-get update in the root", env=env)
        _run(["chroot", str(fs), "apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages],
             "apt-get install in the root", env=env)
        _run(["chroot", str(fs), "apt-get", "clean"], "apt-get clean in the root", env=env)
    finally:
        for m in reversed(mounts):
            subprocess.run(["umount", "-l", str(m)])
        policy.unlink(missing_ok=True)
        (fs / "etc/resolv.conf").unlink(missing_ok=True)


def _installed(fs: Path, packages: tuple[str, ...]) -> dict[str, str]:
    out = _run(["chroot", str(fs), "dpkg-query", "-W", "-f", "${Package} ${Version}\n", *packages], "dpkg-query")
    return dict(line.split(" ", 1) for line in out.stdout.splitlines() if " " in line)


def _install_venv(fs: Path) -> None:
    """/opt/lab-venv with the lab's dependencies: wheels built here (the same Python minor
    version as bookworm's), installed in the root with its own python3, from no index."""
    wheels = fs / "tmp/wheels"
    wheels.mkdir(parents=True)
    say("VM disk: the lab's Python dependencies (pip wheel here, pip install in the root) ...")
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--wheel-dir", str(wheels), *python_requirements()],
         "pip wheel")
    _run(["chroot", str(fs), "python3", "-m", "venv", "/opt/lab-venv"], "python3 -m venv in the VM's root")
    _run(["chroot", str(fs), "/opt/lab-venv/bin/pip", "install", "-q", "--no-index", "--find-links", "/tmp/wheels",
          *python_requirements()], "pip install in the VM's root")
    shutil.rmtree(wheels)


# ---- a run -----------------------------------------------------------------------------------
def make_job_disk(job: Path, disk: Path) -> None:
    """The job folder packed into an ext4 image with room for what the job writes."""
    used = int(_run(["du", "-sb", str(job)], "du").stdout.split()[0])
    size_mb = used // 2**20 + 1024
    _run(["mkfs.ext4", "-q", "-F", "-L", "job", "-d", str(job), str(disk), f"{size_mb}M"], "mkfs.ext4 (job disk)")


def read_back(disk: Path, folder: str, dest: Path) -> None:
    """Copy `folder` out of an ext4 image without mounting it."""
    dest.mkdir(parents=True, exist_ok=True)
    _run(["debugfs", "-R", f"rdump {folder} {dest}", str(disk)], "debugfs rdump")


class Follow(threading.Thread):
    """Print each line the VM writes to a file (a serial port), prefixed, as it comes."""

    def __init__(self, path: Path, prefix: str) -> None:
        super().__init__(daemon=True)
        self.path, self.prefix, self.stop, self.lines = path, prefix, threading.Event(), []

    def run(self) -> None:
        while not self.path.exists() and not self.stop.is_set():
            time.sleep(0.2)
        with open(self.path, "r", errors="replace") as f:
            buf = ""
            while True:
                chunk = f.read()
                if chunk:
                    buf += chunk.replace("\r", "")
                    *lines, buf = buf.split("\n")
                    for line in lines:
                        self.lines.append(line)
                        print(f"{self.prefix}{line}", flush=True)
                elif self.stop.is_set():
                    return
                else:
                    time.sleep(0.3)


def qemu_command(r: Root, disk: Path, job_disk: Path, console: Path, out: Path, accel: str) -> list[str]:
    cpu = ["-accel", "kvm", "-cpu", "host"] if accel == "kvm" else ["-accel", "tcg,thread=multi", "-cpu", "max"]
    return ["qemu-system-x86_64", "-machine", "q35", *cpu, "-smp", str(CPUS), "-m", str(MEMORY_MB),
            "-kernel", str(r.kernel), "-initrd", str(r.initrd),
            # cgroup v2 is bookworm's default; said anyway, since the cell reports it
            "-append", "root=/dev/vda rw console=ttyS0 quiet systemd.unified_cgroup_hierarchy=1 mitigations=off",
            "-drive", f"file={disk},if=virtio,format=qcow2,cache=unsafe",
            "-drive", f"file={job_disk},if=virtio,format=raw,cache=unsafe",
            "-serial", f"file:{console}", "-serial", f"file:{out}",
            "-display", "none", "-monitor", "none", "-nic", "none", "-no-reboot"]


def kvm_boots(r: Root, work: Path) -> bool:
    """Whether QEMU under KVM gets as far as the kernel's first console line here (under
    nested KVM it may hang before it: then the run uses TCG). LAB_MATRIX_ACCEL forces one."""
    forced = os.environ.get("LAB_MATRIX_ACCEL")
    if forced in ("kvm", "tcg"):
        return forced == "kvm"
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return False
    console = work / "kvm-probe.log"
    overlay = work / "kvm-probe.qcow2"
    _run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b", str(r.disk), str(overlay)], "qemu-img")
    empty = work / "kvm-probe-job.img"
    _run(["mkfs.ext4", "-q", "-F", "-L", "job", str(empty), "16M"], "mkfs.ext4")
    cmd = qemu_command(r, overlay, empty, console, work / "kvm-probe-out.log", "kvm")
    cmd[cmd.index("-append") + 1] = cmd[cmd.index("-append") + 1].replace(" quiet", "") + " earlyprintk=ttyS0"
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + KVM_PROBE_S
    booted = False
    while time.monotonic() < deadline and proc.poll() is None:
        if console.exists() and "Linux version" in console.read_text(errors="replace"):
            booted = True
            break
        time.sleep(0.5)
    proc.kill()
    proc.wait()
    for p in (overlay, empty):
        p.unlink(missing_ok=True)
    return booted


def boot(r: Root, job: Path, work: Path, timeout_s: float) -> tuple[int | None, str, float]:
    """Boot the VM on an overlay of the cached disk with `job` as its job disk; follow the
    job's output until the VM powers off. Returns (the job's exit code or None, the
    accelerator, seconds) and leaves the job disk at work/job.img."""
    ensure_tools()  # the disk may come from the cache, built before QEMU's packages changed
    work.mkdir(parents=True, exist_ok=True)
    accel = "kvm" if kvm_boots(r, work) else "tcg"
    say(f"booting the VM under {accel.upper()}" + ("" if accel == "kvm" else
        " (software emulation: QEMU under this machine's KVM does not reach the kernel's first line; "
        "expect everything about ten times slower than native)") + f", {CPUS} vCPUs, {MEMORY_MB} MB")
    overlay = work / "root.qcow2"
    overlay.unlink(missing_ok=True)
    _run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b", str(r.disk), str(overlay)], "qemu-img")
    job_disk = work / "job.img"
    make_job_disk(job, job_disk)
    console, out = work / "console.log", work / "job.log"
    for p in (console, out):
        p.unlink(missing_ok=True)
    follow = Follow(out, "  vm| ")
    follow.start()
    t0 = time.monotonic()
    proc = subprocess.Popen(qemu_command(r, overlay, job_disk, console, out, accel), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        say(f"the VM did not power off within {timeout_s:.0f} s: stopped")
    finally:
        follow.stop.set()
        follow.join(5)
        overlay.unlink(missing_ok=True)
    took = time.monotonic() - t0
    if proc.returncode not in (0, None, -9):
        say(f"qemu exited {proc.returncode}: {proc.stderr.read().strip()[-400:] if proc.stderr else ''}")
    code = next((int(line.split()[1]) for line in follow.lines if line.startswith("matrix-job-exit ")), None)
    if code is None and console.exists():
        tail = "\n    ".join(console.read_text(errors="replace").strip().splitlines()[-12:])
        say(f"the job did not finish; the end of the VM's console ({console}):\n    {tail}")
    return code, accel, took


def remove_cache() -> None:
    if CACHE.exists():
        say(f"removing {CACHE} ...")
        subprocess.run(["rm", "-rf", "--one-file-system", str(CACHE)], check=True)
    else:
        say(f"nothing to remove ({CACHE} does not exist)")
