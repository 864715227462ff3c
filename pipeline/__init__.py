"""Run orchestration: run ids, step order, dbt invocation, manifest, publication."""
