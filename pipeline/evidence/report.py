"""Write a run's report file, ``logs/report_<run_id>.html`` (the run step, the failed
run's conclusion and ``runs.py report`` all call :func:`write_report`)."""

from __future__ import annotations

from pathlib import Path

from foundation.paths import HomePaths, RunPaths
from pipeline.evidence import report_data, report_html
from pipeline.records.manifest import find_run
from pipeline.records.pointer import write_atomically
from pipeline.records.run_manifest import RunManifest


def write_report(paths: RunPaths, manifest: RunManifest, snapshot: Path | None) -> Path:
    """Render and write the report atomically (a reader never sees half a file; what a
    killed run leaves half-written, the next run's sweep removes)."""
    html = report_html.render(report_data.collect(manifest, snapshot))
    target = paths.report
    target.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(target, html)
    return target


def report_run(paths: HomePaths, run_id: str) -> Path:
    """The report of a finished run, written again from its manifest and (if it published)
    its snapshot: ``runs.py report``. Raises the manifest reader's errors for an unknown or
    damaged run."""
    run = paths.run(run_id)
    manifest = RunManifest.from_json(find_run(paths, run_id))
    return write_report(run, manifest, run.snapshot if run.snapshot.exists() else None)
