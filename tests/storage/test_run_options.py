"""``--landing``, ``--source`` and ``--archive`` are untrusted input: a value that cannot
be used stops the run before anything is written, with one line and exit code 2."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from pipeline import run_pipeline
from pipeline.lifecycle import logging_setup
from pipeline.storage.redact import RedactingFilter
from tests.storage.conftest import ACCESS_KEY_ID, SECRET_ACCESS_KEY

BUCKET = "s3://carton-caps/x"


def refused(tmp_path: Path, capsys: pytest.CaptureFixture[str], *options: str) -> str:
    home = tmp_path / "home"
    code = run_pipeline.main(["--home", str(home), "--users", "300", *options])
    err = capsys.readouterr().err
    assert code == 2, err
    assert not home.exists() or not any(home.rglob("*.json"))
    [line] = err.splitlines()
    return line.removeprefix("run_pipeline.py: error: ")


@pytest.mark.pipeline_run
@pytest.mark.parametrize(("options", "message"), [
    (("--landing", "s3://Bad_Bucket/x"),
     "--landing: 'Bad_Bucket' is not a valid bucket name (3-63 characters: lowercase "
     "letters, digits, dots and hyphens; not an IP address)"),
    (("--landing", "ftp://host/x"),
     "--landing must be an s3:// URI or a folder; the scheme 'ftp' is not supported"),
    (("--archive", "/srv/archive"),
     "--archive must be an s3://bucket/prefix URI, got '/srv/archive'"),
    (("--archive", "s3://carton-caps/a/../b"),
     "'a/../b' is not a usable key prefix: use segments of letters, digits and _ . = + - "
     "separated by single slashes, without '.' or '..'"),
    (("--source", "s3://carton-caps/x", "--landing", "s3://carton-caps/y"),
     "--source and --landing exclude each other: a replay reads its files where they are"),
    (("--source", "s3://carton-caps/x", "--faults", "null_keys"),
     "--faults injects faults while generating, and a replay (--source) generates nothing: "
     "put the faulty files in the source instead"),
])
def test_an_unusable_location_is_one_line_and_exit_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], aws_env: str,
        options: tuple[str, ...], message: str) -> None:
    assert refused(tmp_path, capsys, *options) == message


@pytest.mark.pipeline_run
def test_a_missing_source_folder_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                            aws_env: str) -> None:
    missing = tmp_path / "exports"
    assert refused(tmp_path, capsys, "--source", str(missing)) == (
        f"--source {missing} does not exist")


@pytest.mark.pipeline_run
def test_credentials_in_a_uri_are_refused_without_quoting_them(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], aws_env: str) -> None:
    line = refused(tmp_path, capsys, "--archive",
                   f"s3://{ACCESS_KEY_ID}:{SECRET_ACCESS_KEY}@carton-caps/archive")
    assert line == ("--archive holds credentials in the URI: refused (nothing quoted); give "
                    "them in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or AWS_PROFILE")


@pytest.mark.pipeline_run
def test_the_archive_from_the_environment_is_checked_the_same_way(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], aws_env: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARTON_CAPS_ARCHIVE", "archive-folder")
    assert refused(tmp_path, capsys) == (
        "CARTON_CAPS_ARCHIVE must be an s3://bucket/prefix URI, got 'archive-folder'")


@pytest.mark.pipeline_run
def test_an_unusable_endpoint_is_refused_before_the_run(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], aws_env: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://user:pw@127.0.0.1:9000")
    assert refused(tmp_path, capsys, "--landing", BUCKET) == (
        "AWS_ENDPOINT_URL holds credentials: refused (nothing quoted); give them in "
        "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")


def test_the_run_log_masks_credentials_whatever_logs_them(tmp_path: Path,
                                                         aws_env: str) -> None:
    log = tmp_path / "logs" / "pipeline_r.log"
    handlers = logging_setup.configure(log, quiet=True, filters=(RedactingFilter(),))
    try:
        logging.getLogger("botocore.endpoint").warning(
            "Authorization: AWS4-HMAC-SHA256 Credential=%s/20261201 secret=%s",
            ACCESS_KEY_ID, SECRET_ACCESS_KEY)
        logging.getLogger("pipeline.steps").error("failed with %s", SECRET_ACCESS_KEY,
                                                  exc_info=ValueError(SECRET_ACCESS_KEY))
    finally:
        logging_setup.detach(handlers)
    text = log.read_text()
    assert "Credential=***" in text and "secret=***" in text
    assert ACCESS_KEY_ID not in text and SECRET_ACCESS_KEY not in text
