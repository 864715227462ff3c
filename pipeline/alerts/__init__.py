"""A run's alert: one JSON message to a webhook when a run fails, is interrupted or
publishes with warnings (settings, message, delivery; :func:`notify.notify` ties them)."""
