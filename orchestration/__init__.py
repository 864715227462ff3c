"""Dagster definitions for the pipeline: its assets, checks, daily partitions and schedule.

Dagster schedules, partitions and shows runs; the run itself is the pipeline's own
(``pipeline.run_pipeline.launch``): one implementation of a run, whoever starts it.
Installed from its own lock (``requirements-orchestration.txt``; ``make orchestrate``,
``make test-orchestration``): nothing else in the project imports this package.
"""
