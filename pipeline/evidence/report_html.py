"""A run report as one self-contained HTML file: every text escaped, charts drawn offline.

Plotly's JavaScript is read from the installed ``plotly`` package and inlined once; each
chart's data sits in the page as JSON (``<`` escaped, so no value can close the script).
The page loads nothing: no script, font, stylesheet or image from anywhere, and a
Content-Security-Policy says so to the browser as well.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any

from pipeline.evidence.report_data import Chart, Panel, ReportData

#: the browser may run the inlined script and styles and fetch nothing at all
CSP = ("default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; "
       "style-src 'unsafe-inline'; img-src data:; font-src 'none'; connect-src 'none'")
#: the report's sections: (anchor, heading), in order; tests look for each anchor
SECTIONS: tuple[tuple[str, str], ...] = (
    ("health", "Health and findings"),
    ("steps", "Steps and timings"),
    ("contracts", "Contracts"),
    ("dbt-tests", "dbt tests"),
    ("schema-changes", "Schema changes"),
    ("anomalies", "Anomalies"),
    ("product", "Product"),
    ("marketing", "Marketing"),
    ("finance", "Finance"),
)
#: characters of a long text (an error, a message) kept in the report
TEXT_CHARS = 2000
STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;max-width:72rem;color:#222}
table{border-collapse:collapse;margin:.5rem 0 1rem}td,th{border:1px solid #ccc;padding:.25rem .5rem;
text-align:left;vertical-align:top;font-size:.9rem}th{background:#f3f3f3}
.status{display:inline-block;padding:.2rem .6rem;border-radius:.3rem;font-weight:bold}
.healthy{background:#d8f3dc}.warnings{background:#fff3bf}.failed{background:#ffc9c9}
.kpis{display:flex;flex-wrap:wrap;gap:1rem}.kpi{border:1px solid #ddd;padding:.5rem 1rem;
border-radius:.3rem;min-width:12rem}.kpi .value{font-size:1.4rem;font-weight:bold}
.definition{color:#555;font-size:.85rem}.chart{height:320px}.cause{background:#ffc9c9;padding:.5rem}
pre{white-space:pre-wrap;font-size:.8rem}
"""


