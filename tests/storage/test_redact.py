"""No credential survives a message, a log line or a traceback."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from pipeline.storage.errors import StorageError
from pipeline.storage.redact import MASK, RedactingFilter, redact, register_secret


@pytest.fixture
def env_secrets(monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "EXAMPLEKEYID0000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s3cr3t/value+with/slashes")
    return "EXAMPLEKEYID0000", "s3cr3t/value+with/slashes"


def test_environment_credentials_are_masked(env_secrets: tuple[str, str]) -> None:
    key_id, secret = env_secrets
    text = redact(f"failed with key {key_id} and {secret} at s3://bucket/x")
    assert text == f"failed with key {MASK} and {MASK} at s3://bucket/x"


def test_registered_credentials_are_masked() -> None:
    register_secret("profile-only-secret-value")
    assert redact("got profile-only-secret-value back") == f"got {MASK} back"


def test_url_userinfo_and_presigned_parameters_are_masked() -> None:
    text = redact("GET https://user:pw@host/b/k?X-Amz-Credential=AKIA%2F2026&"
                  "X-Amz-Signature=abcdef0123&X-Amz-Security-Token=tok&x=1")
    assert text == (f"GET https://{MASK}@host/b/k?X-Amz-Credential={MASK}&"
                    f"X-Amz-Signature={MASK}&X-Amz-Security-Token={MASK}&x=1")


def test_access_key_ids_and_assigned_secrets_are_masked() -> None:
    assert redact("key AKIAIOSFODNN7EXAMPLE used") == f"key {MASK} used"
    assert redact("aws_secret_access_key = wJalrXUtnFEMI") == f"aws_secret_access_key = {MASK}"
    assert redact("CREATE SECRET x (TYPE s3, KEY_ID 'abcd1234', SECRET 'zzzz9999')") == (
        f"CREATE SECRET x (TYPE s3, KEY_ID '{MASK}', SECRET '{MASK}')")


def test_prose_about_secrets_is_left_alone() -> None:
    assert redact("no secret in a log, and no key_id either") == (
        "no secret in a log, and no key_id either")


def test_storage_errors_are_redacted_when_raised(env_secrets: tuple[str, str]) -> None:
    _, secret = env_secrets
    assert secret not in str(StorageError(f"oops {secret}"))


def test_the_logging_filter_masks_messages_arguments_and_tracebacks(
        env_secrets: tuple[str, str], tmp_path: Path) -> None:
    key_id, secret = env_secrets
    log_file = tmp_path / "run.log"
    handler = logging.FileHandler(log_file)
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("tests.storage.redact")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("connecting with %s", key_id)
        try:
            raise RuntimeError(f"refused {secret}")
        except RuntimeError:
            logger.exception("upload failed for s3://k:%s@bucket", secret)
    finally:
        logger.removeHandler(handler)
        handler.close()
    written = log_file.read_text()
    assert key_id not in written and secret not in written
    assert "connecting with ***" in written
    assert "RuntimeError: refused ***" in written
