"""The loader alone on a run's own files: ``load_raw`` with nothing else on the machine.

In a run, ``load_raw`` shares the two cores with dbt's worker, which imports dbt, parses
the project and imports the Python models' libraries while the run generates and loads
(so the build starts without waiting for them). ``load_raw / bare read`` in a run therefore
measures the loader and that overlap together; this script measures the loader itself,
beside the bare read of the same files on the same machine state, which is the ratio the
loader's target is about. Run by ``bench/bench_pipeline.py`` with the code under test on
``PYTHONPATH``:

    python bench/load_alone.py <run data folder> <scratch DuckDB file>

Prints one JSON object: the loader's own duration (its report's, without Python's start)
and the rows it loaded, with the run's DuckDB settings (memory limit, spill folder). The
scratch file and its spill folder are removed.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

import loader
from pipeline.lifecycle import duckdb_settings

#: any key: the figures do not depend on it, and nothing the load writes is kept
BENCH_PII_KEY = "bench-load-alone-key"
RUN_ID = "bench_load_alone"


def main(argv: Sequence[str]) -> int:
    data_dir, db_path = Path(argv[0]), Path(argv[1])
    # the run's own DuckDB settings (memory limit, spill folder), so the only difference
    # from the run's load_raw is what else shares the cores
    config = duckdb_settings.connect_config(db_path, RUN_ID)
    try:
        report = loader.load_raw(data_dir, db_path, RUN_ID, pii_key=BENCH_PII_KEY,
                                 duckdb_config=config)
    finally:
        for leftover in (db_path, db_path.with_name(db_path.name + ".wal")):
            leftover.unlink(missing_ok=True)
        shutil.rmtree(config["temp_directory"], ignore_errors=True)
    print(json.dumps({"wall_s": report.duration_s, "rows": report.rows_loaded,
                      "rows_per_s": round(report.rows_loaded / max(report.duration_s, 1e-9))}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
