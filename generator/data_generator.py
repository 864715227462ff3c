"""Synthetic Carton Caps source data for one run: ``app.sqlite`` + four CSV event exports.

Usage::

    python generator/data_generator.py --out-dir DIR [--seed N] [--users N]
        [--as-of YYYY-MM-DD] [--days N] [--faults a,b,...]

The data covers ``[as_of - days, as_of)`` (as_of at 00:00:00Z). The same seed, users,
as-of and days give byte-identical files. Behavioural parameters live in
``generator/parameters.py``; table layouts in ``foundation/source_tables.py``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import logging
import sys
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow as pa

from foundation import cli_values
from foundation.source_tables import (
    APP_DB_FILE,
    EVENT_EXPORT_TABLES,
    PRODUCTS,
    REDEMPTIONS,
    REFERRALS,
    SCHOOLS,
    USERS,
    SourceTable,
)
from generator.activity import ActivityContext, IdCounters, generate_block
from generator.config import (
    DEFAULT_DAYS,
    DEFAULT_USERS,
    FAULT_CLASSES,
    GeneratorConfig,
    GeneratorInputError,
    parse_faults,
    validate_config,
)
from generator.entities import (
    generate_products,
    generate_schools,
    referrals_table,
    simulate_population,
    users_table,
)
from generator.faults import apply_faults
from generator.pools import build_pools
from generator.writers import CsvExport, SqliteWriter, csv_schema

logger = logging.getLogger(__name__)

#: Users per block of activity: bounds memory independently of the run size.
BLOCK_USERS = 50_000

__all__ = [
    "DEFAULT_DAYS",
    "DEFAULT_USERS",
    "FAULT_CLASSES",
    "GeneratorConfig",
    "GeneratorInputError",
    "dataset_hash",
    "generate_dataset",
    "main",
    "parse_faults",
    "validate_config",
]


def _stream(seed: int, *key: int) -> np.random.Generator:
    """An independent generator per purpose (and per block), all derived from ``seed``."""
    return np.random.default_rng(np.random.SeedSequence([seed, *key]))


class _BackgroundWriters:
    """Writes on background threads (SQLite, one per CSV export) while the next block is
    generated; the last block's exports are then written side by side, not in a queue.

    Each file's writer runs its jobs strictly in submission order, so files are identical
    to a sequential write; at most ``max_pending`` jobs wait, which bounds memory.
    """

    def __init__(self, out_dir: Path, max_pending: int = 8) -> None:
        self.max_pending = max_pending
        self.db_pool = ThreadPoolExecutor(1, thread_name_prefix="generator-sqlite")
        self.csv_pools = {
            spec.name: ThreadPoolExecutor(1, thread_name_prefix=f"generator-{spec.name}")
            for spec in EVENT_EXPORT_TABLES}
        self.pending: deque[Future[None]] = deque()
        self.exports: dict[str, CsvExport] = {}
        self.db_opening: Future[SqliteWriter] | None = None
        self.closed = False
        try:
            self.db_opening = self.db_pool.submit(SqliteWriter, out_dir)
            for spec in EVENT_EXPORT_TABLES:  # one at a time: each is aborted if a later fails
                self.exports[spec.name] = CsvExport(out_dir, spec, csv_schema(spec))
            self.db = self.db_opening.result()
        except BaseException:
            self.abort()
            raise

    def _submit(self, pool: ThreadPoolExecutor, fn: Callable[..., None], *args: object) -> None:
        self.pending.append(pool.submit(fn, *args))
        while len(self.pending) > self.max_pending:
            self._wait_oldest()

    def _wait_oldest(self) -> None:
        # dropped from the queue only once done: abort() must still see a running job
        self.pending[0].result()
        self.pending.popleft()

    def sqlite(self, spec: SourceTable, table: pa.Table) -> None:
        self._submit(self.db_pool, self.db.insert, spec, table)

    def csv(self, spec: SourceTable, table: pa.Table) -> None:
        export = self.exports[spec.name]
        self._submit(self.csv_pools[spec.name], export.write, table)

    def finish(self) -> dict[str, int]:
        """Wait for every job, close the files under their final names; CSV rows written."""
        while self.pending:
            self._wait_oldest()
        for name, export in self.exports.items():
            self.csv_pools[name].submit(export.close).result()
        self.db_pool.submit(self.db.close).result()
        self.closed = True
        self._shutdown()
        return {name: export.rows for name, export in self.exports.items()}

    def abort(self) -> None:
        """Stop after a failure: wait for running jobs, remove every temporary file.

        Each file is aborted on its own writer thread, after that thread's last job, so no
        file is closed while a write to it is still running. Safe to call more than once.
        """
        if self.closed:
            return
        self.closed = True
        try:
            for future in self.pending:
                future.cancel()
            for future in self.pending:
                if not future.cancelled():
                    future.exception()
            self.pending.clear()
            for name, export in self.exports.items():
                self.csv_pools[name].submit(export.abort).exception()
            if self.db_opening is not None and self.db_opening.exception() is None:
                self.db_pool.submit(self.db_opening.result().abort).exception()
        finally:
            self._shutdown()

    def _shutdown(self) -> None:
        self.db_pool.shutdown(wait=True)
        for pool in self.csv_pools.values():
            pool.shutdown(wait=True)


def generate_dataset(out_dir: Path, config: GeneratorConfig) -> dict[str, int]:
    """Write one run's source files into ``out_dir``; return rows written per table."""
    validate_config(config)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "faults.json").unlink(missing_ok=True)
    params, window = config.params, config.window
    logger.info("generating %d users over %d days up to %s (seed %d) into %s",
                config.users, config.days, config.as_of, config.seed, out_dir)

    pools = build_pools(config.seed, params.unsupported_store_share)
    n_schools = int(np.clip(config.users // params.users_per_school, params.min_schools,
                            params.max_schools))
    schools = generate_schools(_stream(config.seed, 1), pools, n_schools, window, params)
    products = generate_products(_stream(config.seed, 2), params)
    pop = simulate_population(_stream(config.seed, 3), config.users, schools, window, params)
    ctx = ActivityContext.build(pop, products, pools, window, params, _stream(config.seed, 4))
    counts: dict[str, int] = {}

    writers = _BackgroundWriters(out_dir)
    try:
        writers.sqlite(SCHOOLS, schools.table)
        writers.sqlite(PRODUCTS, products.table)
        writers.sqlite(REFERRALS, referrals_table(pop, params))
        counts.update(schools=schools.table.num_rows, products=products.table.num_rows,
                      referrals=len(pop.ref_sent_at), users=0, redemptions=0)
        names_rng = _stream(config.seed, 5)
        ids = IdCounters()
        for block, lo in enumerate(range(0, config.users, BLOCK_USERS)):
            hi = min(lo + BLOCK_USERS, config.users)
            writers.sqlite(USERS, users_table(pop, lo, hi, pools, names_rng, params,
                                              ctx.device_salt))
            tables = generate_block(ctx, lo, hi, _stream(config.seed, 100, block), ids)
            writers.sqlite(REDEMPTIONS, tables.redemptions)
            counts["users"] += hi - lo
            counts["redemptions"] += tables.redemptions.num_rows
            for spec in EVENT_EXPORT_TABLES:
                writers.csv(spec, getattr(tables, spec.name))
            logger.debug("block %d: users %d..%d", block, lo + 1, hi)
        counts.update(writers.finish())
    except BaseException:
        writers.abort()
        raise

    if config.faults:
        counts.update(apply_faults(out_dir, config.faults, config.seed, window))
    logger.info("generated %s", counts)
    return {name: counts[name] for name in
            (SCHOOLS.name, USERS.name, PRODUCTS.name, REFERRALS.name, REDEMPTIONS.name,
             *(spec.name for spec in EVENT_EXPORT_TABLES))}


