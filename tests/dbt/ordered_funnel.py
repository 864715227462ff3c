"""The ordered activation funnel recomputed in pandas from the raw tables, independently of
the dbt SQL, so a test can hold the mart to the definition (docs/design.md#activation-funnel).

A user counts at a stage when they did it at or after the moment they reached the previous
stage (the first qualifying event after it, not their first-ever one), every stage within
the activation window of their first install.
"""

from __future__ import annotations

import pandas as pd

import duckdb

STAGES = ("installed", "signed_up", "school_linked", "first_accepted_receipt",
          "first_reward_earned")
EARN_TYPES = ("earn_purchase", "earn_referral_bonus", "earn_welcome_bonus")


def _first_at_or_after(moments: pd.Series, events: pd.DataFrame, at: str) -> pd.Series:
    """Per user (the index of ``moments``), the first ``events[at]`` at or after the
    user's moment; NaT when there is none or the moment is NaT."""
    joined = events.join(moments.rename("since"), on="user_id", how="inner")
    joined = joined[joined[at] >= joined["since"]]
    return joined.groupby("user_id")[at].min().reindex(moments.index)


def ordered_funnel(con: duckdb.DuckDBPyConnection, window_days: int) -> pd.DataFrame:
    """Users per install week (ISO, Monday) and stage, columns ``install_week`` and one per
    stage in funnel order, read from ``raw.users``, ``raw.receipts`` (accepted, scan time)
    and ``raw.rewards_ledger`` (positive earn_* entries, creation time)."""
    users = con.execute("select user_id, installed_at, signed_up_at, school_linked_at "
                        "from raw.users").df().set_index("user_id")
    receipts = con.execute("select user_id, scanned_at from raw.receipts "
                           "where status = 'accepted'").df()
    rewards = con.execute("select user_id, created_at, entry_type, amount_cents "
                          "from raw.rewards_ledger").df()
    rewards = rewards[rewards["entry_type"].isin(EARN_TYPES) & (rewards["amount_cents"] > 0)]

    installed = users["installed_at"]
    signed_up = users["signed_up_at"].where(users["signed_up_at"] >= installed)
    linked = users["school_linked_at"].where(users["school_linked_at"] >= signed_up)
    receipt = _first_at_or_after(linked, receipts, "scanned_at")
    reward = _first_at_or_after(receipt, rewards, "created_at")

    deadline = installed + pd.Timedelta(days=window_days)
    reached = pd.DataFrame({stage: moment.notna() & (moment <= deadline) for stage, moment
                            in zip(STAGES, (installed, signed_up, linked, receipt, reward),
                                   strict=True)})
    reached["install_week"] = (installed.dt.normalize()
                               - pd.to_timedelta(installed.dt.day_of_week, unit="D")).dt.date
    return (reached.groupby("install_week")[list(STAGES)].sum().astype(int)
            .reset_index().sort_values("install_week", ignore_index=True))
