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
``pipeline/records/pii_key.py``; the ``load-raw`` CLI from :data:`KEY_ENV`). Only the
loader's process holds it: as HMAC's two key pads (:class:`KeyedHash`), which its DuckDB
connection receives as the bound parameters of the statements that read a PII column
(:meth:`KeyedHash.parameters`). It never appears in SQL text, a view definition, a log
line or a table. DuckDB folds bound values into a statement's plan, so a profile or an
``EXPLAIN`` of such a statement would show the pads: the loader's connection takes no
setting beyond its memory, spill folder and threads (``loader.transaction.LOADER_SETTINGS``).

Why DuckDB's own ``sha256`` rather than a Python function registered on the connection:
HMAC is two SHA-256s over the key pads (RFC 2104), which DuckDB computes in C++ on every
core; a Python function computed them one value at a time under Python's lock. At
1,000,000 users the statement that reads the users table took 5.4 s with the function and
2.6 s without it.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field

#: The environment variable an operator (or the ``load-raw`` CLI) supplies the key in.
KEY_ENV = "CARTON_CAPS_PII_KEY"
#: The named parameters :func:`hash_sql` reads HMAC's inner and outer key pads from.
INNER_PAD_PARAMETER = "pii_inner_pad"
OUTER_PAD_PARAMETER = "pii_outer_pad"
#: What a key's fingerprint is an HMAC of. Upper-case letters, so it can never equal a
#: normalised (lower-cased) PII value: a fingerprint is never some user's hash.
FINGERPRINT_LABEL = b"Carton Caps PII key fingerprint v1"
#: Hex digits of the fingerprint: 64 bits tell keys apart; they are a label, not a check.
FINGERPRINT_HEX = 16
#: SHA-256's block size, the length HMAC pads its key to, and the bytes the two pads XOR
#: it with (RFC 2104)
_BLOCK_BYTES = hashlib.sha256().block_size
_INNER_BYTE, _OUTER_BYTE = 0x36, 0x5C


class MissingKeyError(ValueError):
    """No key was given: PII cannot be loaded without hashing it."""


@dataclass(frozen=True)
class KeyedHash:
    """HMAC-SHA256 under one key, as the two pads a statement binds (never printed: the
    pads give the key away)."""

    inner_pad: bytes = field(repr=False)
    outer_pad: bytes = field(repr=False)

    @classmethod
    def from_key(cls, key: str) -> KeyedHash:
        """The pads of the UTF-8 ``key``: hashed first when longer than a block, then
        zero-padded to one and XORed with 0x36 and 0x5c (RFC 2104, as :mod:`hmac`)."""
        if not key:
            raise MissingKeyError(f"no PII key: the loader hashes PII with a secret key "
                                  f"({KEY_ENV}, or the home's key file when the pipeline "
                                  f"runs)")
        block = key.encode("utf-8")
        if len(block) > _BLOCK_BYTES:
            block = hashlib.sha256(block).digest()
        block = block.ljust(_BLOCK_BYTES, b"\0")
        return cls(inner_pad=bytes(b ^ _INNER_BYTE for b in block),
                   outer_pad=bytes(b ^ _OUTER_BYTE for b in block))

    def parameters(self) -> dict[str, bytes]:
        """The named parameters of a statement that uses :func:`hash_sql`."""
        return {INNER_PAD_PARAMETER: self.inner_pad, OUTER_PAD_PARAMETER: self.outer_pad}


def hash_sql(ref: str) -> str:
    """SQL of the masked value of the (quoted) column ``ref``: the normalisation (DuckDB's
    ``lower(trim(...))``) and HMAC-SHA256 hex, H(outer pad || H(inner pad || value)), over
    the pads the statement binds (:meth:`KeyedHash.parameters`); null stays null."""
    return (f"sha256(${OUTER_PAD_PARAMETER} || unhex(sha256(${INNER_PAD_PARAMETER} || "
            f"encode(lower(trim({ref}))))))")


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
