"""The error a pipeline step raises for a reason the user can act on.

It lives apart from the runner so that step modules (``build_steps``,
``observability_steps``) can raise it without importing the runner that imports them.
"""

from __future__ import annotations

from typing import Any


class StepError(RuntimeError):
    """A step failed for a reason the user can act on; the message says which.

    ``manifest`` holds the manifest sections the failed step still has to report (e.g.
    the table a load failed on); the runner records them with the failure.
    """

    def __init__(self, message: str, *, manifest: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.manifest_updates: dict[str, Any] = dict(manifest or {})


def with_manifest(exc: BaseException, updates: dict[str, Any]) -> BaseException:
    """Attach the manifest sections a failing step reports to ``exc`` (any exception, so
    that the runner still sees the step's own error) and return it for ``raise``."""
    exc.manifest_updates = {**getattr(exc, "manifest_updates", {}), **updates}  # type: ignore[attr-defined]
    return exc


def manifest_updates(exc: BaseException) -> dict[str, Any]:
    """The manifest sections attached to a step's exception (none by default)."""
    updates = getattr(exc, "manifest_updates", None)
    return dict(updates) if isinstance(updates, dict) else {}
