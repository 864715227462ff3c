"""``load-raw`` / ``python duckdb/load_raw.py``: load one run's files from the command line.

The PII key comes from ``$CARTON_CAPS_PII_KEY`` only, never an argument (arguments show
in ``ps`` and shell history). To load with a home's key, as the pipeline does:
``CARTON_CAPS_PII_KEY=$(cat <home>/.secrets/pii_hmac.key) load-raw ...``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from foundation.pii import KEY_ENV
from loader.plan import validate_arguments
from loader.report import DEFAULT_MAX_REJECT_SHARE, LoadError
from loader.transaction import load_raw

logger = logging.getLogger(__name__)


class _ArgumentParser(argparse.ArgumentParser):
    """argparse that reports bad arguments in one line (exit code 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


def _build_parser() -> argparse.ArgumentParser:
    parser = _ArgumentParser(
        prog="load_raw.py",
        description="Load one run's source files into schema raw of a DuckDB file.",
    )
    parser.add_argument("--data-dir", type=Path, required=True,
                        help="the run's data folder (app.sqlite + <table>.csv)")
    parser.add_argument("--db", type=Path, required=True, help="DuckDB file to load into")
    parser.add_argument("--run-id", required=True, help="run id, [A-Za-z0-9_-]{1,64}")
    parser.add_argument("--max-reject-share", type=float, default=DEFAULT_MAX_REJECT_SHARE,
                        help="fail a table whose rejected share exceeds this (default 0.01)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _build_parser().parse_args(argv)
    try:  # bad arguments exit 2 before anything is touched; load_raw checks them again
        validate_arguments(args.run_id, args.max_reject_share)
    except LoadError as exc:
        sys.stderr.write(f"load_raw.py: error: {exc}\n")
        return 2
    pii_key = os.environ.get(KEY_ENV, "").strip()
    if not pii_key:
        sys.stderr.write(f"load_raw.py: error: {KEY_ENV} is not set: emails and phones are "
                         "hashed with the home's secret key as they load (the pipeline "
                         "keeps it in <home>/.secrets/pii_hmac.key)\n")
        return 2
    try:
        report = load_raw(args.data_dir, args.db, args.run_id, pii_key=pii_key,
                          max_reject_share=args.max_reject_share)
    except LoadError as exc:
        sys.stderr.write(f"load_raw.py: {exc}\n")
        return 1
    except Exception as exc:  # never a traceback on the CLI
        logger.debug("unexpected failure", exc_info=True)
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        sys.stderr.write(f"load_raw.py: unexpected error: {first}\n")
        return 1
    for message in report.warnings:
        sys.stderr.write(f"warning: {message}\n")
    print(
        f"loaded {report.rows_loaded} rows ({report.rows_rejected} rejected) from "
        f"{len(report.tables)} tables into {args.db} in {report.duration_s:.2f} s "
        f"(run {report.run_id})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
