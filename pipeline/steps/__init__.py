"""The run's steps, by concern: ``build`` (generate, load, dbt), ``observe`` (artefacts,
contracts, drift, volumes, ops tables), ``publish``, ``spark`` (that engine's own steps),
and ``plan`` (which of them a run executes, in what order)."""
