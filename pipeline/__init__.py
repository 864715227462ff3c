"""Run orchestration, by concern: ``records`` (what a run leaves), ``lifecycle`` (the runner
and what keeps a run safe), ``transform`` (dbt invocation), ``checks`` (what a run checks),
``steps`` (the steps and their order per engine); the runbook's two CLIs,
``run_pipeline.py`` and ``runs.py``, at the top."""
