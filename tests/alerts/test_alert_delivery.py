"""Delivery to a webhook: retried when it may pass later, bounded always, never raising,
and its record never holds the URL."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager

from pipeline.alerts.delivery import DeliveryPolicy, deliver
from pipeline.alerts.settings import WebhookUrl
from tests.alerts.conftest import SECRET, Webhook, closed_port_url, silent_webhook

PAYLOAD = {"text": "run r1 failed", "run_id": "r1"}
#: short, so the cases that wait stay quick (the default policy is measured by a bench)
QUICK = DeliveryPolicy(attempts=3, timeout_s=0.3, backoff_s=(0.05, 0.1), budget_s=2.0)

Scripted = Callable[..., AbstractContextManager[Webhook]]


def test_a_webhook_that_answers_gets_one_post_of_the_json(webhook: Webhook) -> None:
    outcome = deliver(WebhookUrl(webhook.url), PAYLOAD, QUICK)
    assert (outcome.delivered, outcome.attempts, outcome.status_code, outcome.error) == (
        True, 1, 200, None)
    assert webhook.requests == [(f"/services/{SECRET}", PAYLOAD)]


def test_a_server_error_is_retried_until_it_passes(scripted: Scripted) -> None:
    with scripted((500, 200)) as hook:
        outcome = deliver(WebhookUrl(hook.url), PAYLOAD, QUICK)
    assert (outcome.delivered, outcome.attempts, outcome.status_code) == (True, 2, 200)
    assert hook.bodies == [PAYLOAD, PAYLOAD]


def test_a_server_that_keeps_failing_is_tried_a_bounded_number_of_times(
        scripted: Scripted) -> None:
    with scripted((503,)) as hook:
        outcome = deliver(WebhookUrl(hook.url), PAYLOAD, QUICK)
    assert (outcome.delivered, outcome.attempts, outcome.status_code, outcome.error) == (
        False, 3, 503, "HTTP 503")
    assert len(hook.requests) == 3


def test_a_refusal_is_not_retried_and_a_redirect_not_followed(scripted: Scripted) -> None:
    for status in (404, 302):
        with scripted((status,)) as hook:
            outcome = deliver(WebhookUrl(hook.url), PAYLOAD, QUICK)
        assert (outcome.delivered, outcome.attempts, outcome.error) == (
            False, 1, f"HTTP {status}")
        assert len(hook.requests) == 1


def test_a_webhook_that_never_answers_times_out_within_the_budget() -> None:
    with silent_webhook() as hook:
        outcome = deliver(WebhookUrl(hook.url), PAYLOAD, QUICK)
    assert (outcome.delivered, outcome.attempts, outcome.status_code) == (False, 3, None)
    assert outcome.error == "timed out after 0.3 s"


def test_no_server_at_all_is_a_refused_connection_retried() -> None:
    outcome = deliver(WebhookUrl(closed_port_url()), PAYLOAD, QUICK)
    assert (outcome.delivered, outcome.attempts, outcome.error) == (
        False, 3, "connection refused")


def test_the_budget_stops_retries_however_many_are_allowed() -> None:
    clock = iter(range(0, 100)).__next__  # every reading of the clock is a second later
    outcome = deliver(WebhookUrl(closed_port_url()), PAYLOAD,
                      DeliveryPolicy(attempts=50, timeout_s=1, backoff_s=(0,), budget_s=5),
                      clock=lambda: float(clock()), sleep=lambda _s: None)
    assert outcome.attempts < 5
    assert outcome.error is not None and outcome.error.endswith("the 5 s budget was spent")


def test_no_outcome_ever_holds_the_url(scripted: Scripted) -> None:
    outcomes = [deliver(WebhookUrl(closed_port_url()), PAYLOAD, QUICK)]
    with scripted((500,)) as hook:
        outcomes.append(deliver(WebhookUrl(hook.url), PAYLOAD, QUICK))
    assert all(SECRET not in json.dumps(o.__dict__) for o in outcomes)
