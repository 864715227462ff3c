"""Run ids: allocated from the UTC clock plus randomness, or validated when given."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime

from foundation.cli_values import quoted

RUN_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class RunIdError(ValueError):
    """A user-given run id that cannot be used; the message says why."""


def new_run_id(now: datetime | None = None) -> str:
    """``20261127T062401Z_3fa9c1``: sortable by time, unique across concurrent starts."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return f"{moment:%Y%m%dT%H%M%SZ}_{secrets.token_hex(3)}"


def validate_run_id(run_id: str) -> str:
    """Return ``run_id`` if it is safe to use in file names, else raise RunIdError."""
    if not RUN_ID_PATTERN.fullmatch(run_id):
        raise RunIdError(
            f"invalid --run-id {quoted(run_id)}: use 1-64 characters from A-Z, a-z, 0-9, "
            "'_' and '-'")
    return run_id
