"""dbt invocation: what a run's dbt is given, its worker and one-shot launchers, its parse
cache, its commands, dbt's artefacts, and the Spark session wrapper."""
