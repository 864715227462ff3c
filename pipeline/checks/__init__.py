"""Checks of a run's data that are pure functions of frames (no DuckDB, no dbt)."""
