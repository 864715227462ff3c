"""Inspect pipeline runs from their manifests, without the dashboard.

Slightly over 400 lines: one CLI (``carton-caps-runs``), its four sub-commands and
their text rendering, kept together so each command's output is read in one file.

    python pipeline/runs.py [--home DIR] list
    python pipeline/runs.py [--home DIR] show RUN_ID
    python pipeline/runs.py [--home DIR] diff RUN_A RUN_B
    python pipeline/runs.py [--home DIR] schema DB_FILE [--against RUN_ID]
    python pipeline/runs.py [--home DIR] verify [RUN_ID | --all]
    python pipeline/runs.py [--home DIR] --archive s3://BUCKET/PREFIX list|show|diff|verify
    python pipeline/runs.py [--home DIR] --archive s3://BUCKET/PREFIX push RUN_ID
    python pipeline/runs.py [--home DIR] report [RUN_ID]

``list`` prints one line per run (newest last; ``*`` marks the run the pointer
serves); ``show`` prints a run's parameters, steps, failing contract checks, dbt
failures, schema drift and volume anomalies; ``diff`` compares two runs' parameters,
PII key, row counts, schemas and contract outcomes; ``schema`` compares the schema of any DuckDB
file (e.g. a hand-modified copy of a snapshot) with a run's schema snapshot (default:
the run the pointer serves, else the newest successful run); ``verify`` re-hashes a run's
snapshot and source files against the sha256 its manifest recorded (default: the served
run; ``--all``: every successful run). Exit codes: 0 ok, 1 a file differs from its
manifest (or is missing or refused), 2 bad arguments, an unknown run or an unreadable
file, 3 nothing differs but something could not be verified (no hash recorded).
``report`` writes a run's one-file HTML report again, ``logs/report_<run_id>.html``
(default: the served run), and prints its path.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
from foundation.paths import HomePaths, default_home
from pipeline import runs_archive
from pipeline.checks import drift
from pipeline.checks import health as health_model
from pipeline.checks.comparison import RunComparison, compare, schema_columns
from pipeline.evidence.report import report_run
from pipeline.records import integrity
from pipeline.records import manifest as manifest_io
from pipeline.records.manifest import DamagedManifestError, UnknownRunError, find_run
from pipeline.records.pointer import PointerError, read_pointer
from pipeline.storage.errors import StorageError

EXIT_OK = 0
EXIT_DAMAGED = 1
EXIT_USAGE = 2
EXIT_UNVERIFIABLE = 3
PROG = "runs.py"


class UsageError(ValueError):
    """A file or run the command cannot use; the message says why."""


def format_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain-text table: columns padded to their widest cell, numbers right-aligned."""
    def cell(value: Any) -> str:
        if value is None:
            return "-"
        if isinstance(value, float):
            return f"{value:,.1f}"
        if isinstance(value, int) and not isinstance(value, bool):
            return f"{value:,}"
        return str(value)

    text = [[cell(v) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in text]) for i, h in enumerate(headers)]
    numeric = [all((isinstance(row[i], int | float) and not isinstance(row[i], bool))
                   or row[i] is None for row in rows) and rows for i in range(len(headers))]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.rjust(w) if numeric[i] else v.ljust(w)
                         for i, (v, w) in enumerate(zip(values, widths, strict=True))).rstrip()

    out = [line(list(headers)), line(["-" * w for w in widths])]
    out.extend(line(r) for r in text)
    return "\n".join(out)


def _pointer_run(paths: HomePaths) -> str | None:
    try:
        return read_pointer(paths)
    except PointerError:
        return None


def _summary(document: dict[str, Any], key: str) -> dict[str, Any]:
    return ((document.get(key) or {}).get("summary")) or {}


#: characters of a finding's title in a table cell
TITLE_CHARS = 60


def _health(paths: HomePaths, document: dict[str, Any]) -> health_model.RunHealth:
    """What the run recorded of its health (or, for an older run, assessed now)."""
    return health_model.of_run(paths, document)


def _top_finding(health: health_model.RunHealth) -> str:
    if not health.findings:
        return "-"
    title = health.findings[0].title
    return title if len(title) <= TITLE_CHARS else title[:TITLE_CHARS - 1] + "…"


def _problem_lines(problems: Sequence[manifest_io.ManifestProblem]) -> list[str]:
    return [f"skipped {problem}" for problem in problems]


