"""Posting one JSON message to a webhook: bounded retries, a short timeout, a hard budget.

A webhook that is down or slow must never fail a run nor hold it up: each attempt has a
short timeout, a failed attempt that may succeed later (no connection, a timeout, HTTP 429
or 5xx) is retried after a short backoff, and the whole delivery stops at a budget of a
few seconds whatever happens. Redirects are not followed (a POST must not turn into a GET
elsewhere). The outcome is returned, never raised, and its error text never holds the URL.

The standard library's ``urllib`` posts it: it logs nothing, where an HTTP client that logs
each request line at debug level would write the webhook's secret path into the run log.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pipeline.alerts.settings import WebhookUrl

USER_AGENT = "carton-caps-pipeline-alert/1"


@dataclass(frozen=True)
class DeliveryPolicy:
    """How hard to try: ``attempts`` at most, each within ``timeout_s``, waiting
    ``backoff_s[i]`` before retry ``i + 1``, and never past ``budget_s`` in all."""

    attempts: int = 3
    timeout_s: float = 1.5
    backoff_s: tuple[float, ...] = (0.25, 0.5)
    budget_s: float = 5.0


DEFAULT_POLICY = DeliveryPolicy()


@dataclass(frozen=True)
class Delivery:
    """What became of one message."""

    delivered: bool
    attempts: int
    status_code: int | None
    error: str | None
    duration_s: float


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # the 3xx reaches the caller as an HTTPError


_OPENER = urllib.request.build_opener(_NoRedirect)


def _attempt(url: str, body: bytes, timeout: float) -> tuple[int | None, str | None, bool]:
    """One POST: (status code, error, worth retrying)."""
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT})
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            response.read(65536)
            return response.status, None, False
    except urllib.error.HTTPError as exc:
        code = exc.code
        exc.close()
        retry = code == 429 or code >= 500
        return code, f"HTTP {code}", retry
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, TimeoutError):
            return None, f"timed out after {timeout:.1f} s", True
        return None, _describe(reason), True
    except TimeoutError:
        return None, f"timed out after {timeout:.1f} s", True
    except (OSError, ValueError) as exc:
        return None, _describe(exc), True


def _describe(reason: object) -> str:
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror.lower()
    return f"{type(reason).__name__}: {reason}" if str(reason) else type(reason).__name__


def deliver(webhook: WebhookUrl, payload: Mapping[str, Any],
            policy: DeliveryPolicy = DEFAULT_POLICY, *,
            clock: Callable[[], float] = time.monotonic,
            sleep: Callable[[float], None] = time.sleep) -> Delivery:
    """Post ``payload`` as JSON; retry what may pass later, within the policy's budget."""
    body = json.dumps(payload, ensure_ascii=False, default=str).encode("utf-8")
    start = clock()
    attempts, status, error = 0, None, "not attempted"
    while attempts < policy.attempts:
        remaining = policy.budget_s - (clock() - start)
        if remaining < 0.05:
            error = f"{error}; gave up: the {policy.budget_s:g} s budget was spent"
            break
        attempts += 1
        status, error, retry = _attempt(webhook.reveal(), body, min(policy.timeout_s, remaining))
        if error is None:
            return Delivery(True, attempts, status, None, round(clock() - start, 3))
        if not retry or attempts >= policy.attempts:
            break
        backoff = policy.backoff_s[min(attempts - 1, len(policy.backoff_s) - 1)]
        sleep(max(0.0, min(backoff, policy.budget_s - (clock() - start))))
    return Delivery(False, attempts, status, webhook.redact(error or "unknown error"),
                    round(clock() - start, 3))
