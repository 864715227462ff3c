"""Failures over time are flagged on the right metric, dimension and day; clean days are not.

One 5,000-user dataset (an as-of date and seed the defaults were not tuned on), then each
day-level generator fault, and faults made by hand on the CSV exports (so detection does
not depend on how the generator injects them), go through the monitoring metrics
(``monitoring_metrics_daily``'s compiled SQL, as ``bench/bench_anomalies.py`` runs it)
and the scoring with the project's settings.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pytest

from bench.bench_anomalies import EXPECTED, compile_statements, metrics_of
from foundation.source_tables import TABLES_BY_NAME
from generator.data_generator import GeneratorConfig, generate_dataset
from generator.faults import FAULT_CLASSES, apply_faults
from loader import load_raw
from pipeline.checks.series_anomalies import load_settings, score_metrics

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

CONFIG = GeneratorConfig(seed=11, users=5_000, as_of=dt.date(2026, 10, 15))
LAST_DAY = CONFIG.as_of - dt.timedelta(days=1)


@dataclass(frozen=True)
class Dataset:
    clean_dir: Path
    work: Path
    statements: list[str]

    def flags(self, data_dir: Path) -> pd.DataFrame:
        """The flagged days of the detection period of the data in ``data_dir``."""
        metrics = metrics_of(data_dir, self.work / "scored.duckdb", self.statements)
        scores = score_metrics(metrics, load_settings())
        detection = scores[scores.period == "detection"]
        return detection[detection.is_flagged].assign(
            day=lambda f: pd.to_datetime(f.metric_date).dt.date.astype(str))

    def copy(self, tmp_path: Path) -> Path:
        target = tmp_path / "data"
        shutil.copytree(self.clean_dir, target)
        return target


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    work = tmp_path_factory.mktemp("monitoring_faults")
    clean_dir = work / "clean"
    generate_dataset(clean_dir, CONFIG)
    compile_db = work / "compile.duckdb"
    load_raw(clean_dir, compile_db, "compile", pii_key="monitoring-tests-key")
    return Dataset(clean_dir, work, compile_statements(CONFIG.as_of, compile_db, work))


def _flagged(flags: pd.DataFrame, metric: str, dimension: str, value: str,
             day: str) -> bool:
    return bool(((flags.metric == metric) & (flags.dimension == dimension)
                 & (flags.dimension_value == value) & (flags.day == day)).any())


def test_a_clean_dataset_raises_no_flag(dataset: Dataset) -> None:
    flags = dataset.flags(dataset.clean_dir)
    assert flags[["metric", "dimension_value", "day", "reason"]].values.tolist() == []


def test_every_day_level_fault_has_an_expected_metric() -> None:
    assert set(EXPECTED) == set(FAULT_CLASSES[FAULT_CLASSES.index("outage_day"):])


@pytest.mark.parametrize("fault", list(EXPECTED))
def test_each_generator_fault_is_flagged_on_its_metric_dimension_and_days(
        dataset: Dataset, fault: str, tmp_path: Path) -> None:
    data_dir = dataset.copy(tmp_path)
    apply_faults(data_dir, [fault], CONFIG.seed, CONFIG.window)
    injected = json.loads((data_dir / "faults.json").read_text())["faults"][0]
    metric, dimension, value = EXPECTED[fault]
    value = value or injected["scope"]["platform"]
    flags = dataset.flags(data_dir)
    assert injected["days"]
    for day in injected["days"]:
        assert _flagged(flags, metric, dimension, value, day), (
            fault, day, flags[["metric", "dimension_value", "day"]].values.tolist())
    assert set(flags.day) <= set(injected["days"])  # nothing flagged on other days


def _read(path: Path) -> pa.Table:
    """A CSV export with every column as text, so writing it back changes nothing else."""
    with path.open(encoding="utf-8", newline="") as handle:
        names = next(csv.reader(handle))
    return pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
        column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=True))


def _on_day(table: pa.Table, column: str, day: str) -> pa.Array:
    return pc.equal(pc.utf8_slice_codeunits(table.column(column), 0, 10), day)


def _lose_receipts_of_a_day(data_dir: Path, day: str) -> None:
    receipts = _read(data_dir / "receipts.csv")
    pacsv.write_csv(receipts.filter(pc.invert(_on_day(receipts, "scanned_at", day))),
                    data_dir / "receipts.csv")


def _empty_store_names_of_a_day(data_dir: Path, day: str) -> None:
    receipts = _read(data_dir / "receipts.csv")
    store = pc.if_else(_on_day(receipts, "scanned_at", day),
                       pa.nulls(receipts.num_rows, pa.string()), receipts.column("store_name"))
    receipts = receipts.set_column(receipts.column_names.index("store_name"), "store_name",
                                   store)
    pacsv.write_csv(receipts, data_dir / "receipts.csv")


def _replay_android_events_of_a_day(data_dir: Path, day: str) -> None:
    events = _read(data_dir / "app_events.csv")
    again = events.filter(pc.and_(_on_day(events, "event_time", day),
                                  pc.equal(events.column("platform"), "android")))
    new_ids = pc.add(pc.cast(again.column("event_id"), pa.int64()), 50_000_000)
    again = again.set_column(0, "event_id", pc.cast(new_ids, pa.string()))
    pacsv.write_csv(pa.concat_tables([events, again]), data_dir / "app_events.csv")


CRAFTED = {
    # what is done to the files, the day back from the last day, what must be flagged
    "receipts_day_lost": (_lose_receipts_of_a_day, 3,
                          ("receipts.row_count", "all", "all")),
    "store_names_emptied": (_empty_store_names_of_a_day, 5,
                            ("receipts.store_name.null_share", "all", "all")),
    "android_events_replayed": (_replay_android_events_of_a_day, 6,
                                ("app_events.duplicate_share", "platform", "android")),
}


@pytest.mark.parametrize("craft", list(CRAFTED))
def test_faults_made_by_hand_on_the_exports_are_flagged(
        dataset: Dataset, craft: str, tmp_path: Path) -> None:
    change, days_back, (metric, dimension, value) = CRAFTED[craft]
    day = (LAST_DAY - dt.timedelta(days=days_back - 1)).isoformat()
    data_dir = dataset.copy(tmp_path)
    change(data_dir, day)
    flags = dataset.flags(data_dir)
    assert _flagged(flags, metric, dimension, value, day), (
        flags[["metric", "dimension_value", "day"]].values.tolist())
    assert set(flags.day) == {day}
    assert TABLES_BY_NAME[metric.split(".")[0]].event_time_column
