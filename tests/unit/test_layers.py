"""The package's shape holds: its layers (the import-linter contract in pyproject.toml), no
module importing from a layer above its own; and its sizes (no module over 400 lines, no
class over 200)."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_no_module_imports_from_a_layer_above_its_own():
    tool = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert tool, "lint-imports is not installed beside this Python: `make venv` installs the test extra"
    res = subprocess.run([tool], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    assert "broken" in res.stdout and "0 broken" in res.stdout


def test_no_module_over_400_lines_and_no_class_over_200():
    too_big = []
    for path in sorted((ROOT / "lab").rglob("*.py")):
        text = path.read_text()
        if len(text.splitlines()) > 400:
            too_big.append(f"{path.relative_to(ROOT)}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ClassDef) and node.end_lineno - node.lineno + 1 > 200:
                too_big.append(f"{path.relative_to(ROOT)}: class {node.name}, {node.end_lineno - node.lineno + 1} lines")
    assert not too_big, too_big


def test_every_package_under_lab_is_in_the_wheels_list_and_the_images_travel_with_it():
    import tomllib

    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    on_disk = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "lab").rglob("__init__.py")}
    assert on_disk | {"lab.images"} == set(setuptools["packages"])
    assert setuptools["package-dir"]["lab.images"] == "images" and (ROOT / "images" / "node" / "Dockerfile").is_file()
    assert not (ROOT / "lab" / "images").exists(), "one copy of the build contexts: images/ at the top level"


def test_the_command_line_loads_the_web_and_ssh_libraries_only_for_class_serve():
    """`lab up`, `lab status` and the rest start without aiohttp, Jinja2 or asyncssh (the
    class extra, which the lab and the plugin do not need); `lab class serve` imports them."""
    probe = ("import sys; from lab.cli import parser; parser().parse_args(['status']); "
             "print(sorted({m.split('.')[0] for m in sys.modules} & {'aiohttp', 'jinja2', 'asyncssh', 'flask'}))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]", f"loaded at start: {out.stdout.strip()}"
