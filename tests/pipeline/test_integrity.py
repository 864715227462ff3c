"""A damaged snapshot or source file is found: hashes recorded at publish, `runs.py verify`."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from pathlib import Path

import pytest

from foundation.paths import HomePaths
from pipeline import runs
from pipeline.records import integrity
from pipeline.records.pointer import PointerError, read_pointer
from tests.conftest import TinyRun

SNAPSHOT = "duckdb/carton_caps_tiny.duckdb"


def _copy_home(tiny_run: TinyRun, target: Path) -> Path:
    """A private copy of the tiny run's home (mtimes kept) that a test may damage."""
    shutil.copytree(tiny_run.home, target, symlinks=True)
    return target


def _flip_byte(path: Path, offset: int) -> None:
    with path.open("r+b") as handle:
        handle.seek(offset)
        byte = handle.read(1)
        handle.seek(offset)
        handle.write(bytes([byte[0] ^ 0xFF]))


def _rows(out: str) -> list[list[str]]:
    """The cells of each line of a ``runs.py`` table (columns are 2+ spaces apart)."""
    return [re.split(r"\s{2,}", line.strip()) for line in out.splitlines()]


def _verify(home: Path, *args: str) -> int:
    return runs.main(["--home", str(home), "verify", *args])


def test_publish_records_the_snapshots_sha256_size_and_mtime(tiny_run: TinyRun) -> None:
    record = tiny_run.manifest["snapshot"]
    stat = tiny_run.snapshot.stat()
    assert record["sha256"] == hashlib.sha256(tiny_run.snapshot.read_bytes()).hexdigest()
    assert record["size_bytes"] == stat.st_size
    assert record["mtime_ns"] == stat.st_mtime_ns
    assert record["path"] == str(tiny_run.snapshot)


