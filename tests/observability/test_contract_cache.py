"""datacontract-cli's reading of a contract is cached; every check still runs every time."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from pipeline.checks import contract_cache, contracts
from tests.conftest import TinyRun


def _outcomes(report: contracts.ContractReport) -> list[tuple[str | None, ...]]:
    return [(r.contract_id, r.table, r.column, r.check, r.status) for r in report.results]


def test_cached_contracts_give_the_same_results_as_reading_them_afresh(
        tiny_run: TinyRun, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    afresh = contracts.evaluate(tiny_run.snapshot, as_of=date(2026, 11, 1), days=540)
    filled = contracts.evaluate(tiny_run.snapshot, as_of=date(2026, 11, 1), days=540,
                                cache_dir=cache)
    assert len(list(cache.glob("*.json"))) == len(contracts.contract_files())
    reused = contracts.evaluate(tiny_run.snapshot, as_of=date(2026, 11, 1), days=540,
                                cache_dir=cache)
    assert _outcomes(filled) == _outcomes(afresh)
    assert _outcomes(reused) == _outcomes(afresh)


def test_a_changed_contract_text_is_read_afresh(tmp_path: Path) -> None:
    text = (contracts.CONTRACTS_DIR / "raw.odcs.yaml").read_text()
    first = contract_cache.contract_source(text, tmp_path)
    renamed = text.replace("Carton Caps raw sources", "Carton Caps raw layer", 1)
    changed = contract_cache.contract_source(renamed, tmp_path)
    assert "data_contract" in first and "data_contract" in changed
    assert len(list(tmp_path.glob("*.json"))) == 2


def test_datacontract_cli_queries_run_under_the_memory_limit_given(
        tiny_run: TinyRun, monkeypatch: pytest.MonkeyPatch) -> None:
    """datacontract-cli opens its own connection (it takes no config): it shares the
    bounded instance, so the limit applies to its queries too."""
    import ibis

    seen: list[str] = []
    connect = ibis.duckdb.connect

    def spy(*args: Any, **kwargs: Any) -> Any:
        backend = connect(*args, **kwargs)
        seen.append(backend.con.execute("select current_setting('memory_limit')").fetchone()[0])
        return backend

    monkeypatch.setattr(ibis.duckdb, "connect", spy)
    contracts.evaluate(tiny_run.snapshot, as_of=date(2026, 11, 1), days=540,
                       only=("raw.odcs.yaml",), duckdb_config={"memory_limit": "321MB"})
    assert seen == ["306.1 MiB"]


def test_a_contract_with_lint_warnings_keeps_the_text_path(tmp_path: Path) -> None:
    assert contract_cache.contract_source("not: [a contract", tmp_path) == {
        "data_contract_str": "not: [a contract"}
    assert list(tmp_path.iterdir()) == []
