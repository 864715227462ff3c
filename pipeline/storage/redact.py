"""Keeping credentials out of every line the pipeline writes.

A run's log, its manifest, an exception message recorded as a failed step's error and a
URI printed in a summary all end up in files that are archived, shared and shown on the
dashboards. A secret that reaches one of them is leaked for good. So every message the
storage code builds passes through :func:`redact`, and the pipeline can install
:class:`RedactingFilter` on its log handlers to catch what a library logs.

What is removed: the values of the AWS credential variables of the environment and every
credential resolved at run time (a profile's keys are not in the environment, so
:func:`register_secret` adds them), user information in a URL
(``s3://KEY:SECRET@bucket``), the signature, credential and token parameters of a
presigned URL, and anything shaped like an AWS access key id.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Iterable, Mapping

#: the environment variables whose values are credentials (boto3's and the AWS CLI's names)
SECRET_ENVIRONMENT = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                      "AWS_SECURITY_TOKEN")
#: what a removed value is replaced with
MASK = "***"
#: values shorter than this are not masked on their own: masking every "ab" in a message
#: would garble it, and a credential that short is not one a store accepts
MIN_SECRET_CHARS = 4

_URL_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/@\s?#]+@")
_SIGNED_PARAMETER = re.compile(
    r"(?P<name>X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token|AWSAccessKeyId|"
    r"Signature|x-amz-security-token)=[^&\s'\"]+", re.IGNORECASE)
_ACCESS_KEY_ID = re.compile(r"\b(?:AKIA|ASIA|AIDA|AROA|AGPA|ANPA|ANVA|AIPA)[A-Z0-9]{12,}\b")
_SECRET_NAMES = (r"aws_secret_access_key|aws_session_token|aws_access_key_id|"
                 r"secret_access_key|session_token|secret|key_id")
#: ``secret=value``, ``aws_secret_access_key: value`` (config files, query strings)
_ASSIGNED_SECRET = re.compile(
    rf"(?P<name>\b(?:{_SECRET_NAMES}))(?P<sep>\s*[=:]\s*)(?P<quote>['\"]?)[^\s'\",)&]+"
    r"(?P=quote)", re.IGNORECASE)
#: ``SECRET 'value'`` (DuckDB's CREATE SECRET options): only a quoted value, so prose such
#: as "no secret in a log" is left alone
_QUOTED_SECRET = re.compile(rf"(?P<name>\b(?:{_SECRET_NAMES}))(?P<sep>\s+)'[^']*'",
                            re.IGNORECASE)

_registered: set[str] = set()
_lock = threading.Lock()


def register_secret(*values: str | None) -> None:
    """Mask these values in every later message (credentials resolved from a profile)."""
    with _lock:
        _registered.update(v for v in values if v and len(v) >= MIN_SECRET_CHARS)


def secret_values(environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """Every credential value known to this process, longest first (so a value that
    contains another is masked whole)."""
    environ = os.environ if environ is None else environ
    found = {environ.get(name, "") for name in SECRET_ENVIRONMENT}
    with _lock:
        found |= _registered
    return tuple(sorted((v for v in found if len(v) >= MIN_SECRET_CHARS), key=len,
                        reverse=True))


def redact(text: str, *, extra: Iterable[str] = ()) -> str:
    """``text`` with every credential masked; safe to log, record or print."""
    for value in (*secret_values(), *(v for v in extra if v and len(v) >= MIN_SECRET_CHARS)):
        text = text.replace(value, MASK)
    text = _URL_USERINFO.sub(lambda m: f"{m.group('scheme')}{MASK}@", text)
    text = _SIGNED_PARAMETER.sub(lambda m: f"{m.group('name')}={MASK}", text)
    text = _ACCESS_KEY_ID.sub(MASK, text)
    text = _ASSIGNED_SECRET.sub(lambda m: f"{m.group('name')}{m.group('sep')}{MASK}", text)
    return _QUOTED_SECRET.sub(lambda m: f"{m.group('name')}{m.group('sep')}'{MASK}'", text)


class RedactingFilter(logging.Filter):
    """A logging filter that masks credentials in a record's message and traceback.

    Install it on a handler (``handler.addFilter(RedactingFilter())``) so that what any
    library logs through it, boto3's debug lines included, is masked before it is written.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True
