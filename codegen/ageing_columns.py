"""The ageing columns of the reward-liability marts, one per bucket of var
``liability_ageing_buckets`` (``dbt_project.yml``).

A mart with ``config.meta.ageing_column_description`` in its YAML gets one column
``aged_<bucket>_dollars`` per bucket, written between the lines ``# BEGIN GENERATED ageing
columns`` and ``# END GENERATED ageing columns`` of its ``columns:``; the rest of the file
stays hand-written. The models compute the same columns from the same var
(``macros/definitions.sql``), so a bucket is renamed or moved in ``dbt_project.yml`` only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import yaml

from codegen import dbt_project
from codegen.common import GenerationError, meta, relative

BEGIN = "# BEGIN GENERATED ageing columns"
END = "# END GENERATED ageing columns"
MODEL_LINE = re.compile(r"^  - name: ([a-z0-9_]+)\s*$")
DATA_TYPE = "decimal(12,2)"
#: the unit every numeric mart column declares (codegen.units): the buckets are dollars
UNIT = "dollars"


def columns_yaml(template: str, indent: str) -> str:
    """The YAML column entries of the buckets, described by ``template`` ({label})."""
    lines = []
    for bucket in dbt_project.ageing_buckets():
        description = template.format(label=bucket.label)
        if bucket.note:
            description += f"; {bucket.note}"
        lines += [f"{indent}- name: {bucket.column}",
                  f"{indent}  data_type: {DATA_TYPE}",
                  f"{indent}  config: {{meta: {{unit: {UNIT}}}}}",
                  f"{indent}  description: {json.dumps(description + '.', ensure_ascii=False)}"]
    return "\n".join(lines) + "\n"


def _models_with_ageing(text: str) -> dict[str, str]:
    return {model["name"]: meta(model)["ageing_column_description"]
            for model in yaml.safe_load(text).get("models") or ()
            if "ageing_column_description" in meta(model)}


def regenerated(path: Path) -> str:
    """The text of a models YAML with the ageing block of every mart rewritten."""
    text = path.read_text(encoding="utf-8")
    if BEGIN not in text:
        return text
    templates = _models_with_ageing(text)
    out: list[str] = []
    model: str | None = None
    done: list[str] = []
    lines = iter(text.splitlines(keepends=True))
    for line in lines:
        found = MODEL_LINE.match(line)
        model = found.group(1) if found else model
        out.append(line)
        if BEGIN not in line:
            continue
        if model not in templates or model in done:
            raise GenerationError(f"{relative(path)}: {model} has an ageing block but no "
                                  "meta.ageing_column_description (or a second block)")
        out.append(columns_yaml(templates[model], line[:line.index("#")]))
        done.append(model)
        for skipped in lines:
            if END in skipped:
                out.append(skipped)
                break
            if MODEL_LINE.match(skipped) or BEGIN in skipped:
                break
        else:
            skipped = ""
        if END not in skipped:
            raise GenerationError(f"{relative(path)}: {model}: no {END!r} after {BEGIN!r}")
    missing = sorted(set(templates) - set(done))
    if missing:
        raise GenerationError(f"{relative(path)}: {missing} have meta.ageing_column_description "
                              f"but no {BEGIN!r} line in their columns")
    return "".join(out)


def files() -> dict[Path, Callable[[], str]]:
    """Every models YAML holding an ageing block."""
    return {path: (lambda path=path: regenerated(path)) for path in dbt_project.model_yaml_files()
            if BEGIN in path.read_text(encoding="utf-8")}