def dataset_files(out_dir: Path) -> list[Path]:
    """The files of one run, in a fixed order."""
    names = [APP_DB_FILE, *(spec.file_name for spec in EVENT_EXPORT_TABLES), "faults.json"]
    return [out_dir / name for name in names if (out_dir / name).exists()]


def dataset_hash(out_dir: Path) -> str:
    """SHA-256 over the names and bytes of a run's files (identical for identical runs)."""
    digest = hashlib.sha256()
    for path in dataset_files(Path(out_dir)):
        digest.update(path.name.encode() + b"\0")
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
        digest.update(b"\0")
    return digest.hexdigest()


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise GeneratorInputError(message)


def _int_arg(flag: str, text: str) -> int:
    try:
        return cli_values.whole_number(flag, text)
    except cli_values.CliValueError as exc:
        raise GeneratorInputError(str(exc)) from None


def _date_arg(text: str) -> dt.date:
    try:
        return cli_values.iso_date("--as-of", text)
    except cli_values.CliValueError as exc:
        raise GeneratorInputError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="data_generator.py",
        description="Generate one run of synthetic Carton Caps source data.",
    )
    parser.add_argument("--out-dir", type=Path, required=True, help="directory to write into")
    parser.add_argument("--seed", default="42", help="random seed (default 42)")
    parser.add_argument("--users", default=str(DEFAULT_USERS),
                        help=f"number of user accounts (default {DEFAULT_USERS})")
    parser.add_argument("--as-of", default=None,
                        help="exclusive end date YYYY-MM-DD (UTC midnight), default today")
    parser.add_argument("--days", default=str(DEFAULT_DAYS),
                        help=f"days of history before --as-of (default {DEFAULT_DAYS})")
    parser.add_argument("--faults", default=None,
                        help=f"comma-separated fault classes: {', '.join(FAULT_CLASSES)}")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point: 0 on success, 2 on bad arguments, 1 on a failed run."""
    try:
        args = build_parser().parse_args(argv)
        seed = _int_arg("--seed", args.seed)
        users = _int_arg("--users", args.users)
        days = _int_arg("--days", args.days)
        # the wall clock is read once, here, and passed down explicitly
        today = dt.datetime.now(dt.UTC).date()
        as_of = _date_arg(args.as_of) if args.as_of else today
        config = GeneratorConfig(seed=seed, users=users, as_of=as_of, days=days,
                                 faults=parse_faults(args.faults))
        validate_config(config, today=today)
        counts = generate_dataset(args.out_dir, config)
    except GeneratorInputError as exc:
        print(f"data_generator.py: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"data_generator.py: error: {exc}", file=sys.stderr)
        return 1
    total = sum(counts.values())
    print(f"wrote {total} rows to {args.out_dir}: "
          + ", ".join(f"{name}={rows}" for name, rows in counts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