def test_verify_of_an_untouched_run_passes(tiny_run: TinyRun, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    home = _copy_home(tiny_run, tmp_path / "home")
    assert _verify(home) == 0  # no RUN_ID: the run the pointer serves
    out = capsys.readouterr().out
    assert out.splitlines()[-1] == ("1 run(s), 6 file(s): 6 ok, 0 differ from the manifest, "
                                    "0 not verifiable")
    assert ["tiny", SNAPSHOT, "OK", f"sha256 {tiny_run.manifest['snapshot']['sha256'][:12]}…"] in (
        _rows(out))


def test_verify_names_a_snapshot_with_a_flipped_byte(tiny_run: TinyRun, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    home = _copy_home(tiny_run, tmp_path / "home")
    snapshot = home / SNAPSHOT
    _flip_byte(snapshot, snapshot.stat().st_size // 2)
    assert _verify(home, "tiny") == runs.EXIT_DAMAGED
    out, err = capsys.readouterr()
    assert err == ""
    recorded = tiny_run.manifest["snapshot"]["sha256"]
    actual = integrity.sha256_file(snapshot)
    assert ["tiny", SNAPSHOT, "DIFFERS", f"sha256 {actual[:12]}… but the manifest records "
            f"{recorded[:12]}…"] in _rows(out)
    assert out.splitlines()[-2:] == [
        "1 run(s), 6 file(s): 5 ok, 1 differ from the manifest, 0 not verifiable",
        f"DAMAGED: {SNAPSHOT}"]


def test_verify_names_changed_and_missing_source_files(tiny_run: TinyRun, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    home = _copy_home(tiny_run, tmp_path / "home")
    with (home / "data" / "tiny" / "receipts.csv").open("a") as handle:
        handle.write("\n")
    (home / "data" / "tiny" / "app.sqlite").unlink()
    assert _verify(home, "--all") == runs.EXIT_DAMAGED
    out = capsys.readouterr().out
    assert ["tiny", "data/tiny/app.sqlite", "MISSING", "no such file"] in _rows(out)
    assert out.splitlines()[-1] == "DAMAGED: data/tiny/app.sqlite, data/tiny/receipts.csv"


def test_verify_reports_a_run_without_hashes_as_not_verifiable(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    paths = HomePaths(tmp_path)
    paths.ensure()
    (paths.duckdb_dir / "carton_caps_old.duckdb").write_bytes(b"published before hashing")
    for run_id, status in (("old", "success"), ("broken", "failed")):
        paths.run(run_id).manifest.write_text(json.dumps(
            {"run_id": run_id, "status": status, "started_at": f"2026-11-01T00:00:0{len(run_id)}",
             "snapshot": {"path": None, "size_bytes": 24}}))
    assert _verify(tmp_path, "--all") == runs.EXIT_UNVERIFIABLE
    out, err = capsys.readouterr()
    assert err == ""
    assert _rows(out)[2:4] == [
        ["old", "duckdb/carton_caps_old.duckdb", "NOT VERIFIABLE",
         "the manifest records no sha256 (published before snapshots were hashed)"],
        ["old", "data/old/", "NOT VERIFIABLE", "the manifest records no source file hashes"]]
    assert "broken" not in out
    assert _verify(tmp_path, "broken") == runs.EXIT_UNVERIFIABLE
    assert "run status failed: nothing was published" in capsys.readouterr().out


def test_verify_refuses_a_snapshot_replaced_by_a_symlink(tiny_run: TinyRun, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]
                                                         ) -> None:
    home = _copy_home(tiny_run, tmp_path / "home")
    elsewhere = tmp_path / "elsewhere.duckdb"
    (home / SNAPSHOT).rename(elsewhere)
    (home / SNAPSHOT).symlink_to(elsewhere)
    assert _verify(home, "tiny") == runs.EXIT_DAMAGED
    out = capsys.readouterr().out
    assert ["tiny", SNAPSHOT, "REFUSED", "is a symbolic link"] in _rows(out)


def test_verify_without_a_run_needs_a_readable_pointer(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    HomePaths(tmp_path).ensure()
    (tmp_path / "duckdb" / "LATEST_DB.txt").write_text("garbage\n")
    assert _verify(tmp_path) == runs.EXIT_USAGE
    assert capsys.readouterr().err == (
        "runs.py: error: duckdb/LATEST_DB.txt is corrupt: 'garbage' is not a snapshot name; "
        "name a RUN_ID or pass --all\n")


def test_list_says_when_the_pointer_is_corrupt(tiny_run: TinyRun, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    home = _copy_home(tiny_run, tmp_path / "home")
    (home / "duckdb" / "LATEST_DB.txt").write_text("garbage\n")
    assert runs.main(["--home", str(home), "list"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-1] == ("pointer problem: duckdb/LATEST_DB.txt is corrupt: "
                                    "'garbage' is not a snapshot name; no run is marked as "
                                    "served")
    assert "* tiny" not in out


@pytest.mark.parametrize("target", ["/etc/passwd", "real"])
def test_pointer_naming_a_symlink_is_refused(tmp_path: Path, target: str) -> None:
    paths = HomePaths(tmp_path)
    paths.ensure()
    if target == "real":  # a link to a genuine DuckDB file elsewhere is refused too
        real = tmp_path / "elsewhere" / "carton_caps_x.duckdb"
        real.parent.mkdir()
        real.write_bytes(b"")
        target = str(real)
    (paths.duckdb_dir / "carton_caps_evil.duckdb").symlink_to(target)
    paths.pointer.write_text("carton_caps_evil.duckdb\n")
    with pytest.raises(PointerError) as caught:
        read_pointer(paths)
    assert str(caught.value) == (
        "duckdb/LATEST_DB.txt names carton_caps_evil.duckdb, which is a symbolic link: "
        "refused, a snapshot must be a regular file in duckdb/")


def test_snapshot_names_resolving_outside_duckdb_are_refused(tmp_path: Path) -> None:
    duckdb_dir = tmp_path / "duckdb"
    duckdb_dir.mkdir()
    with pytest.raises(integrity.UnsafeSnapshotError) as caught:
        integrity.checked_snapshot(duckdb_dir, "../carton_caps_x.duckdb")
    assert str(caught.value) == ("../carton_caps_x.duckdb resolves outside duckdb/: refused, "
                                 "a snapshot must be a regular file in duckdb/")
    assert integrity.checked_snapshot(duckdb_dir, "carton_caps_x.duckdb") == (
        duckdb_dir / "carton_caps_x.duckdb")


def test_stat_changes_name_size_and_modification_time(tmp_path: Path) -> None:
    path = tmp_path / "carton_caps_x.duckdb"
    path.write_bytes(b"12345")
    recorded = integrity.fingerprint(path).to_json()  # as the manifest records it
    assert integrity.stat_changes(path, recorded) == []
    assert integrity.stat_changes(path, {}) == []
    path.write_bytes(b"123456")
    os.utime(path, ns=(0, 86_400 * 10**9))
    assert integrity.stat_changes(path, recorded) == [
        "size 6 bytes, published 5",
        f"modified 1970-01-02T00:00:00+00:00, published {recorded['mtime']}"]