def cmd_list(paths: HomePaths) -> str:
    scan = manifest_io.scan(paths)
    documents = scan.documents
    try:
        serving, problem = read_pointer(paths), None
    except PointerError as exc:
        serving, problem = None, f"pointer problem: {exc}; no run is marked as served"
    if serving is not None and all(doc["run_id"] != serving for doc in documents):
        damaged = next((p for p in scan.problems if p.run_id == serving), None)
        problem = (f"the served run {serving} has no usable manifest"
                   + (f": {damaged}" if damaged else f" in {paths.logs_dir}"))
    notes = _problem_lines(scan.problems)
    if not documents:
        return "\n".join([f"no runs in {paths.logs_dir}", *notes, *([problem] if problem else [])])
    rows = []
    for doc in documents:
        params = doc.get("params") or {}
        health = _health(paths, doc)
        rows.append([
            ("* " if doc["run_id"] == serving else "  ") + doc["run_id"],
            health.status if doc.get("status") != "running" else "running",
            (doc.get("started_at") or "")[:19].replace("T", " "),
            doc.get("duration_s"), params.get("users"), params.get("as_of"),
            ",".join(params.get("faults") or []) or "-", len(health.findings),
            _top_finding(health), doc.get("failed_step") or "-",
        ])
    headers = ["run", "health", "started (UTC)", "secs", "users", "as_of", "faults",
               "findings", "worst finding", "failed step"]
    return "\n".join([format_table(headers, rows), *notes,
                      problem or "(* = served by LATEST_DB.txt)"])


def _section(title: str, body: str) -> str:
    return f"\n{title}\n{body}"


def cmd_show(paths: HomePaths, run_id: str) -> str:
    doc = find_run(paths, run_id)
    params = doc.get("params") or {}
    lines = [
        f"run {run_id}: {str(doc.get('status')).upper()}"
        + (f" at step {doc['failed_step']}: {doc.get('error')}" if doc.get("failed_step") else ""),
        f"  started {doc.get('started_at')}  finished {doc.get('finished_at')}  "
        f"({doc.get('duration_s')} s)",
        "  params: " + ", ".join(f"{k}={v}" for k, v in params.items()),
        f"  previous run: {doc.get('previous_run_id') or '-'}   pointer moved: "
        f"{doc.get('pointer_updated')}   snapshot: {(doc.get('snapshot') or {}).get('path')}",
        f"  git {doc.get('git_commit') or '-'}   versions: "
        + ", ".join(f"{k} {v}" for k, v in (doc.get("versions") or {}).items()),
    ]
    health = _health(paths, doc)
    lines.insert(1, f"  health: {health.status.upper()}, {len(health.findings)} finding(s)"
                    + (f"; injected faults: {', '.join(health.faults)}" if health.faults else ""))
    out = "\n".join(lines)
    if health.findings:
        out += _section("findings (one per root cause, worst first)", format_table(
            ["severity", "owner", "finding", "signals", "affects"],
            [[f.severity, f.owner or "-", f.title, f.signal_count, len(f.impacted)]
             for f in health.findings]))
    steps = [[s["name"], s["status"], s.get("duration_s"), s.get("error") or ""]
             for s in doc.get("steps") or []]
    out += _section("steps", format_table(["step", "status", "secs", "error"], steps))
    counts = doc.get("row_counts") or {}
    count_rows = [[layer, table, rows] for layer in ("raw", "marts")
                  for table, rows in sorted((counts.get(layer) or {}).items())]
    if count_rows:
        out += _section("row counts", format_table(["layer", "table", "rows"], count_rows))
    contracts = doc.get("contracts") or {}
    if contracts:
        s = contracts.get("summary") or {}
        rows = [[r["status"], r["severity"], r["owner"], f"{r['layer']}.{r['table']}",
                 r.get("column") or "-", r["check"], r.get("measured"), r.get("threshold")]
                for r in contracts.get("failing") or []]
        body = (f"{s.get('pass', 0)} pass, {s.get('warn', 0)} warn, {s.get('fail', 0)} fail "
                f"of {s.get('total', 0)} checks (as-of cut-off {contracts.get('as_of_cutoff')})")
        if rows:
            body += "\n" + format_table(["status", "severity", "owner", "table", "column",
                                         "check", "measured", "threshold"], rows)
        out += _section("contracts", body)
    failures = (doc.get("dbt") or {}).get("failures") or []
    dbt = doc.get("dbt") or {}
    body = (f"{dbt.get('pass', 0)} pass, {dbt.get('warn', 0)} warn, {dbt.get('error', 0)} "
            f"error, {dbt.get('skip', 0)} skip")
    if failures:
        body += "\n" + format_table(
            ["status", "node", "failing rows", "message"],
            [[f["status"], f["unique_id"], f.get("failures"),
              (f.get("message") or "").splitlines()[0][:80] if f.get("message") else ""]
             for f in failures])
    out += _section("dbt", body)
    schema_drift = doc.get("schema_drift") or {}
    if schema_drift:
        changes = schema_drift.get("changes") or []
        body = (f"vs previous successful run {schema_drift.get('previous_run_id') or '-'}: "
                f"{len(changes)} change(s)")
        if changes:
            body += "\n" + format_table(
                ["layer", "schema", "table", "column", "change", "before", "after"],
                [[c["layer"], c["schema"], c["table"], c.get("column") or "-", c["change"],
                  c.get("before"), c.get("after")] for c in changes])
        out += _section("schema drift", body)
    volume = doc.get("anomalies") or {}
    if volume:
        found = volume.get("anomalies") or []
        body = (f"baseline runs: {', '.join(volume.get('baseline_run_ids') or []) or 'none'}; "
                f"{len(found)} anomaly(ies) (tolerance {volume.get('tolerance')})")
        if found:
            body += "\n" + format_table(
                ["layer", "table", "rows", "baseline", "change %", "expected"],
                [[a["layer"], a["table"], a.get("rows"),
                  f"{a.get('baseline_min')}-{a.get('baseline_max')}", a.get("change_pct"),
                  f"{a.get('lower'):,.0f}-{a.get('upper'):,.0f}"] for a in found])
        out += _section("volume anomalies", body)
    warnings = doc.get("warnings") or []
    if warnings:
        out += _section(f"warnings ({len(warnings)})",
                        "\n".join(f"  [{w.get('step')}] {w.get('message')}" for w in warnings))
    return out


