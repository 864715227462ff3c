"""The PII hashing key: one per home, owner-only, outside the snapshots, overridable; its
fingerprint (never the key) recorded per run, and a changed key a warning of the run."""

from __future__ import annotations

import hashlib
import hmac
import json
import shutil
import sqlite3
import stat
from pathlib import Path

import pytest

import duckdb
from foundation.paths import HomePaths
from foundation.pii import fingerprint
from pipeline import runs
from pipeline.checks import comparison
from pipeline.records import pii_key
from pipeline.transform.invocation import DbtInvocation
from pipeline.transform.session import DbtSession
from tests.conftest import TinyRun, run_tiny


def test_first_use_creates_an_owner_only_key_under_the_home_and_reuses_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(pii_key.KEY_ENV, raising=False)
    first = pii_key.pii_key(tmp_path)
    path = tmp_path / ".secrets" / "pii_hmac.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert len(first) == 64 and int(first, 16) >= 0
    assert pii_key.pii_key(tmp_path) == first
    assert pii_key.pii_key(tmp_path / "other_home") != first
    assert list(path.parent.iterdir()) == [path]  # no temporary file left behind


def test_the_environment_key_wins_over_the_home_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(pii_key.KEY_ENV, "operator-key")
    assert pii_key.pii_key(tmp_path) == "operator-key"
    assert not (tmp_path / ".secrets").exists()


def test_a_key_file_readable_by_others_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(pii_key.KEY_ENV, raising=False)
    pii_key.pii_key(tmp_path)
    path = pii_key.key_path(tmp_path)
    path.chmod(0o644)
    with pytest.raises(pii_key.PiiKeyError, match=r"is readable by others \(mode 644\)"):
        pii_key.pii_key(tmp_path)


def test_the_key_is_never_shown_in_its_repr_and_never_reaches_dbt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = pii_key.PiiKey("secret-value", "env", created=False)
    assert "secret-value" not in repr(key)
    assert key.record() == {"fingerprint": fingerprint("secret-value"), "source": "env",
                            "created": False}
    monkeypatch.setenv(pii_key.KEY_ENV, "secret-value")
    invocation = DbtInvocation(db_path=tmp_path / "x.duckdb", work_dir=tmp_path,
                               as_of="2026-01-01")
    assert "secret-value" not in DbtSession(invocation)._environment().values()


def test_a_fingerprint_tells_keys_apart_and_is_no_pii_hash() -> None:
    first, second = fingerprint("a" * 64), fingerprint("b" * 64)
    assert len(first) == 16 and int(first, 16) >= 0 and first != second
    assert first == fingerprint("a" * 64)
    # PII values are lower-cased before hashing, the fingerprint's label is not: no value's
    # hash can be a fingerprint
    normalised = b"carton caps pii key fingerprint v1"
    assert not hmac.new(b"a" * 64, normalised, hashlib.sha256).hexdigest().startswith(first)


def _source_users(run: TinyRun) -> dict[int, str | None]:
    with sqlite3.connect(run.home / "data" / run.run_id / "app.sqlite") as con:
        return dict(con.execute("select user_id, email from users"))


def test_a_pipeline_run_keys_hashes_with_its_home_key_and_stores_it_nowhere_else(
    tiny_run: TinyRun,
) -> None:
    key = pii_key.key_path(tiny_run.home).read_text().strip()
    with duckdb.connect(str(tiny_run.snapshot), read_only=True) as con:
        user_id, hashed = con.execute(
            "select user_id, email_hash from staging.stg_app_db__users "
            "where email_hash is not null order by user_id limit 1").fetchone()
    email = _source_users(tiny_run)[user_id].strip().lower()
    assert hashed == hmac.new(key.encode(), email.encode(), hashlib.sha256).hexdigest()
    assert hashed != hashlib.sha256(email.encode()).hexdigest()
    assert _files_holding(tiny_run.home, key) == []


def _files_holding(home: Path, secret: str) -> list[Path]:
    """Every file under ``home`` but its key folder (.secrets/) whose bytes hold ``secret``."""
    return [path for path in home.rglob("*")
            if path.is_file() and ".secrets" not in path.relative_to(home).parts
            and secret.encode() in path.read_bytes()]


def test_a_run_records_its_key_fingerprint_in_the_manifest_and_the_snapshot(
    tiny_run: TinyRun,
) -> None:
    key = pii_key.key_path(tiny_run.home).read_text().strip()
    expected = {"fingerprint": fingerprint(key), "source": "file", "created": True,
                "previous_run_id": None, "previous_fingerprint": None}
    assert tiny_run.manifest["pii_key"] == expected
    with duckdb.connect(str(tiny_run.snapshot), read_only=True) as con:
        stored = con.execute("select manifest_json from ops.pipeline_runs").fetchone()[0]
    assert json.loads(stored)["pii_key"] == expected
    assert key not in json.dumps(tiny_run.manifest)