@functools.cache
def plotly_js() -> str:
    """Plotly's bundle from the installed package (read once per process)."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def _t(value: Any, limit: int = TEXT_CHARS) -> str:
    """Any value as escaped text, cut at ``limit`` characters."""
    text = "-" if value is None else str(value)
    return escape(text if len(text) <= limit else text[:limit] + "…")


def _table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    head = "".join(f"<th>{_t(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_t(v)}</td>" for v in row) + "</tr>"
                   for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _section(anchor: str, body: str) -> str:
    heading = dict(SECTIONS)[anchor]
    return f'<section id="{anchor}"><h2>{escape(heading)}</h2>{body}</section>'


def _health(data: ReportData) -> str:
    manifest = data.manifest
    status = data.health.status if data.health else (
        "failed" if manifest.status in ("failed", "interrupted") else "unknown")
    parts = [f'<p>Status: <span class="status {escape(status)}" data-status="{escape(status)}">'
             f"{_t(status)}</span></p>"]
    if manifest.status in ("failed", "interrupted"):
        parts.append(f'<p class="cause" data-cause="1">The run {_t(manifest.status)} at step '
                     f"<b>{_t(manifest.failed_step)}</b>: {_t(manifest.error)}</p>")
    params = manifest.params
    if params is not None:
        parts.append(f"<p>Parameters: users {_t(params.users)}, seed {_t(params.seed)}, as of "
                     f"{_t(params.as_of)}, {_t(params.days)} days, engine {_t(params.engine)}"
                     f"{', faults ' + _t(', '.join(params.faults)) if params.faults else ''}"
                     "</p>")
    findings = data.health.findings if data.health else ()
    if not findings:
        parts.append("<p>No findings.</p>")
    else:
        parts.append(_table(("severity", "finding", "owner", "measured", "threshold",
                             "affects"),
                            ((f.severity, f.reason, f.owner, f.measured, f.threshold,
                              ", ".join(f.impacted) or "-") for f in findings)))
    return _section("health", "".join(parts))


def _steps(data: ReportData) -> str:
    rows = [(s.name, s.status, s.started_at,
             "-" if s.duration_s is None else f"{s.duration_s:,.2f}", s.error)
            for s in data.manifest.steps]
    note = ("<p>Steps after the report (the quality gate, the ops tables and the "
            "publication) are in the run's manifest.</p>"
            if data.manifest.status == "running" else "")
    return _section("steps", _table(("step", "status", "started (UTC)", "seconds", "error"),
                                    rows) + note)


def _contracts(data: ReportData) -> str:
    summary = data.manifest.contracts.get("summary") or {}
    counts = (f"<p>{_t(summary.get('total', 0))} checks: {_t(summary.get('pass', 0))} pass, "
              f"{_t(summary.get('warn', 0))} warn, {_t(summary.get('fail', 0))} fail.</p>")
    if not data.contract_issues:
        return _section("contracts", counts + "<p>No failing or warning contract check.</p>")
    rows = [(r.get("status"), r.get("owner"), r.get("layer"),
             f"{r.get('table')}{'.' + r['column'] if r.get('column') else ''}",
             r.get("check"), r.get("measured"), r.get("threshold"), r.get("message"))
            for r in data.contract_issues]
    return _section("contracts", counts + _table(
        ("status", "owner", "layer", "table", "check", "measured", "threshold", "message"),
        rows))


def _sample(rows: Sequence[Mapping[str, Any]]) -> str:
    if not rows:
        return ""
    columns = list(dict.fromkeys(c for row in rows for c in row))
    return "<details><summary>Failing rows (sample)</summary>" + _table(
        columns, ([row.get(c) for c in columns] for row in rows)) + "</details>"


def _dbt_tests(data: ReportData) -> str:
    dbt = data.manifest.dbt
    counts = (f"<p>{_t(dbt.total)} nodes: {_t(dbt.passed)} pass, {_t(dbt.warn)} warn, "
              f"{_t(dbt.error)} error, {_t(dbt.skip)} skipped.</p>")
    if not data.dbt_failures:
        return _section("dbt-tests", counts + "<p>No failing or warning dbt node.</p>")
    items = "".join(
        f"<li><b>{_t(f.get('status'))}</b> {_t(f.get('unique_id'))} "
        f"({_t(f.get('failures'))} failing rows): {_t(f.get('message'))}"
        f"{_sample(f.get('sample_rows') or ())}</li>" for f in data.dbt_failures)
    return _section("dbt-tests", f"{counts}<ul>{items}</ul>")


def _schema_changes(data: ReportData) -> str:
    if not data.schema_changes:
        return _section("schema-changes", "<p>No schema change against the previous run.</p>")
    rows = [(c.get("layer"), f"{c.get('schema')}.{c.get('table')}", c.get("column"),
             c.get("change"), c.get("before"), c.get("after"), c.get("detail"))
            for c in data.schema_changes]
    return _section("schema-changes", _table(
        ("layer", "table", "column", "change", "before", "after", "detail"), rows))


def _anomalies(data: ReportData) -> str:
    if not data.anomalies:
        return _section("anomalies", "<p>No volume anomaly.</p>")
    rows = [(a.get("layer"), a.get("table"), a.get("rows"), a.get("baseline_median"),
             a.get("change_pct"), a.get("message")) for a in data.anomalies]
    return _section("anomalies", _table(
        ("layer", "table", "rows", "baseline median", "change %", "message"), rows))


def _json_script(element_id: str, value: Any) -> str:
    text = json.dumps(value, separators=(",", ":")).replace("<", "\\u003c")
    return f'<script type="application/json" id="{escape(element_id)}">{text}</script>'


def _chart(anchor: str, chart: Chart) -> str:
    figure = {"data": [{"type": "scatter", "mode": "lines", "name": name, "x": list(chart.x),
                        "y": list(values)} for name, values in chart.series.items()],
              "layout": {"margin": {"t": 20, "r": 10, "b": 40, "l": 60},
                         "xaxis": {"title": {"text": chart.x_column}}}}
    return (f'<div class="chart" id="chart-{anchor}"></div>'
            + _json_script(f"data-{anchor}", figure)
            + f'<p class="definition">{_t(chart.definition)}</p>')


def _panel(panel: Panel) -> str:
    anchor = panel.stakeholder.lower()
    if panel.unavailable:
        return _section(anchor, f"<p>No figures: {_t(panel.unavailable)}.</p>")
    kpis = "".join(
        f'<div class="kpi" data-kpi="{escape(k.name)}"><div>{_t(k.label)}</div>'
        f'<div class="value">{_t(k.shown)}</div>'
        f'<div class="definition">{_t(k.definition)}</div></div>' for k in panel.kpis)
    chart = (_chart(anchor, panel.chart) if panel.chart
             else "<p>No chart: its mart is not in this snapshot.</p>")
    return _section(anchor, f'<div class="kpis">{kpis}</div>{chart}')


DRAW = """
document.querySelectorAll('script[type="application/json"][id^="data-"]').forEach(function(s){
  var fig = JSON.parse(s.textContent);
  var div = document.getElementById('chart-' + s.id.slice(5));
  Plotly.newPlot(div, fig.data, fig.layout, {displaylogo:false, responsive:true});
});
"""


def render(data: ReportData) -> str:
    """The whole report page."""
    manifest = data.manifest
    body = "".join((_health(data), _steps(data), _contracts(data), _dbt_tests(data),
                    _schema_changes(data), _anomalies(data),
                    *(_panel(p) for p in data.panels)))
    toc = "".join(f'<a href="#{a}">{escape(h)}</a> · ' for a, h in SECTIONS)
    charts = any(p.chart for p in data.panels)
    script = (f"<script>{plotly_js()}</script><script>{DRAW}</script>" if charts else "")
    return (
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        f'<meta http-equiv="Content-Security-Policy" content="{escape(CSP)}">'
        f"<title>Run report {_t(manifest.run_id)}</title><style>{STYLE}</style></head><body>"
        f"<h1>Run report {_t(manifest.run_id)}</h1>"
        f"<p>Started {_t(manifest.started_at)}; run status when written: "
        f"{_t(manifest.status)}.</p><nav>{toc}</nav>{body}{script}</body></html>")
