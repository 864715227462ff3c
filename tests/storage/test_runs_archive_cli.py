"""``runs.py --archive``: an archive's runs listed, shown and verified from any home, a
run of the home pushed; a refused object or an unusable archive named in one line."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from pipeline import runs
from pipeline.storage.archive import Archive
from tests.storage.conftest import publish_fake_run

SNAPSHOT_KEY = "carton_caps/runs/nov/duckdb/carton_caps_nov.duckdb"


@pytest.fixture
def two_runs(archive: Archive, tmp_path: Path) -> Path:
    """An archive holding runs ``oct`` and ``nov`` (LATEST); returns the home they came
    from."""
    home = tmp_path / "pipeline_home"
    for run_id, as_of, day in (("oct", "2026-10-01", 1), ("nov", "2026-11-01", 2)):
        run = publish_fake_run(home, run_id, as_of=as_of,
                               started_at=f"2026-12-0{day}T00:00:00.000+00:00")
        archive.upload_run(run.paths)
    return home


def cli(capsys: pytest.CaptureFixture[str], home: Path, *args: str) -> tuple[int, str, str]:
    code = runs.main(["--home", str(home), *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_list_shows_every_archived_run_and_marks_latest(
        two_runs: Path, archive: Archive, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, tmp_path, "--archive", str(archive), "list")
    lines = out.splitlines()
    assert code == 0
    assert [line.split()[0] for line in lines[2:4]] == ["oct", "*"]
    assert lines[3].split()[1] == "nov"
    assert lines[-1] == (f"archive {archive}: 2 archived run(s); LATEST: nov (* above; "
                         f"verified copy in {tmp_path / 'archive_cache'})")


def test_the_environment_names_the_archive_and_show_reads_it(
        two_runs: Path, archive: Archive, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CARTON_CAPS_ARCHIVE", str(archive))
    code, out, _ = cli(capsys, tmp_path, "show", "oct")
    assert code == 0 and out.startswith("run oct: SUCCESS")


def test_verify_names_an_altered_object_and_exits_1(
        two_runs: Path, archive: Archive, tmp_path: Path, s3: Any, bucket: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    metadata = s3.head_object(Bucket=bucket, Key=SNAPSHOT_KEY)["Metadata"]
    s3.put_object(Bucket=bucket, Key=SNAPSHOT_KEY, Body=b"snapshot of nOv", Metadata=metadata)

    code, out, _ = cli(capsys, tmp_path, "--archive", str(archive), "verify")
    verify_lines = out.splitlines()
    list_code, _, list_err = cli(capsys, tmp_path / "other", "--archive", str(archive), "list")

    assert code == 1
    verdicts = {line.split()[1]: line.split()[2] for line in verify_lines[:5]}
    assert verdicts == {"logs/pipeline_nov.json": "OK", "logs/pipeline_nov.log": "OK",
                        "logs/schema_nov.json": "OK",
                        "logs/dbt/nov/target/run_results.json": "OK",
                        "duckdb/carton_caps_nov.duckdb": "DIFFERS"}
    assert verify_lines[-1] == "DAMAGED: nov/duckdb/carton_caps_nov.duckdb"
    # the served run's altered snapshot is never cached: one line, exit 1
    assert list_code == 1
    assert list_err.startswith(f"runs.py: error: s3://{bucket}/{SNAPSHOT_KEY} has sha256 ")
    assert len(list_err.splitlines()) == 1
    assert not list((tmp_path / "other" / "archive_cache" / "duckdb").glob("*.duckdb"))


def test_an_unreachable_archive_is_one_line_and_exit_2(
        tmp_path: Path, aws_env: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        endpoint = f"http://127.0.0.1:{sock.getsockname()[1]}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    code, _, err = cli(capsys, tmp_path, "--archive", "s3://carton-caps/archive", "list")
    assert code == 2
    assert err == (f"runs.py: error: cannot reach the object store {endpoint} (connection "
                   "failed) while listing s3://carton-caps/archive/runs/: check "
                   "AWS_ENDPOINT_URL and that the store is running\n")


def test_push_archives_a_run_of_the_home_and_needs_an_archive(
        archive: Archive, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "home"
    publish_fake_run(home, "dec", as_of="2026-12-01", started_at="2026-12-02T00:00:00.000+00:00")

    assert cli(capsys, home, "push", "dec")[0] == 2
    code, out, _ = cli(capsys, home, "--archive", str(archive), "push", "dec")

    assert code == 0
    assert out == (f"archived run dec to {archive}/runs/dec/: 5 files, 5 sent (the others "
                   "were there intact); LATEST moved to it\n")
    assert archive.latest() == "dec"
