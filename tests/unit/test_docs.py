"""The documentation site: its generated pages are what the code says now, and it builds
with MkDocs in strict mode (a broken link or a missing page is an error)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lab.cli.reference import PAGES

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("page", sorted(PAGES))
def test_the_generated_reference_pages_are_current(page: str) -> None:
    committed = (ROOT / "docs" / "reference" / page).read_text()
    assert committed == PAGES[page](), f"docs/reference/{page} is stale: run `make docs` and commit it"


def test_the_site_builds_without_a_warning(tmp_path: Path) -> None:
    res = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                         cwd=ROOT, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert res.returncode == 0, res.stderr[-3000:]
    assert (tmp_path / "site" / "reference" / "cli" / "index.html").exists()
    # the example's tests are shown from the file itself (a snippet), not a copy
    plugin = (tmp_path / "site" / "test" / "plugin" / "index.html").read_text()
    assert "test_a_lab_of_its_own_for_one_test" in plugin


def test_the_readme_is_a_front_page_and_its_links_into_the_site_exist() -> None:
    import re

    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) < 150
    for target in re.findall(r"\]\((docs/[^)#]+)", text):
        assert (ROOT / target).exists(), target
