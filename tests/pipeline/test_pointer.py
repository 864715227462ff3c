"""The pointer and run-id primitives the lifecycle is built on."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from foundation.paths import HomePaths
from foundation.run_id import RunIdError, new_run_id, validate_run_id
from pipeline.records.pointer import PointerError, read_pointer, write_atomically, write_pointer


def test_new_run_ids_sort_by_time_and_are_unique() -> None:
    moment = datetime(2026, 11, 27, 6, 24, 1, tzinfo=UTC)
    ids = {new_run_id(moment) for _ in range(50)}
    assert len(ids) == 50
    assert all(run_id.startswith("20261127T062401Z_") for run_id in ids)
    assert all(validate_run_id(run_id) == run_id for run_id in ids)


def test_validate_run_id_rejects_path_tricks() -> None:
    with pytest.raises(RunIdError, match=r"invalid --run-id 'a/b'"):
        validate_run_id("a/b")


def test_missing_pointer_reads_as_none(tmp_path: Path) -> None:
    assert read_pointer(HomePaths(tmp_path)) is None


def test_pointer_round_trip_names_an_existing_snapshot(tmp_path: Path) -> None:
    paths = HomePaths(tmp_path)
    paths.ensure()
    (paths.duckdb_dir / "carton_caps_r1.duckdb").write_bytes(b"")
    write_pointer(paths, "carton_caps_r1.duckdb")
    assert read_pointer(paths) == "r1"
    assert [p.name for p in paths.duckdb_dir.iterdir()] != []
    assert not list(paths.duckdb_dir.glob("*.tmp"))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("garbage\n", "is corrupt: 'garbage' is not a snapshot name"),
        ("carton_caps_gone.duckdb\n", "names carton_caps_gone.duckdb, which does not exist"),
        ("carton_caps_../../etc.duckdb", "is corrupt"),
    ],
)
def test_corrupt_pointer_raises_a_clear_error(tmp_path: Path, content: str, message: str) -> None:
    paths = HomePaths(tmp_path)
    paths.ensure()
    paths.pointer.write_text(content)
    with pytest.raises(PointerError, match=message.replace(".", r"\.").replace("(", r"\(")):
        read_pointer(paths)


def test_write_pointer_refuses_non_snapshot_names(tmp_path: Path) -> None:
    paths = HomePaths(tmp_path)
    paths.ensure()
    with pytest.raises(PointerError, match="refusing to point at"):
        write_pointer(paths, "../../etc/passwd")
    assert not paths.pointer.exists()


def test_write_atomically_replaces_whole_content(tmp_path: Path) -> None:
    target = tmp_path / "file.txt"
    target.write_text("old content that is longer\n")
    write_atomically(target, "new\n")
    assert target.read_text() == "new\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]
