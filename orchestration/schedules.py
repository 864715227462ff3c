"""When runs happen: one partition per as-of date, a daily schedule, backfills by date.

A partition's key is the run's as-of date: the data's exclusive cut-off at 00:00 UTC, so
the partition of day D holds everything that happened before D. The partitions reach one
day past the last complete one (``end_offset=1``), so the schedule's tick at 05:30 UTC on
day D runs as-of D: all of yesterday, as ``run_pipeline.py`` without ``--as-of`` would. A
backfill runs one partition per Dagster run; each publishes its own snapshot, and the
pointer stays on the newest as-of date whatever the order they finish in
(:mod:`pipeline.records.publication_order`).
"""

from __future__ import annotations

import dagster as dg

FIRST_AS_OF = "2026-01-01"
JOB_NAME = "carton_caps_daily"
SCHEDULE_NAME = "carton_caps_daily_schedule"
#: early morning UTC: yesterday is complete, and the run is done before the working day
SCHEDULE_HOUR_UTC, SCHEDULE_MINUTE = 5, 30

daily_partitions = dg.DailyPartitionsDefinition(start_date=FIRST_AS_OF, end_offset=1,
                                                timezone="UTC")


def daily_job() -> dg.UnresolvedAssetJobDefinition:
    """Every asset, for one partition: one pipeline run."""
    return dg.define_asset_job(JOB_NAME, selection=dg.AssetSelection.all(),
                               description="One pipeline run for the partition's as-of date")


def daily_schedule(job: dg.UnresolvedAssetJobDefinition) -> dg.ScheduleDefinition:
    """05:30 UTC every day (the partitions' time zone), for that day's as-of date."""
    return dg.build_schedule_from_partitioned_job(
        job, name=SCHEDULE_NAME, hour_of_day=SCHEDULE_HOUR_UTC,
        minute_of_hour=SCHEDULE_MINUTE)
