"""The dbt project's files and vars: where its models are, and the numbers of the
definitions, stated once as vars of ``dbt_project.yml``.

Models and macros read them with ``var()``; a description quotes one as
``{{ var('name') }}``, which dbt renders in its docs and :func:`render_vars` renders here the
same way; ``liability_ageing_buckets`` is read as :class:`AgeingBucket`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codegen.common import GenerationError, load_yaml
from foundation.paths import DBT_PROJECT_DIR

PROJECT_FILE = DBT_PROJECT_DIR / "dbt_project.yml"
MODELS_DIR = DBT_PROJECT_DIR / "models"
MARTS_DIR = MODELS_DIR / "marts"
#: the one Jinja expression a description may hold: a var of dbt_project.yml
VAR_EXPRESSION = re.compile(r"""\{\{\s*var\(\s*['"]([A-Za-z0-9_]+)['"]\s*\)\s*\}\}""")
JINJA = re.compile(r"\{\{|\{%|\{#")


def model_yaml_files() -> list[Path]:
    """Every ``_<folder>__models.yml`` of the project, staging to marts."""
    return sorted(MODELS_DIR.rglob("_*__models.yml"))


def mart_yaml_files() -> list[Path]:
    """The ``_<folder>__models.yml`` of the marts."""
    return sorted(MARTS_DIR.glob("*/_*__models.yml"))


def model_files() -> dict[str, Path]:
    """Every model of the project (its ``.sql`` or ``.py`` file), by name."""
    return {path.stem: path for path in sorted(MODELS_DIR.rglob("*"))
            if path.suffix in (".sql", ".py") and path.is_file()}


def dbt_vars() -> dict[str, Any]:
    """The vars of ``dbt_project.yml``."""
    return load_yaml(PROJECT_FILE).get("vars") or {}


def render_vars(text: str, where: str) -> str:
    """``text`` with every ``{{ var('name') }}`` replaced by the var's value, as dbt renders
    it; any other Jinja is refused (codegen would not render it as dbt does)."""
    values = dbt_vars()

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise GenerationError(f"{where}: var {name!r} is not in dbt_project.yml")
        return str(values[name])

    rendered = VAR_EXPRESSION.sub(value, text)
    if JINJA.search(rendered):
        raise GenerationError(f"{where}: only {{{{ var('name') }}}} may be used in a "
                              f"description: {text[:80]!r}")
    return rendered


# --------------------------------------------------------------------------- ageing buckets


@dataclass(frozen=True)
class AgeingBucket:
    """A reward-liability ageing bucket of var ``liability_ageing_buckets``."""

    name: str
    min_days: int
    max_days: int | None
    label: str
    note: str | None = None

    @property
    def column(self) -> str:
        return f"aged_{self.name}_dollars"


def ageing_buckets() -> tuple[AgeingBucket, ...]:
    """The buckets, youngest first; contiguous from day 0, only the last one open-ended."""
    buckets = tuple(AgeingBucket(name=str(item["name"]), min_days=int(item["min_days"]),
                                 max_days=None if item.get("max_days") is None
                                 else int(item["max_days"]),
                                 label=str(item["label"]), note=item.get("note"))
                    for item in dbt_vars().get("liability_ageing_buckets") or ())
    if not buckets:
        raise GenerationError("dbt_project.yml: var liability_ageing_buckets is empty")
    expected_min = 0
    for index, bucket in enumerate(buckets):
        last = index == len(buckets) - 1
        if not re.fullmatch(r"[a-z0-9_]+", bucket.name):
            raise GenerationError(f"ageing bucket {bucket.name!r}: a name is [a-z0-9_]+")
        if bucket.min_days != expected_min or (bucket.max_days is None) != last or (
                bucket.max_days is not None and bucket.max_days < bucket.min_days):
            raise GenerationError(
                f"ageing bucket {bucket.name!r}: buckets must follow each other from day 0 "
                "(min_days = the previous max_days + 1) and only the last has no max_days")
        expected_min = (bucket.max_days or 0) + 1
    return buckets
