"""The bootstrapped base is made like Debian's bookworm-slim: its dpkg excludes, and what
they exclude removed from what debootstrap installed (licences kept)."""

from __future__ import annotations

from pathlib import Path

from lab.engine.images import SLIM_EXCLUDES, slim


def touch(path: Path, text: str = "x") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_slim_keeps_licences_and_programs_and_drops_docs_manuals_translations(tmp_path: Path):
    root = tmp_path / "rootfs"
    touch(root / "usr/bin/bash")
    touch(root / "usr/share/doc/bash/copyright")
    touch(root / "usr/share/doc/bash/README.gz")
    touch(root / "usr/share/doc/bash/examples/loadables/finfo.c")
    touch(root / "usr/share/man/man1/bash.1.gz")
    touch(root / "usr/share/locale/de/LC_MESSAGES/bash.mo")
    touch(root / "usr/share/info/bash.info.gz")
    (root / "usr/share/doc/libc-bin").symlink_to("bash")
    (root / "etc/dpkg/dpkg.cfg.d").mkdir(parents=True)
    slim(root)
    left = sorted(str(p.relative_to(root)) for p in root.rglob("*") if not p.is_dir() or p.is_symlink())
    assert left == ["etc/dpkg/dpkg.cfg.d/docker-slim", "usr/bin/bash", "usr/share/doc/bash/copyright",
                    "usr/share/doc/libc-bin"]
    assert (root / "etc/dpkg/dpkg.cfg.d/docker-slim").read_text() == SLIM_EXCLUDES
    assert "path-include /usr/share/doc/*/copyright" in SLIM_EXCLUDES
