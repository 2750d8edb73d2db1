"""MkDocs hooks of the documentation site (mkdocs.yml's `hooks:`): the benchmarks' own
reports (bench/*.md and their pictures) become pages under measurements/bench/, read where
`make bench-*` writes them, so the site never holds a copy that could go stale."""

from __future__ import annotations

from pathlib import Path

from mkdocs.structure.files import File, Files

BENCH = Path(__file__).resolve().parent.parent / "bench"


def on_files(files: Files, config) -> Files:  # noqa: ANN001
    for path in sorted(BENCH.iterdir()):
        if path.suffix in (".md", ".png", ".svg"):
            files.append(File.generated(config, f"measurements/bench/{path.name}", abs_src_path=str(path)))
    return files