def cmd_diff(paths: HomePaths, run_a: str, run_b: str) -> str:
    result = compare(paths, run_a, run_b)
    out = [f"diff {run_a} -> {run_b}"]
    out.append(_section("parameters", format_table(
        ["", run_a, run_b], [[k, str(x), str(y)] for k, x, y in result.params])))
    out.append(_section("PII key", _pii_key_line(result)))
    out.append(_section("findings (changed)",
                        format_table(["finding", run_a, run_b], [list(r) for r in result.findings])
                        if result.findings else "no change"))
    out.append(_section("row counts (changed tables)",
                        format_table(["table", run_a, run_b, "delta", "change %"],
                                     [list(r) for r in result.row_counts])
                        if result.row_counts else "no change"))
    if result.schema is None:
        schema_body = "schema snapshot missing for " + " and ".join(result.schema_missing)
    else:
        schema_body = _changes_table(result.schema)
    out.append(_section("schema", schema_body))
    out.append(_section("contract checks (changed outcome)",
                        format_table(["table", "column", "check", run_a, run_b],
                                     [list(r) for r in result.contracts])
                        if result.contracts else "no change"))
    out.append(_section("dbt nodes (changed outcome)",
                        format_table(["node", run_a, run_b], [list(r) for r in result.dbt])
                        if result.dbt else "no change"))
    return "\n".join(out)


def _pii_key_line(result: RunComparison) -> str:
    unknown = [run for run, found in zip((result.run_a, result.run_b), result.pii_key,
                                         strict=True) if found is None]
    if unknown:
        return "fingerprint not recorded for " + " and ".join(unknown)
    return result.pii_key_change or f"same key (fingerprint {result.pii_key[0]})"


def _changes_table(changes: Sequence[drift.DriftChange]) -> str:
    if not changes:
        return "no change"
    return format_table(["schema", "table", "column", "change", "before", "after"],
                        [[c.schema, c.table, c.column or "-", c.change, c.before, c.after]
                         for c in changes])


