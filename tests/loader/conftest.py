"""Fixtures for the raw-loader tests: the module under test and a tiny valid dataset."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from tests.loader.helpers import INGESTED_AT, PII_KEY, RUN_ID, import_loader, write_dataset


@pytest.fixture(scope="session")
def loader() -> ModuleType:
    return import_loader()


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    return write_dataset(tmp_path / "data")


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "snapshot.duckdb"


@pytest.fixture
def pii_key_env(monkeypatch: pytest.MonkeyPatch) -> str:
    """The CLI's key (it reads it from the environment only)."""
    monkeypatch.setenv("CARTON_CAPS_PII_KEY", PII_KEY)
    return PII_KEY


@pytest.fixture
def run_load(loader: ModuleType, dataset: Path, db_path: Path) -> Callable[..., object]:
    """Load ``dataset`` into ``db_path`` with a fixed run id and stamp."""

    def run(**kwargs: object) -> object:
        kwargs.setdefault("ingested_at", INGESTED_AT)
        return loader.load_raw(dataset, db_path, RUN_ID, pii_key=PII_KEY, **kwargs)

    return run
