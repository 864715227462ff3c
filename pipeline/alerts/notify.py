"""Send a finished run's alert, once: the one function every way of starting a run calls.

``run_pipeline.launch`` calls it after the run's final manifest is written, whoever
started the run (the command line, ``make``, Dagster), so a run posts at most one
message and nothing it does can change the run's outcome: publication is over, the
delivery is bounded (:mod:`pipeline.alerts.delivery`) and any error becomes the record's.
"""

from __future__ import annotations

import logging
import time

from pipeline.alerts import delivery, message
from pipeline.alerts.settings import AlertSettings
from pipeline.lifecycle.interrupts import RunInterrupted
from pipeline.records.run_manifest import AlertRecord, RunManifest

logger = logging.getLogger(__name__)


def notify(manifest: RunManifest, settings: AlertSettings,
           policy: delivery.DeliveryPolicy = delivery.DEFAULT_POLICY) -> AlertRecord | None:
    """Post the run's alert if it has one to post; None when no webhook is configured.

    Never raises: a message that cannot be built or sent is recorded with its error.
    """
    webhook = settings.webhook
    if webhook is None:
        return None
    trigger = message.trigger_of(manifest)
    if not message.should_send(trigger, settings.on):
        logger.info("  alert: none sent, the run is healthy (alerts on: %s)", settings.on)
        return AlertRecord(trigger, sent=False,
                           reason=f"healthy run; alerts are sent on {settings.on}")
    start = time.monotonic()
    try:
        payload = message.build_message(manifest, dashboard_url=settings.dashboard_url)
        outcome = delivery.deliver(webhook, payload, policy)
    except (KeyboardInterrupt, RunInterrupted):
        return AlertRecord(trigger, sent=True, error="interrupted while sending",
                           duration_s=round(time.monotonic() - start, 3))
    except Exception as exc:  # the run is over: an alert's bug must not change its outcome
        error = webhook.redact(f"{type(exc).__name__}: {exc}")
        logger.warning("  warning: the alert could not be sent: %s", error)
        return AlertRecord(trigger, sent=True, error=error,
                           duration_s=round(time.monotonic() - start, 3))
    if outcome.delivered:
        logger.info("  alert (%s): delivered, HTTP %s, %d attempt(s)", trigger,
                    outcome.status_code, outcome.attempts)
    else:
        logger.warning("  warning: alert (%s) not delivered after %d attempt(s): %s", trigger,
                       outcome.attempts, outcome.error)
    return AlertRecord(trigger, sent=True, delivered=outcome.delivered,
                       attempts=outcome.attempts, status_code=outcome.status_code,
                       error=outcome.error, duration_s=outcome.duration_s)
