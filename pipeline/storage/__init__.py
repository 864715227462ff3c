"""Object storage: sources landed in a bucket, published runs archived there and served
from it through a verified local cache.

Modules by concern, lowest first (each imports only those above it):

- :mod:`~pipeline.storage.redact`: masking credentials in every message and log line.
- :mod:`~pipeline.storage.errors`: one exception class per failure, one line each.
- :mod:`~pipeline.storage.uris`: a landing or archive location, parsed as untrusted input.
- :mod:`~pipeline.storage.s3_client`: a boto3 client from the standard AWS environment.
- :mod:`~pipeline.storage.objects`: whole objects with sha256 metadata, verified reads.
- :mod:`~pipeline.storage.archive_record`: the archive's layout, a run's record, the
  ``LATEST`` rule.
- :mod:`~pipeline.storage.archive`: uploading a published run, listing runs, ``LATEST``.
- :mod:`~pipeline.storage.cache`: archived runs downloaded once, verified, reused.
- :mod:`~pipeline.storage.landing`: source files written to, listed in and fetched from a
  landing location.
- :mod:`~pipeline.storage.duckdb_s3`: a DuckDB connection reading ``s3://`` via httpfs.

Nothing here imports boto3 at package import; callers import the module they need.
"""
