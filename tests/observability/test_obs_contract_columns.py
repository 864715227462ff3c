"""The marts contract and the dbt marts YAML describe the same columns.

dbt's enforced contracts guard the marts' shape at build time; the ODCS contract repeats
the columns so stakeholders' checks run on them. A column renamed in dbt but not in the
contract would raise a false alarm on every clean run, so the two are kept in step here.
"""

from __future__ import annotations

from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]


def dbt_mart_columns() -> dict[str, list[str]]:
    columns: dict[str, list[str]] = {}
    for path in (REPO_ROOT / "dbt_carton_caps" / "models" / "marts").rglob("*.yml"):
        for model in yaml.safe_load(path.read_text()).get("models") or []:
            columns[model["name"]] = [column["name"] for column in model.get("columns", [])]
    return columns


def contract_mart_columns() -> dict[str, list[str]]:
    document = yaml.safe_load((REPO_ROOT / "contracts" / "marts.odcs.yaml").read_text())
    return {table["name"]: [prop["name"] for prop in table.get("properties", [])]
            for table in document["schema"]}


def test_every_mart_has_a_contract_with_exactly_its_dbt_columns() -> None:
    dbt, contract = dbt_mart_columns(), contract_mart_columns()
    assert sorted(contract) == sorted(dbt)
    mismatched = {name: {"contract_only": sorted(set(contract[name]) - set(cols)),
                         "dbt_only": sorted(set(cols) - set(contract[name]))}
                  for name, cols in dbt.items() if set(cols) != set(contract[name])}
    assert mismatched == {}
