"""Object storage's failures as a step's one-line error.

Every failure of :mod:`pipeline.storage` is a :class:`~pipeline.storage.errors.StorageError`
whose message already says what failed, where and what to check (credentials masked). A
step records it as its error as it is: the runner would otherwise prefix the class name
(``ChecksumMismatchError: …``) as it does for unexpected errors.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from pipeline.lifecycle.errors import StepError
from pipeline.records.run_manifest import ManifestUpdate
from pipeline.storage.errors import StorageError


@contextlib.contextmanager
def one_line(prefix: str = "", *, manifest: ManifestUpdate | None = None) -> Iterator[None]:
    """Within, a StorageError becomes a StepError with its message (after ``prefix``) and
    the sections ``manifest`` the failed step still reports."""
    try:
        yield
    except StorageError as exc:
        raise StepError(f"{prefix}{exc}", manifest=manifest) from None
