"""Where and when a run posts its alert, read from the flag and the environment.

The webhook's URL is a secret (a Slack incoming webhook's path is its credential), so it
is held in a :class:`WebhookUrl` whose ``repr`` and ``str`` never show it: a settings
object that ends up in a log line, a traceback or an f-string says ``<alert webhook>``.
It is untrusted input too: only ``http``/``https`` URLs with a host are accepted, and a
refusal explains itself without quoting the value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from foundation.cli_values import CliValueError, choice, quoted
from foundation.run_env import (
    ALERT_ON_ENV,
    ALERT_WEBHOOK_ENV,
    DASHBOARD_URL_ENV,
    dashboard_url,
    pick,
)

#: ``problems``: failed, interrupted and warning runs; ``all``: healthy runs too
ALERT_ON_CHOICES = ("problems", "all")
DEFAULT_DASHBOARD_URL = dashboard_url({})
MAX_URL_LENGTH = 2048
REDACTED = "<alert webhook>"


class AlertSettingsError(CliValueError):
    """An alert setting that cannot be used; the message never contains the webhook URL."""


def _usable_http_url(text: str) -> bool:
    if not text or len(text) > MAX_URL_LENGTH or any(c.isspace() or ord(c) < 32 for c in text):
        return False
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 -- raises ValueError for a port out of range
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


class WebhookUrl:
    """The webhook's URL: revealed only to the code that posts to it."""

    __slots__ = ("_url",)

    def __init__(self, url: str, *, label: str = ALERT_WEBHOOK_ENV) -> None:
        if not _usable_http_url(url):
            raise AlertSettingsError(
                f"{label} must be an http:// or https:// URL with a host name (the value is "
                "not shown: it is a secret)")
        self._url = url

    def reveal(self) -> str:
        return self._url

    def redact(self, text: str) -> str:
        """``text`` with the URL and its secret parts (path, query) replaced."""
        parts = urlsplit(self._url)
        secrets = [self._url, parts.path + (f"?{parts.query}" if parts.query else ""),
                   parts.path, parts.query]
        for secret in sorted((s for s in secrets if len(s) > 1), key=len, reverse=True):
            text = text.replace(secret, REDACTED)
        return text

    def __repr__(self) -> str:
        return REDACTED

    __str__ = __repr__


@dataclass(frozen=True)
class AlertSettings:
    """Whether, when and where a run posts its alert (``webhook`` None: it never does)."""

    webhook: WebhookUrl | None = None
    on: str = "problems"
    dashboard_url: str = DEFAULT_DASHBOARD_URL

    @classmethod
    def from_env(cls, env: Mapping[str, str], *, webhook_flag: str | None = None,
                 flag: str = "--alert-webhook") -> AlertSettings:
        """The flag wins over ``CARTON_CAPS_ALERT_WEBHOOK``; the rest from the environment."""
        webhook_text = pick(flag, webhook_flag, env, ALERT_WEBHOOK_ENV, "")
        # an empty variable is unset (as shells leave them); an empty flag is a mistake
        webhook = (WebhookUrl(webhook_text.text, label=webhook_text.label)
                   if webhook_text.text or webhook_flag is not None else None)
        on = pick(ALERT_ON_ENV, None, env, ALERT_ON_ENV, "problems")
        # unset: the dashboards make dashboard serves, on the port the run's summary names
        dashboard = pick(DASHBOARD_URL_ENV, None, env, DASHBOARD_URL_ENV, dashboard_url(env))
        if not _usable_http_url(dashboard.text):
            raise AlertSettingsError(f"{DASHBOARD_URL_ENV} must be an http:// or https:// URL "
                                     f"with a host name, got {quoted(dashboard.text)}")
        try:
            alert_on = choice(on.label, on.text, ALERT_ON_CHOICES)
        except CliValueError as exc:
            raise AlertSettingsError(str(exc)) from None
        return cls(webhook=webhook, on=alert_on, dashboard_url=dashboard.text.rstrip("/"))
