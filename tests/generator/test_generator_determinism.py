"""Same seed, users, as-of and days -> byte-identical files; another seed -> other data."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from generator_testkit import TINY

from foundation.source_tables import APP_DB_FILE, EVENT_EXPORT_TABLES
from generator.data_generator import dataset_hash, generate_dataset

FILES = [APP_DB_FILE, *(t.file_name for t in EVENT_EXPORT_TABLES)]


def test_same_inputs_give_byte_identical_files(tmp_path: Path) -> None:
    first = generate_dataset(tmp_path / "a", TINY)
    second = generate_dataset(tmp_path / "b", TINY)
    assert first == second
    for name in FILES:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert dataset_hash(tmp_path / "a") == dataset_hash(tmp_path / "b")


def test_faulted_runs_are_deterministic_too(tmp_path: Path) -> None:
    config = dataclasses.replace(TINY, faults=("duplicate_keys", "late_events", "stale_export"))
    generate_dataset(tmp_path / "a", config)
    generate_dataset(tmp_path / "b", config)
    assert (tmp_path / "a" / "faults.json").read_bytes() == (
        tmp_path / "b" / "faults.json").read_bytes()
    assert dataset_hash(tmp_path / "a") == dataset_hash(tmp_path / "b")


def test_another_seed_gives_other_data(tmp_path: Path) -> None:
    generate_dataset(tmp_path / "a", TINY)
    generate_dataset(tmp_path / "b", dataclasses.replace(TINY, seed=TINY.seed + 1))
    assert dataset_hash(tmp_path / "a") != dataset_hash(tmp_path / "b")
    for name in FILES:
        assert (tmp_path / "a" / name).read_bytes() != (tmp_path / "b" / name).read_bytes(), name


def test_regenerating_into_the_same_directory_is_idempotent(tmp_path: Path) -> None:
    generate_dataset(tmp_path, dataclasses.replace(TINY, faults=("empty_table",)))
    generate_dataset(tmp_path, TINY)
    assert not (tmp_path / "faults.json").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(FILES)
    generate_dataset(tmp_path / "fresh", TINY)
    assert dataset_hash(tmp_path) == dataset_hash(tmp_path / "fresh")


def test_hash_covers_names_and_bytes(tmp_path: Path) -> None:
    generate_dataset(tmp_path, TINY)
    before = dataset_hash(tmp_path)
    path = tmp_path / "receipts.csv"
    path.write_bytes(path.read_bytes() + b"\n")
    assert dataset_hash(tmp_path) != before
