"""The keyed PII hash: the one implementation, applied by the loader as rows land in raw.

An unkeyed SHA-256 of an email can be reversed by hashing a list of addresses; an
HMAC-SHA256 under a secret cannot, as long as the secret is kept apart from the data.
The loader therefore replaces every column declared ``pii="hash"`` in
:mod:`foundation.source_tables` by ``<column>_hash`` = HMAC-SHA256 hex of the
lower-cased, trimmed value (:func:`hash_sql`), and drops every ``pii="drop"`` column,
before a row is written: the plaintext never enters a DuckDB file, so no snapshot, view,
ops table, rejected-row record, dbt artefact or Parquet landing made from it can carry
it, and the hashes still join across tables and across the runs of one home.

Why at the entrance rather than in staging, with the raw values moved aside afterwards:
DuckDB keeps deleted values in freed blocks of the file until they are overwritten, and
everything computed before the scrub (rejected rows, dbt's failing-row samples, the
contracts' checks) would have seen the plaintext and need scrubbing of its own. Masked
once where it enters, every later artefact is clean by construction. The plaintext an
audit needs stays in the source export, ``data/<run_id>/``, which is never published.

The secret reaches the loader as an argument (the pipeline reads it with
``pipeline/records/pii_key.py``; the ``load-raw`` CLI from :data:`KEY_ENV`). It is held in
Python only, in the closure registered on the loader's connection: it never appears in
SQL text, a view definition, a log line or a table.
"""

from __future__ import annotations

import hashlib
import hmac

import pyarrow as pa
from duckdb.sqltypes import VARCHAR

import duckdb

#: The environment variable an operator (or the ``load-raw`` CLI) supplies the key in.
KEY_ENV = "CARTON_CAPS_PII_KEY"
#: The SQL function the loader registers on its own connection only.
FUNCTION_NAME = "carton_caps_pii_hmac"
#: What a key's fingerprint is an HMAC of. Upper-case letters, so it can never equal a
#: normalised (lower-cased) PII value: a fingerprint is never some user's hash.
FINGERPRINT_LABEL = b"Carton Caps PII key fingerprint v1"
#: Hex digits of the fingerprint: 64 bits tell keys apart; they are a label, not a check.
FINGERPRINT_HEX = 16


class MissingKeyError(ValueError):
    """No key was given: PII cannot be loaded without hashing it."""


def hmac_array(key: str, values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """HMAC-SHA256 hex digest of each UTF-8 value under the UTF-8 ``key``; nulls stay null
    (DuckDB's Arrow UDFs hand over a whole vector at a time)."""
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


def hash_sql(ref: str) -> str:
    """SQL of the masked value of the (quoted) column ``ref``: the normalisation (DuckDB's
    ``lower(trim(...))``) and the keyed hash, in one expression."""
    return f"{FUNCTION_NAME}(lower(trim({ref})))"


def register(con: duckdb.DuckDBPyConnection, key: str) -> None:
    """``carton_caps_pii_hmac(varchar) -> varchar`` on ``con``, keyed by ``key``."""
    if not key:
        raise MissingKeyError(f"no PII key: the loader hashes PII with a secret key "
                              f"({KEY_ENV}, or the home's key file when the pipeline runs)")
    con.create_function(FUNCTION_NAME, lambda values: hmac_array(key, values), [VARCHAR],
                        VARCHAR, type="arrow", null_handling="special", side_effects=False)


def fingerprint(key: str) -> str:
    """A public label of ``key``: the first 16 hex digits of HMAC-SHA256(key, label).

    Safe to record in manifests and snapshots: HMAC-SHA256 is one-way, so the fingerprint
    reveals nothing about a 256-bit random key (the home's key file) that the hashes
    themselves do not; recovering the key from it means guessing the key. A weak
    operator-chosen key is guessable from any one known email's hash anyway, which is
    why keys must be long and random. Two runs with different fingerprints hashed with
    different keys, so their hashes do not join.
    """
    return hmac.new(key.encode("utf-8"), FINGERPRINT_LABEL,
                    hashlib.sha256).hexdigest()[:FINGERPRINT_HEX]
