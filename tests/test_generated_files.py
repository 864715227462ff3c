"""Every generated file is what its sources generate today (``make contracts``).

The raw contract and the dbt sources YAML come from ``foundation/source_tables.py`` and
``contracts/policy/raw.yaml``; the marts contract from the dbt marts YAML and
``contracts/policy/marts.yaml``; the monitoring layer's ``source_declarations()`` macro
from ``foundation/source_tables.py``. Editing a source without regenerating fails here,
naming the stale file.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from foundation import source_tables
from foundation.paths import REPO_ROOT
from pipeline import generated_files

GENERATED = sorted(generated_files.generated_files(), key=str)


@pytest.mark.parametrize("path", GENERATED, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_generated_file_is_up_to_date(path: Path) -> None:
    expected = generated_files.generated_files()[path]()
    relative = path.relative_to(REPO_ROOT)
    assert path.is_file(), f"{relative} is missing: run `make contracts`"
    assert path.read_text(encoding="utf-8") == expected, (
        f"{relative} is stale: run `make contracts` to regenerate it")


@pytest.mark.parametrize("path", GENERATED, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_generated_file_says_so_in_its_first_line(path: Path) -> None:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first == generated_files.HEADER.rstrip("\n")


def test_editing_a_source_column_without_regenerating_names_the_stale_files(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A column added to the declaration makes the raw contract and its dbt source stale."""
    users = source_tables.USERS
    extra = source_tables.Column("favourite_colour", "text", True, "Added in a test.")
    edited = dataclasses.replace(users, columns=(*users.columns, extra))
    tables = tuple(edited if t is users else t for t in source_tables.SOURCE_TABLES)
    monkeypatch.setattr(generated_files, "SOURCE_TABLES", tables)
    monkeypatch.setattr(generated_files, "TABLES_BY_NAME", {t.name: t for t in tables})
    stale = [str(p.relative_to(REPO_ROOT)) for p in generated_files.stale_files()]
    assert stale == ["contracts/raw.odcs.yaml",
                     "dbt_carton_caps/models/staging/app_db/_app_db__sources.yml",
                     "dbt_carton_caps/macros/source_declarations.sql"]


def test_the_check_command_exits_1_and_names_the_stale_file(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(generated_files, "HEADER", "# generated differently\n")
    assert generated_files.main(["--check"]) == 1
    out = capsys.readouterr().out
    assert "stale: contracts/raw.odcs.yaml" in out
    assert "stale: contracts/marts.odcs.yaml" in out


def test_every_mart_needs_an_owner_in_the_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    models = generated_files.mart_models()
    monkeypatch.setattr(generated_files, "mart_models",
                        lambda: {**models, "mart_new": {"name": "mart_new", "columns": []}})
    with pytest.raises(generated_files.GenerationError, match=r"missing: \['mart_new'\]"):
        generated_files.marts_contract()


def test_the_source_declarations_macro_lists_every_table_as_raw_holds_it() -> None:
    text = generated_files.source_declarations_macro()
    for table in source_tables.SOURCE_TABLES:
        assert f'"name": "{table.name}"' in text
        assert f'"event_time": "{table.event_time_column}"' in text
    assert '"email_hash"' in text and '"email"' not in text  # PII as landed, never plaintext
    assert '"types": {"event_id": "bigint"' in text
