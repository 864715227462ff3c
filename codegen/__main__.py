"""``python -m codegen``: rewrite every generated file; ``--check``: name the stale ones."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from codegen import files
from codegen.common import GenerationError
from foundation.paths import REPO_ROOT


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m codegen",
        description="Regenerate every generated file: the contracts, the dbt sources, "
                    "ageing columns and exposures, the dashboards' captions, the metric "
                    "definitions of docs/design.md.")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 naming every stale generated file")
    args = parser.parse_args(argv)
    try:
        changed = files.stale_files() if args.check else files.write_all()
    except GenerationError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    for path in changed:
        verb = "stale" if args.check else "wrote"
        print(f"{verb}: {path.relative_to(REPO_ROOT)}")
    if args.check and changed:
        print("run `make contracts` to regenerate", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
