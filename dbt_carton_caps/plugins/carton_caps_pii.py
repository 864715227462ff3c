"""dbt-duckdb plugin: the keyed PII hash as a DuckDB function, ``carton_caps_pii_hmac``.

Staging masks emails and phones with HMAC-SHA256 under a secret (DESIGN 4), so hashes
still join across tables and runs of one home but a list of addresses cannot be hashed
and matched against them. The secret reaches dbt only through the environment variable
``CARTON_CAPS_PII_KEY`` and is read here, in Python: it never appears in compiled SQL,
in a view definition, in dbt's logs or manifest, or in the snapshot.

``profiles.yml`` loads this module (``module_paths: [plugins]``, resolved against the
project folder, which is dbt's working directory).
"""

from __future__ import annotations

import hashlib
import hmac
import os

import pyarrow as pa
from dbt.adapters.duckdb.plugins import BasePlugin
from duckdb.sqltypes import VARCHAR

from duckdb import DuckDBPyConnection

KEY_ENV = "CARTON_CAPS_PII_KEY"
FUNCTION_NAME = "carton_caps_pii_hmac"


def pii_hmac(key: str, values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """HMAC-SHA256 hex digest of each UTF-8 value under ``key``; nulls stay null."""
    keyed = hmac.new(key.encode("utf-8"), digestmod=hashlib.sha256)
    digests: list[str | None] = []
    for value in values.to_pylist():
        if value is None:
            digests.append(None)
            continue
        digest = keyed.copy()
        digest.update(value.encode("utf-8"))
        digests.append(digest.hexdigest())
    return pa.array(digests, type=pa.string())


def _hash_with_environment_key(values: pa.Array) -> pa.Array:
    key = os.environ.get(KEY_ENV, "")
    if not key:
        raise RuntimeError(
            f"{KEY_ENV} is not set: staging hashes PII with a secret key; the pipeline "
            "passes it to dbt (see pipeline/pii_key.py)")
    return pii_hmac(key, values)


def register(conn: DuckDBPyConnection) -> None:
    """``carton_caps_pii_hmac(varchar) -> varchar`` on ``conn``, keyed by the environment
    (also used by ``bench/transform_floor.py``, which runs dbt's compiled SQL without dbt)."""
    conn.create_function(FUNCTION_NAME, _hash_with_environment_key, [VARCHAR], VARCHAR,
                         type="arrow", null_handling="special", side_effects=False)


class Plugin(BasePlugin):
    """Registers the keyed hash on every dbt connection."""

    def configure_connection(self, conn: DuckDBPyConnection) -> None:
        register(conn)
