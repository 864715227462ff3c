"""``CARTON_CAPS_PII_KEY=… python duckdb/load_raw.py --data-dir DIR --db PATH --run-id ID``:
the runbook's loader (the key hashes emails and phones as they load; see loader/cli.py).

A thin wrapper around :func:`loader.main` (the ``load-raw`` console script). The code
lives in the ``loader`` package: this folder must never become a package, it would
shadow the ``duckdb`` library. ``make`` installs the project (editable), so ``loader``
is importable from here.
"""

from loader import main

if __name__ == "__main__":
    raise SystemExit(main())