def cmd_schema(paths: HomePaths, db_file: Path, against: str | None = None) -> str:
    """Schema drift from a run's snapshot (``logs/schema_<run>.json``) to ``db_file``."""
    if against is None:
        served = _pointer_run(paths)
        newest = manifest_io.latest_successful(paths)
        against = served or (newest["run_id"] if newest else None)
        if against is None:
            raise UsageError(f"no successful run in {paths.logs_dir} to compare with; "
                             "name one with --against")
    find_run(paths, against)
    before, problem = schema_columns(paths, against)
    if before is None:
        raise UsageError(f"run {against!r} has no usable schema snapshot "
                         f"({problem or paths.run(against).schema_snapshot})")
    if not db_file.is_file():
        raise UsageError(f"no such file: {db_file}")
    try:
        after = drift.capture_file(db_file)
    except duckdb.Error as exc:
        raise UsageError(f"cannot read {db_file} as a DuckDB database: "
                         f"{str(exc).splitlines()[0]}") from None
    changes = drift.diff(before, after)
    return (f"schema of {db_file} vs run {against}: {len(changes)} change(s)\n"
            + _changes_table(changes))


def _damaged_manifest(problem: manifest_io.ManifestProblem) -> integrity.FileCheck:
    return integrity.FileCheck(problem.run_id or "-", problem.file, integrity.DIFFERS,
                               f"unusable manifest: {problem.reason}")


