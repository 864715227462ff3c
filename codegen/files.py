"""Every generated file, how to render it, and the two things done with them: rewrite the
stale ones, or name them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from codegen import ageing_columns, captions, contracts, design_doc, exposures

#: the generators, in the order they must write: a file read by a later generator (the
#: finance models YAML, read by the marts contract and the docs) comes first
GENERATORS: tuple[Callable[[], dict[Path, Callable[[], str]]], ...] = (
    ageing_columns.files,
    contracts.files,
    captions.files,
    exposures.files,
    design_doc.files,
)


def generated_files() -> dict[Path, Callable[[], str]]:
    """Every generated file (whole, or with generated blocks) and how to render its text."""
    files: dict[Path, Callable[[], str]] = {}
    for generator in GENERATORS:
        files.update(generator())
    return files


def stale_files() -> list[Path]:
    """The generated files whose text differs from what their sources generate."""
    return [path for path, text in generated_files().items()
            if not path.is_file() or path.read_text(encoding="utf-8") != text()]


def write_all() -> list[Path]:
    """Rewrite every generated file whose text changed, in order; returns those files."""
    written = []
    for generator in GENERATORS:
        for path, text in generator().items():
            content = text()
            if not path.is_file() or path.read_text(encoding="utf-8") != content:
                path.write_text(content, encoding="utf-8")
                written.append(path)
    return written
