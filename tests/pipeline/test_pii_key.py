"""The PII hashing key: one per home, owner-only, outside the snapshots, overridable."""

from __future__ import annotations

import hashlib
import hmac
import stat
from pathlib import Path

import pytest

import duckdb
from pipeline import pii_key
from pipeline.dbt_runner import DbtInvocation
from tests.conftest import TinyRun


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


def test_the_key_is_never_shown_in_the_dbt_invocation_repr(tmp_path: Path) -> None:
    invocation = DbtInvocation(db_path=tmp_path / "x.duckdb", work_dir=tmp_path,
                               as_of="2026-01-01", pii_key="secret-value")
    assert "secret-value" not in repr(invocation)


def test_a_pipeline_run_keys_hashes_with_its_home_key_and_stores_it_nowhere_else(
    tiny_run: TinyRun,
) -> None:
    key = pii_key.key_path(tiny_run.home).read_text().strip()
    with duckdb.connect(str(tiny_run.snapshot), read_only=True) as con:
        email, hashed = con.execute(
            "select lower(trim(r.email)), s.email_hash from raw.users r "
            "join staging.stg_app_db__users s using (user_id) "
            "where r.email is not null order by user_id limit 1").fetchone()
    assert hashed == hmac.new(key.encode(), email.encode(), hashlib.sha256).hexdigest()
    assert hashed != hashlib.sha256(email.encode()).hexdigest()
    for path in (tiny_run.home / "logs").rglob("*"):
        if path.is_file():
            assert key not in path.read_text(errors="replace"), path
    assert key.encode() not in tiny_run.snapshot.read_bytes()
