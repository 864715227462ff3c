"""The run lifecycle: the runner, step types and errors, interrupts, disk space, logging,
DuckDB settings, and settling runs that were killed."""
