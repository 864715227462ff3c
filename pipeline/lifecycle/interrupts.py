"""SIGINT/SIGTERM become :class:`RunInterrupted` in the run, at points where raising is safe.

The run installs one :class:`SignalLatch` as the handler of both signals. Raising from a
signal handler is not always enough: an exception raised while the interpreter runs
certain callbacks (logging's at-fork hook right after ``subprocess.Popen`` forks dbt) is
printed as "Exception ignored ... Traceback" and dropped. So the latch also remembers the
signal (the runner checks it after every step), and code about to fork wraps the fork in
:func:`deferred`: there the handler only records, and :func:`check` raises afterwards.

The handler raises once per run: a second Ctrl-C or SIGTERM while the run cleans up after
the first is only recorded, so the clean-up (temporary files, the final manifest) is
never cut short.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator

HANDLED_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class RunInterrupted(BaseException):
    """SIGTERM arrived; handled like Ctrl-C so the run records ``interrupted``."""


class SignalLatch:
    """SIGTERM/SIGINT handler that raises :class:`RunInterrupted` and remembers the signal."""

    def __init__(self) -> None:
        self.received: str | None = None
        self.deferring = 0
        self.raised = False

    def __call__(self, signum: int, _frame: object) -> None:
        self.received = self.received or signal.Signals(signum).name
        if not self.deferring and not self.raised:
            self.raised = True
            raise RunInterrupted(f"received signal {self.received}")

    def check(self) -> None:
        if self.received is not None:
            self.raised = True
            raise RunInterrupted(f"received signal {self.received}")


_installed: SignalLatch | None = None


@contextlib.contextmanager
def latch_installed() -> Iterator[SignalLatch]:
    """Handle SIGTERM/SIGINT with a fresh latch within; the previous handlers come back."""
    global _installed
    latch = SignalLatch()
    previous = {signum: signal.signal(signum, latch) for signum in HANDLED_SIGNALS}
    outer, _installed = _installed, latch
    try:
        yield latch
    finally:
        latch.deferring += 1  # a signal while the handlers are put back is only recorded
        _installed = outer
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Within, an interrupt is only recorded (call :func:`check` right after, where the
    caller can clean up). Without an installed latch (dbt run outside a pipeline run) it
    changes nothing."""
    latch = _installed
    if latch is None:
        yield
        return
    latch.deferring += 1
    try:
        yield
    finally:
        latch.deferring -= 1


def check() -> None:
    """Raise :class:`RunInterrupted` if the installed latch recorded a signal."""
    if _installed is not None:
        _installed.check()
