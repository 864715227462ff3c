"""The dbt project's models as codegen reads them, and the definitions their YAML states.

Definitions are stated once in the dbt project: numbers as vars in ``dbt_project.yml``
(:mod:`codegen.dbt_project`), wording in the models' descriptions. A model (or column)
lists the metrics its description defines in ``config.meta.definitions``: line N of the
description defines metric N, with a key (the dashboards' caption) and a title (its heading
in ``docs/design.md``); the lines after them say how it is computed. A description may quote
a var as ``{{ var('name') }}``.

The YAML is read as ``make contracts`` would leave it (its generated ageing columns
rewritten first), so what is generated from it never depends on a stale generated block.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from codegen import ageing_columns, dbt_project
from codegen.common import GenerationError, meta, relative
from codegen.dbt_project import render_vars


def declared_models(paths: list[Path] | None = None) -> dict[str, tuple[Path, dict[str, Any]]]:
    """Every model the YAML describes, by name, with the file that describes it."""
    models: dict[str, tuple[Path, dict[str, Any]]] = {}
    for path in paths if paths is not None else dbt_project.model_yaml_files():
        document = yaml.safe_load(ageing_columns.regenerated(path))
        for model in document.get("models") or ():
            models[model["name"]] = (path, model)
    return models


def mart_models() -> dict[str, dict[str, Any]]:
    """Every mart model declared in the dbt marts YAML, by name."""
    return {name: model for name, (_path, model)
            in declared_models(dbt_project.mart_yaml_files()).items()}


# --------------------------------------------------------------------------- definitions


@dataclass(frozen=True)
class Definition:
    """One metric definition the dbt YAML states: a line of a model's (or column's)
    description."""

    key: str  #: the dashboards' caption key
    title: str  #: its heading in docs/design.md
    text: str  #: the definition, vars rendered
    model: str
    column: str | None
    path: Path  #: the YAML file that states it
    #: the description's lines after the definitions: how the model computes them
    details: tuple[str, ...] = ()


def _definitions_of(entry: dict[str, Any], model: str, column: str | None,
                    path: Path) -> list[Definition]:
    declared = meta(entry).get("definitions") or []
    if not declared:
        return []
    where = f"{relative(path)}: {model}{'.' + column if column else ''}"
    lines = [line.strip() for line in
             render_vars(entry.get("description") or "", where).split("\n") if line.strip()]
    if len(lines) < len(declared):
        raise GenerationError(f"{where}: meta.definitions names {len(declared)} metrics but "
                              f"the description has {len(lines)} lines")
    details = tuple(lines[len(declared):])
    return [Definition(key=item["key"], title=item["title"], text=line, model=model,
                       column=column, path=path, details=details)
            for item, line in zip(declared, lines, strict=False)]


def definitions() -> list[Definition]:
    """Every definition of the dbt YAML, in file and model order; keys and titles unique."""
    found: list[Definition] = []
    for name, (path, model) in declared_models().items():
        found += _definitions_of(model, name, None, path)
        for column in model.get("columns") or ():
            found += _definitions_of(column, name, column["name"], path)
    for attribute in ("key", "title"):
        values = [getattr(item, attribute) for item in found]
        repeated = sorted({value for value in values if values.count(value) > 1})
        if repeated:
            raise GenerationError(f"meta.definitions: {attribute}s used twice: {repeated}")
    return found
