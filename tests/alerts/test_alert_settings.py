"""Alert settings: the flag wins over the environment, the URL is checked as untrusted
input, and no message, repr or f-string ever shows it."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline import run_pipeline
from pipeline.alerts.settings import (
    DEFAULT_DASHBOARD_URL,
    AlertSettings,
    AlertSettingsError,
    WebhookUrl,
)
from tests.alerts.conftest import SECRET

URL = f"https://hooks.example.test/services/{SECRET}"


def test_no_webhook_means_no_alerts() -> None:
    settings = AlertSettings.from_env({})
    assert (settings.webhook, settings.on, settings.dashboard_url) == (
        None, "problems", DEFAULT_DASHBOARD_URL)


def test_links_follow_the_port_make_dashboard_serves_on_unless_a_url_is_given() -> None:
    """``make run PORT=9000``: the alert's links point where the summary says, not 8501."""
    assert AlertSettings.from_env({"PORT": "9000"}).dashboard_url == "http://127.0.0.1:9000"
    # a value the dashboard could not listen on: the default, as in the run's summary
    assert AlertSettings.from_env({"PORT": "80x"}).dashboard_url == DEFAULT_DASHBOARD_URL
    given = {"PORT": "9000", "CARTON_CAPS_DASHBOARD_URL": "https://dash.example.test"}
    assert AlertSettings.from_env(given).dashboard_url == "https://dash.example.test"


def test_the_variable_gives_the_webhook_and_the_flag_wins() -> None:
    env = {"CARTON_CAPS_ALERT_WEBHOOK": "http://127.0.0.1:1/from-env"}
    assert AlertSettings.from_env(env).webhook.reveal() == "http://127.0.0.1:1/from-env"
    flagged = AlertSettings.from_env(env, webhook_flag=URL)
    assert flagged.webhook.reveal() == URL


def test_an_empty_variable_is_unset_but_an_empty_flag_is_refused() -> None:
    assert AlertSettings.from_env({"CARTON_CAPS_ALERT_WEBHOOK": ""}).webhook is None
    with pytest.raises(AlertSettingsError, match=r"^--alert-webhook must be an http"):
        AlertSettings.from_env({}, webhook_flag="")


@pytest.mark.parametrize("bad", [
    f"ftp://hooks.example.test/{SECRET}", f"file:///etc/{SECRET}", f"javascript:{SECRET}",
    f"http:///{SECRET}", f"https://hooks.example.test/{SECRET} x",
    f"https://hooks.example.test:99999/{SECRET}", f"{SECRET}",
])
def test_only_http_urls_with_a_host_are_accepted_and_the_refusal_hides_the_value(
        bad: str) -> None:
    with pytest.raises(AlertSettingsError) as refused:
        AlertSettings.from_env({"CARTON_CAPS_ALERT_WEBHOOK": bad})
    assert str(refused.value) == (
        "CARTON_CAPS_ALERT_WEBHOOK must be an http:// or https:// URL with a host name (the "
        "value is not shown: it is a secret)")


def test_the_url_never_shows_in_repr_str_or_formatting() -> None:
    settings = AlertSettings.from_env({"CARTON_CAPS_ALERT_WEBHOOK": URL})
    for text in (repr(settings), str(settings), f"{settings}", f"{settings.webhook!r}",
                 str(settings.webhook)):
        assert SECRET not in text
    assert "<alert webhook>" in repr(settings)


def test_redact_removes_the_url_and_its_secret_path() -> None:
    webhook = WebhookUrl(URL)
    assert webhook.redact(f"POST {URL} failed; path /services/{SECRET}") == (
        "POST <alert webhook> failed; path <alert webhook>")


def test_alert_on_and_the_dashboard_url_are_checked() -> None:
    with pytest.raises(AlertSettingsError, match=r"^CARTON_CAPS_ALERT_ON must be one of "
                                                  r"problems, all, got 'always'$"):
        AlertSettings.from_env({"CARTON_CAPS_ALERT_ON": "always"})
    with pytest.raises(AlertSettingsError, match=r"^CARTON_CAPS_DASHBOARD_URL must be"):
        AlertSettings.from_env({"CARTON_CAPS_DASHBOARD_URL": "javascript:alert(1)"})
    settings = AlertSettings.from_env({"CARTON_CAPS_ALERT_ON": "all",
                                       "CARTON_CAPS_DASHBOARD_URL": "https://dash.test/"})
    assert (settings.on, settings.dashboard_url) == ("all", "https://dash.test")


@pytest.mark.pipeline_run
def test_a_bad_webhook_stops_the_cli_before_anything_is_written(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CARTON_CAPS_ALERT_WEBHOOK", f"ftp://x/{SECRET}")
    home = tmp_path / "home"
    assert run_pipeline.main(["--home", str(home), "--users", "300", "--quiet"]) == 2
    captured = capsys.readouterr()
    assert captured.err == (
        "run_pipeline.py: error: CARTON_CAPS_ALERT_WEBHOOK must be an http:// or https:// "
        "URL with a host name (the value is not shown: it is a secret)\n")
    assert SECRET not in captured.out + captured.err
    assert not home.exists()
