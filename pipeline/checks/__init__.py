"""What a run checks about its data: contracts, schema snapshot and drift, row counts,
volume anomalies, and the comparison of two runs."""
