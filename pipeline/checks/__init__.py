"""What a run checks about its data: contracts, schema snapshot and drift, row counts,
volume anomalies, anomalies of metrics over time (series_anomalies: pure functions of
frames), and the comparison of two runs."""