def cmd_verify(paths: HomePaths, run_id: str | None, every: bool) -> tuple[str, int]:
    """Re-hash runs' files against their manifests; the exit code says if any differ.

    A manifest that cannot be used is itself damage: the run's files cannot be checked
    against it, so it is reported (and counted) as a file that differs, never hidden.
    """
    scan = manifest_io.scan(paths)
    unusable: list[manifest_io.ManifestProblem] = []
    lost: list[integrity.FileCheck] = []
    if every:
        documents = [doc for doc in scan.documents if doc.get("status") == "success"]
        unusable = list(scan.problems)
        if not documents and not unusable:
            return f"no successful runs in {paths.logs_dir}", EXIT_OK
    else:
        served = run_id is None
        if served:
            try:
                run_id = read_pointer(paths)
            except PointerError as exc:
                raise UsageError(f"{exc}; name a RUN_ID or pass --all") from None
            if run_id is None:
                raise UsageError("no run is served yet; name a RUN_ID or pass --all")
        assert run_id is not None
        try:
            documents = [find_run(paths, run_id)]
        except DamagedManifestError:
            documents = []
            unusable = [p for p in scan.problems if p.run_id == run_id]
        except UnknownRunError:
            if not served:
                raise
            # the snapshot being served has no manifest at all: that is damage too
            documents = []
            lost = [integrity.FileCheck(run_id, f"logs/{paths.run(run_id).manifest.name}",
                                        integrity.MISSING,
                                        "the served snapshot's manifest is missing")]
    checks = lost + [_damaged_manifest(problem) for problem in unusable]
    checks += [check for doc in documents for check in integrity.verify_run(paths, doc)]
    damaged = [c for c in checks if c.result in integrity.DAMAGED]
    unverifiable = [c for c in checks if c.result == integrity.NOT_VERIFIABLE]
    table = format_table(["run", "file", "result", "detail"],
                         [[c.run_id, c.file, c.result.upper(), c.detail] for c in checks])
    runs = len(documents) + len(unusable) + len(lost)
    summary = (f"{runs} run(s), {len(checks)} file(s): "
               f"{len(checks) - len(damaged) - len(unverifiable)} ok, {len(damaged)} differ "
               f"from the manifest, {len(unverifiable)} not verifiable")
    if damaged:
        summary += "\nDAMAGED: " + ", ".join(c.file for c in damaged)
        return f"{table}\n{summary}", EXIT_DAMAGED
    return f"{table}\n{summary}", EXIT_UNVERIFIABLE if unverifiable else EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="Inspect Carton Caps pipeline runs.")
    parser.add_argument("--home", type=Path, default=None,
                        help="folder holding logs/ (default: $CARTON_CAPS_HOME or the repo)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="one line per run")
    show = sub.add_parser("show", help="everything one run recorded")
    show.add_argument("run_id")
    diff = sub.add_parser("diff", help="compare two runs")
    diff.add_argument("run_a")
    diff.add_argument("run_b")
    schema = sub.add_parser("schema", help="schema drift from a run to any DuckDB file")
    schema.add_argument("db_file", type=Path)
    schema.add_argument("--against", metavar="RUN_ID", default=None,
                        help="run to compare with (default: the served run)")
    verify = sub.add_parser("verify", help="re-hash snapshots and source files")
    target = verify.add_mutually_exclusive_group()
    target.add_argument("run_id", nargs="?", default=None,
                        help="run to verify (default: the served run)")
    target.add_argument("--all", dest="every", action="store_true",
                        help="verify every successful run")
    parser.add_argument("--archive", default=None, metavar="s3://BUCKET/PREFIX",
                        help="read the runs of this archive through a verified local cache "
                             "(<home>/archive_cache or $CARTON_CAPS_ARCHIVE_CACHE); default "
                             f"${runs_archive.ARCHIVE_ENV}, if set")
    push = sub.add_parser("push", help="archive a published run of the home (--archive)")
    push.add_argument("run_id")
    report = sub.add_parser("report", help="write a run's one-file HTML report")
    report.add_argument("run_id", nargs="?", default=None,
                        help="run to report (default: the served run)")
    return parser


def cmd_report(paths: HomePaths, run_id: str | None) -> str:
    if run_id is None:
        try:
            run_id = read_pointer(paths)
        except PointerError as exc:
            raise UsageError(f"{exc}; name a RUN_ID") from None
        if run_id is None:
            raise UsageError("no run is served yet; name a RUN_ID")
    return str(report_run(paths, run_id))


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    home = (args.home or default_home()).expanduser().resolve()
    uri = runs_archive.archive_uri(args.archive)
    # a home that only reads an archive may be new: its cache is created in it; every
    # other command reads (or, push, sends) runs the home must already hold
    reads_archive_only = uri is not None and args.command != "push"
    if not home.is_dir() and not (reads_archive_only and not home.exists()):
        print(f"{PROG}: error: --home {home} is not a directory", file=sys.stderr)
        return EXIT_USAGE
    paths = HomePaths(home)
    code = EXIT_OK
    if args.command == "push" and uri is None:
        print(f"{PROG}: error: push needs --archive s3://BUCKET/PREFIX (or "
              f"${runs_archive.ARCHIVE_ENV})", file=sys.stderr)
        return EXIT_USAGE
    try:
        if uri is not None:
            return _archive_main(args, uri, paths)
        if args.command == "verify":
            text, code = cmd_verify(paths, args.run_id, args.every)
        elif args.command == "list":
            text = cmd_list(paths)
        elif args.command == "show":
            text = cmd_show(paths, args.run_id)
        elif args.command == "report":
            text = cmd_report(paths, args.run_id)
        elif args.command == "schema":
            text = cmd_schema(paths, args.db_file.expanduser(), args.against)
        else:
            text = cmd_diff(paths, args.run_a, args.run_b)
    except (UnknownRunError, UsageError, DamagedManifestError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(text)
    return code


def _archive_main(args: argparse.Namespace, uri: str, paths: HomePaths) -> int:
    """The commands on the archive's runs; a refused object exits 1, an archive that
    cannot be used 2, each with its one line."""
    code = EXIT_OK
    try:
        if args.command == "push":
            text = runs_archive.cmd_push(uri, paths, args.run_id)
        elif args.command == "verify":
            text, damaged = runs_archive.cmd_verify(uri, args.run_id, args.every)
            code = EXIT_DAMAGED if damaged else EXIT_OK
        else:
            cache, mirror = runs_archive.mirrored_home(uri, paths.home)
            if args.command == "list":
                text = "\n".join([cmd_list(cache), *runs_archive.mirror_notes(mirror)])
            elif args.command == "show":
                text = cmd_show(cache, args.run_id)
            elif args.command == "schema":
                text = cmd_schema(cache, args.db_file.expanduser(), args.against)
            else:
                text = cmd_diff(cache, args.run_a, args.run_b)
    except StorageError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_DAMAGED if runs_archive.is_damage(exc) else EXIT_USAGE
    except (UnknownRunError, UsageError, DamagedManifestError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(text)
    return code


def run_from_shell() -> int:
    """:func:`main` for a shell, where the reader may stop early (``runs.py list | head``):
    what it read was printed, so a closed pipe is not an error (nor a traceback); the
    rest of the output goes nowhere, so the interpreter's last flush cannot fail again."""
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    return code


if __name__ == "__main__":
    sys.exit(run_from_shell())
