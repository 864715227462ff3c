"""Lineage: the selected run's dbt graph (sources → staging → intermediate → marts →
exposures/pages) from that run's own manifest.json, each node coloured by the run's health
as it reaches it down the lineage (contracts, freshness, schema, volumes, dbt tests)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from foundation.paths import DBT_STATIC_DOCS_NAME
from pipeline.transform.artifacts import LAYERS
from streamlit_app import charts, data_access, trust, ui
from streamlit_app.literal import MESSAGE_CHARS, block, md

NODE_KEY = "lineage_node"
CHART_KEY = "lineage_chart"
ROW_PX = 22
#: characters of a node's name beside its dot: the longest that stays clear of the next
#: layer's column at a desktop width (the full name is in the node's tooltip)
NODE_LABEL_CHARS = 33
LAYER_TITLES = {"source": "Sources", "staging": "Staging", "intermediate": "Intermediate",
                "marts": "Marts", "exposure": "Pages (exposures)"}
#: a node's health: the worst finding whose subject it is or lies downstream of
HEALTH_COLORS = {"error": charts.STATUS_COLORS["error"], "warning": charts.STATUS_COLORS["warn"],
                 "info": charts.TOTAL_COLOR, "no finding": charts.STATUS_COLORS["pass"]}
HEALTH_LABELS = {"error": "affected by an error finding",
                 "warning": "affected by a warning finding",
                 "info": "affected by a note", "no finding": "no finding reaches it"}
#: the picked node's paths: a colour no health status uses
PATH_COLOR = charts.PALETTE[11]

st.title("Lineage")
run_id, _snapshot = ui.require_snapshot()
graph = data_access.dbt_lineage(run_id)
if graph is None:
    st.info(f"Run {md(run_id)} kept no dbt manifest (logs/dbt/{md(run_id)}/target/"
            "manifest.json), so its lineage cannot be drawn. Runs of the current pipeline "
            "keep it.")
    st.stop()

children: dict[str, list[str]] = {}
for node in graph.values():
    for parent in node.parents:
        children.setdefault(parent, []).append(node.unique_id)


def related(start: str, edges: dict[str, list[str]] | None) -> set[str]:
    """Every node reachable from ``start`` along ``edges`` (children) or parents (None)."""
    seen: set[str] = set()
    stack = [start]
    while stack:
        current = stack.pop()
        nexts = edges.get(current, []) if edges is not None else \
            list(graph[current].parents) if current in graph else []
        for item in nexts:
            if item in graph and item not in seen:
                seen.add(item)
                stack.append(item)
    return seen


ids = sorted(graph, key=lambda uid: (LAYERS.index(graph[uid].layer), graph[uid].name))
# a click on the chart picks the node (handled before the picker below is drawn)
clicked = st.session_state.get(CHART_KEY)
points = (clicked or {}).get("selection", {}).get("points", []) if clicked else []
click = points[0].get("customdata") if points else None
if click in graph and click != st.session_state.get("lineage_last_click"):
    st.session_state[NODE_KEY] = click  # a new click; a stale one must not undo the picker
st.session_state["lineage_last_click"] = click
ui.url_default(NODE_KEY, "node", ids)
default = next((uid for uid in ids if graph[uid].layer == "marts"), ids[0])
if st.session_state.get(NODE_KEY) not in graph:
    st.session_state[NODE_KEY] = default
picked = st.selectbox("Node", ids, key=NODE_KEY,
                      format_func=lambda uid: f"{LAYER_TITLES[graph[uid].layer]}: "
                                              f"{graph[uid].name}",
                      help="Or click a node in the graph.")
ui.url_sync("node", picked, default)
upstream, downstream = related(picked, None), related(picked, children)
run_health = trust.selected_health()
relations = data_access.lineage_relations(run_id)


def node_findings(uid: str) -> tuple:
    """The run's findings that reach node ``uid`` (its subject, or upstream of it)."""
    if run_health is None:
        return ()
    relation = relations.get(uid)
    return tuple(f for f in run_health.findings
                 if f.subject == uid or (relation is not None and relation in f.impacted))


def node_health(uid: str) -> str:
    severities = {f.severity for f in node_findings(uid)}
    return next((s for s in ("error", "warning", "info") if s in severities), "no finding")


# ----------------------------------------------------------------- graph
layout: dict[str, tuple[int, int]] = {}
for column, layer in enumerate(LAYERS):
    members = [uid for uid in ids if graph[uid].layer == layer]
    for row, uid in enumerate(members):
        layout[uid] = (column, row)
tallest = max(row for _column, row in layout.values()) + 1
labels = dict(zip(ids, charts.short_labels([graph[uid].name for uid in ids], NODE_LABEL_CHARS),
                  strict=True))
edge_x: list[float | None] = []
edge_y: list[float | None] = []
lit_x: list[float | None] = []
lit_y: list[float | None] = []
for uid in ids:
    for parent in graph[uid].parents:
        if parent not in layout:
            continue
        on_path = ({uid, parent} <= upstream | {picked}) or ({uid, parent} <= downstream | {picked})
        xs, ys = (lit_x, lit_y) if on_path else (edge_x, edge_y)
        xs += [layout[parent][0], layout[uid][0], None]
        ys += [layout[parent][1], layout[uid][1], None]
