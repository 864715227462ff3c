"""The generated sections of ``docs/design.md``: the metric definitions and the numbers
behind them, as the dbt project states them.

``docs/design.md`` is hand-written (business rules, run lifecycle) except between its
``<!-- BEGIN GENERATED … -->`` and ``<!-- END GENERATED … -->`` lines:

* ``metric definitions``: one heading per definition of the dbt YAML (its title; the
  heading's anchor is what the code cites, e.g. ``docs/design.md#activation-funnel``), the
  definition, and how its model computes it (the rest of the model's description);
* ``definition vars``: the vars of ``dbt_project.yml`` that state a definition's numbers,
  with the ageing buckets.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from codegen import dbt_project
from codegen.common import relative, replace_block
from codegen.dbt_project import ageing_buckets
from codegen.dbt_yaml import Definition, definitions
from foundation.paths import REPO_ROOT

DESIGN_FILE = REPO_ROOT / "docs" / "design.md"
METRICS = "metric definitions"
VARS = "definition vars"
#: the dbt folders of the definitions, in the order the page presents them
SECTIONS = (("product", "Product"), ("marketing", "Marketing"), ("finance", "Finance"),
            ("core", "Core"))


def begin(name: str) -> str:
    return f"<!-- BEGIN GENERATED {name}"


def end(name: str) -> str:
    return f"<!-- END GENERATED {name}"


def anchor(title: str) -> str:
    """The anchor GitHub (and most Markdown renderers) give a heading."""
    slug = re.sub(r"[^\w\- ]", "", title.strip().lower())
    return slug.replace(" ", "-")


def _section(item: Definition) -> str:
    return item.path.parent.name


def metrics_markdown() -> str:
    items = definitions()
    unknown = sorted({_section(item) for item in items} - {name for name, _ in SECTIONS})
    lines: list[str] = []
    for folder, heading in SECTIONS:
        chosen = [item for item in items if _section(item) == folder]
        if not chosen:
            continue
        lines += [f"### {heading}", ""]
        for index, item in enumerate(chosen):
            where = f"`{item.model}`" + (f".`{item.column}`" if item.column else "")
            lines += [f"#### {item.title}", "", item.text, "",
                      f"*Stated in* {where} (`{relative(item.path)}`, caption `{item.key}`)."]
            following = chosen[index + 1] if index + 1 < len(chosen) else None
            last_of_model = (following is None or following.model != item.model
                             or following.column is not None)
            if item.details and last_of_model and item.column is None:
                lines += ["", "*How it is computed:* " + " ".join(item.details)]
            if item.key == "ageing":
                lines += ["", "Buckets (var `liability_ageing_buckets`; columns of "
                          "`mart_reward_liability_daily` and `mart_reward_liability_by_school`):",
                          ""]
                lines += [f"- {bucket.label}: `{bucket.column}`" for bucket in ageing_buckets()]
            lines.append("")
    if unknown:
        lines += [f"Definitions in {', '.join(unknown)}: see the dbt YAML.", ""]
    return "\n".join(lines)


def vars_markdown() -> str:
    lines = ["| var | value |", "|---|---|"]
    lines += [f"| `{name}` | {value} |" for name, value in dbt_project.dbt_vars().items()
              if name != "liability_ageing_buckets"]
    buckets = ", ".join(f"{bucket.label} (`{bucket.name}`)" for bucket in ageing_buckets())
    lines += [f"| `liability_ageing_buckets` | {buckets} |", ""]
    return "\n".join(lines)


def regenerated() -> str:
    text = DESIGN_FILE.read_text(encoding="utf-8")
    where = relative(DESIGN_FILE)
    text = replace_block(text, begin(METRICS), end(METRICS), metrics_markdown(), where)
    return replace_block(text, begin(VARS), end(VARS), vars_markdown(), where)


def files() -> dict[Path, Callable[[], str]]:
    return {DESIGN_FILE: regenerated}