def _email_hashes(snapshot: Path) -> dict[int, str]:
    with duckdb.connect(str(snapshot), read_only=True) as con:
        return dict(con.execute("select user_id, email_hash from staging.stg_app_db__users "
                                "where email_hash is not null").fetchall())


def test_a_deleted_key_file_is_a_warning_of_the_next_run_in_diff_compare_and_home(
    tiny_run: TinyRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv(pii_key.KEY_ENV, raising=False)
    home = tmp_path / "home"
    shutil.copytree(tiny_run.home, home, symlinks=True)
    paths = HomePaths(home)
    old_key = pii_key.key_path(home).read_text().strip()
    before = fingerprint(old_key)

    assert run_tiny(home, "again") == 0  # same key file: same fingerprint, no warning
    again = json.loads(paths.run("again").manifest.read_text())
    assert again["pii_key"] == {"fingerprint": before, "source": "file", "created": False,
                                "previous_run_id": "tiny", "previous_fingerprint": before}
    assert not [w for w in again["warnings"] if "PII key" in w["message"]]
    assert comparison.compare(paths, "tiny", "again").pii_key_change is None

    pii_key.key_path(home).unlink()
    assert run_tiny(home, "rekeyed") == 0
    new_key = pii_key.key_path(home).read_text().strip()
    after = fingerprint(new_key)
    rekeyed = json.loads(paths.run("rekeyed").manifest.read_text())
    message = (f"PII key changed since run again (fingerprint {before} → {after}): hashed "
               "emails and phones no longer join with earlier runs")
    assert rekeyed["pii_key"]["created"] is True and after != before
    assert {"step": "load_raw", "message": message} in rekeyed["warnings"]
    pii_findings = [f for f in rekeyed["health"]["findings"] if f["category"] == "pii key changed"]
    assert len(pii_findings) == 1 and pii_findings[0]["severity"] == "warning"
    assert [e["text"] for e in pii_findings[0]["evidence"]] == [message]
    assert rekeyed["health"]["status"] == "warnings"
    log = paths.run("rekeyed").log.read_text()
    assert f"warning: created a new PII key {pii_key.key_path(home)} in a home that already " \
           "has published runs" in log

    old_hashes = _email_hashes(paths.run("again").snapshot)
    new_hashes = _email_hashes(paths.run("rekeyed").snapshot)
    assert old_hashes.keys() == new_hashes.keys()  # the same users, not one hash in common
    assert not set(old_hashes.values()) & set(new_hashes.values())

    result = comparison.compare(paths, "again", "rekeyed")
    assert (result.pii_key, result.pii_key_change) == ((before, after), message)
    assert runs.main(["--home", str(home), "diff", "again", "rekeyed"]) == 0
    assert f"\nPII key\n{message}\n" in capsys.readouterr().out
    assert runs.main(["--home", str(home), "diff", "tiny", "again"]) == 0
    assert f"\nPII key\nsame key (fingerprint {before})\n" in capsys.readouterr().out
    for secret in (old_key, new_key):
        assert _files_holding(home, secret) == []


@pytest.mark.parametrize("section", [
    None, "a1b2", [], {},
    {"fingerprint": "0123456789abcdef", "previous_run_id": "tiny",
     "previous_fingerprint": "0123456789abcdef"},  # the same key
    {"fingerprint": "0123456789abcdef", "previous_run_id": None,
     "previous_fingerprint": None},  # a home's first run
    {"fingerprint": "0123456789abcdef", "previous_run_id": "[x](http://127.0.0.1:9/)",
     "previous_fingerprint": "fedcba9876543210"},
    {"fingerprint": "**bold**", "previous_run_id": "tiny",
     "previous_fingerprint": "fedcba9876543210"},
    {"fingerprint": "0123456789abcdef", "previous_run_id": "tiny",
     "previous_fingerprint": "f" * 10_000},
])
def test_a_key_section_that_is_unchanged_missing_or_malformed_implies_no_warning(
        section: object) -> None:
    """A manifest is untrusted input: only well-formed run ids and fingerprints are echoed."""
    assert pii_key.change_warning({"pii_key": section}) is None


def test_a_changed_key_implies_a_warning_naming_both_fingerprints() -> None:
    section = {"fingerprint": "0123456789abcdef", "previous_run_id": "tiny",
               "previous_fingerprint": "fedcba9876543210"}
    assert pii_key.change_warning({"pii_key": section}) == (
        "PII key changed since run tiny (fingerprint fedcba9876543210 → 0123456789abcdef): "
        "hashed emails and phones no longer join with earlier runs")