figure = go.Figure()
figure.add_scatter(x=edge_x, y=edge_y, mode="lines", hoverinfo="skip", showlegend=False,
                   line={"color": "rgba(140,140,140,0.25)", "width": 1})
figure.add_scatter(x=lit_x, y=lit_y, mode="lines", hoverinfo="skip", name="picked node's paths",
                   line={"color": PATH_COLOR, "width": 2})
for status in ("no finding", "info", "warning", "error"):
    members = [uid for uid in ids if node_health(uid) == status]
    if not members:
        continue
    figure.add_scatter(
        x=[layout[uid][0] for uid in members], y=[layout[uid][1] for uid in members],
        mode="markers+text", name=HEALTH_LABELS[status],
        text=[labels[uid] for uid in members], textposition="middle right",
        textfont={"size": 10}, customdata=members,
        marker={"color": HEALTH_COLORS[status], "size": [16 if uid == picked else 10
                                                          for uid in members],
                "line": {"width": [3 if uid == picked else 0 for uid in members],
                         "color": PATH_COLOR}},
        hovertemplate="%{text}<br>%{customdata}<extra>" + f"{HEALTH_LABELS[status]}</extra>")
figure.update_layout(
    title=f"dbt graph of run {run_id} (click a node)", height=max(420, tallest * ROW_PX + 120),
    legend={"orientation": "h", "y": 0, "yanchor": "top", "x": 0},
    xaxis={"tickmode": "array", "tickvals": list(range(len(LAYERS))),
           "ticktext": [LAYER_TITLES[layer] for layer in LAYERS], "side": "top",
           "range": [-0.2, len(LAYERS) - 0.1], "showgrid": False, "zeroline": False},
    yaxis={"visible": False, "autorange": "reversed"}, dragmode=False)
figure.update_layout(margin={"l": 10, "r": 10, "t": 80, "b": 40})
st.plotly_chart(charts.literal_figure(figure), key=CHART_KEY, on_select="rerun",
                selection_mode="points", config={"displayModeBar": False})
st.caption("Lineage: every source, model and page (dbt exposure) of this run's dbt manifest "
           "(logs/dbt/<run_id>/target/manifest.json), left to right in build order; an edge "
           "means the right node reads the left one. Colour = the worst of the run's findings "
           "(contracts, freshness, schema changes, volumes, dbt tests; one per root cause) "
           "that reaches the node, at its source or upstream of it; the picked node's "
           "upstream and downstream paths are drawn in a colour of their own.")

# dbt's own documentation site of this run: one page that opens as a file, offline
docs_page = data_access.dbt_docs_page(run_id)
if docs_page is None:
    st.caption(f"Run {md(run_id)} has no dbt documentation page (runs of the current "
               "pipeline write logs/dbt/<run_id>/target/static_index.html).")
else:
    st.download_button("Download dbt's documentation site (one HTML file, opens offline)",
                       docs_page, file_name=f"dbt_docs_{run_id}.html", mime="text/html",
                       key=f"dbt_docs_{run_id}", icon=":material/download:")
    st.caption("The same file on the pipeline's machine:")
    st.code(f"logs/dbt/{run_id}/target/{DBT_STATIC_DOCS_NAME}", language=None)

# ----------------------------------------------------------------- detail
node = graph[picked]
st.subheader(md(node.name))
st.caption(f"{md(node.resource_type)} in layer {LAYER_TITLES[node.layer]} · "
           f"{md(node.unique_id, MESSAGE_CHARS)}"
           + (f" · {md(node.path, MESSAGE_CHARS)}" if node.path else ""))
for finding in node_findings(picked):
    trust.finding_link(finding, f"{'Finding here' if finding.subject == picked else 'Upstream'}"
                                f": {md(finding.title, MESSAGE_CHARS)} →")
if node.description:  # dbt's markdown, but read from a file of the home: shown as text
    st.text(block(node.description))
else:
    st.caption("No description in the dbt YAML.")
tabs = st.tabs([f"Columns ({len(node.columns)})", f"Tests ({len(node.tests)})",
                f"Upstream ({len(upstream)})", f"Downstream ({len(downstream)})"])
with tabs[0]:
    if node.columns:
        ui.table(pd.DataFrame(node.columns, columns=["column", "data type", "description"]),
                 f"lineage_columns_{node.name}", run_id)
    else:
        st.info("No columns are documented for this node.")
with tabs[1]:
    if node.tests:
        ui.table(pd.DataFrame(node.tests, columns=["test", "status"]),
                 f"lineage_tests_{node.name}", run_id)
    else:
        st.info("No dbt tests are attached to this node.")
for tab, members, what in ((tabs[2], upstream, "upstream"), (tabs[3], downstream, "downstream")):
    with tab:
        if not members:
            st.info(f"Nothing {what} of {md(node.name)}.")
            continue
        rows = [(LAYER_TITLES[graph[uid].layer], graph[uid].name, graph[uid].test_status,
                 HEALTH_LABELS[node_health(uid)]) for uid in sorted(members, key=ids.index)]
        ui.table(pd.DataFrame(rows, columns=["layer", "node", "tests", "health"]),
                 f"lineage_{what}_{node.name}", run_id)
