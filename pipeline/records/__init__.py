"""What a run leaves for its readers: the manifest (typed records and their reader), the
pointer, file integrity, the PII key's record, and who a run's process is."""
