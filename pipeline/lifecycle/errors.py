"""The error a pipeline step raises for a reason the user can act on.

It lives apart from the runner so that step modules can raise it without importing the
runner.
"""

from __future__ import annotations

from pipeline.records.run_manifest import ManifestUpdate


class StepError(RuntimeError):
    """A step failed for a reason the user can act on; the message says which.

    ``manifest_updates`` holds the sections the failed step still has to report (e.g.
    the table a load failed on); the runner records them with the failure.
    """

    def __init__(self, message: str, *, manifest: ManifestUpdate | None = None) -> None:
        super().__init__(message)
        self.manifest_updates = manifest or ManifestUpdate()


def with_manifest(exc: BaseException, update: ManifestUpdate) -> BaseException:
    """Attach the sections a failing step reports to ``exc`` (any exception, so that the
    runner still sees the step's own error) and return it for ``raise``."""
    exc.manifest_updates = manifest_updates(exc).merged(update)  # type: ignore[attr-defined]
    return exc


def manifest_updates(exc: BaseException) -> ManifestUpdate:
    """The sections attached to a step's exception (none by default)."""
    updates = getattr(exc, "manifest_updates", None)
    return updates if isinstance(updates, ManifestUpdate) else ManifestUpdate()
