"""High-volume activity of a block of users: events, receipts, lines, ledger, redemptions.

Over 400 lines on purpose: the streams of one block are causally chained (a receipt
earns ledger entries, redemptions spend them) and drawn from one random generator in
a fixed order; splitting them would make that order, and so the bytes, easy to break.

Users are processed in blocks of consecutive user ids so memory stays bounded; everything
a block needs about other users (invites it sent, bonuses it earned) is looked up from the
population, never from another block's output.

Balances follow one FIFO rule: a redemption pays out the user's whole available balance;
caps not redeemed within 12 months of being earned expire. With that rule every balance is
non-negative at every ledger entry by construction.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from foundation.source_tables import (
    APP_EVENTS,
    RECEIPT_ITEMS,
    RECEIPTS,
    REDEMPTIONS,
    REWARDS_LEDGER,
)
from generator import vectors as vx
from generator.config import INSTALL_OPEN_DELAY_S, Window
from generator.entities import (
    ST_QUALIFIED,
    Population,
    Products,
    to_table,
)
from generator.parameters import DAY, GeneratorParameters
from generator.pools import TextPools
from generator.vectors import NA

EVENT_NAMES = ("app_install", "app_open", "sign_up", "school_linked", "receipt_scan",
               "referral_share", "rewards_view", "redemption_request")
EV_INSTALL, EV_OPEN, EV_SIGNUP, EV_LINK, EV_SCAN, EV_SHARE, EV_VIEW, EV_REDEEM = range(8)
RECEIPT_STATUSES = ("accepted", "rejected", "pending")
RECEIPT_REASONS = ("blurry_image", "duplicate_receipt", "too_old", "unsupported_store",
                   "no_qualifying_items")
RR_BLURRY, RR_DUPLICATE, RR_TOO_OLD, RR_UNSUPPORTED, RR_NO_QUALIFYING = range(5)
ENTRY_TYPES = ("earn_purchase", "earn_referral_bonus", "earn_welcome_bonus", "redeem",
               "expire", "adjust")
ET_PURCHASE, ET_REFERRAL, ET_WELCOME, ET_REDEEM, ET_EXPIRE, ET_ADJUST = range(6)
SOURCE_TYPES = ("receipt", "referral", "redemption", "expiry", "adjustment")
SOURCE_OF_ENTRY = np.array([0, 1, 1, 2, 3, 4])
#: Order of entries at the same second: earnings, then expiries, then redemptions.
RANK_OF_ENTRY = np.array([0, 0, 0, 2, 1, 0])
OPEN_SOURCES = pa.array(['{"source":"direct"}', '{"source":"push"}', '{"source":"deeplink"}'])
SIGNUP_METHODS = pa.array(['{"method":"email"}', '{"method":"apple"}', '{"method":"google"}'])
SESSION_GAP_S = 1800


@dataclass
class IdCounters:
    """Last id used per table; blocks are processed in order so ids stay deterministic."""

    event: int = 0
    session: int = 0
    receipt: int = 0
    item: int = 0
    entry: int = 0
    redemption: int = 0


@dataclass(frozen=True)
class ActivityContext:
    """Everything a block needs that is shared by all blocks."""

    pop: Population
    products: Products
    pools: TextPools
    window: Window
    params: GeneratorParameters
    device_salt: int
    session_salt: int
    by_referrer: np.ndarray = field(repr=False)
    by_referred: np.ndarray = field(repr=False)
    versions: pa.Array = field(repr=False)
    version_lag: np.ndarray = field(repr=False)

    @classmethod
    def build(
        cls, pop: Population, products: Products, pools: TextPools, window: Window,
        params: GeneratorParameters, rng: np.random.Generator,
    ) -> ActivityContext:
        n_versions = window.days // params.release_every_days + 1
        versions = pa.array([f"{3 + v // 10}.{v % 10}.{(v * 7) % 4}" for v in range(n_versions)])
        return cls(
            pop=pop, products=products, pools=pools, window=window, params=params,
            device_salt=int(rng.integers(0, 2**62)), session_salt=int(rng.integers(0, 2**62)),
            by_referrer=vx.stable_argsort(pop.ref_referrer),
            by_referred=vx.stable_argsort(pop.ref_referred),
            versions=versions,
            version_lag=vx.choice_index(rng, params.version_lag_weights, pop.n_users),
        )


@dataclass(frozen=True)
class BlockTables:
    """What one block of users produced, ready to write."""

    app_events: pa.Table
    receipts: pa.Table
    receipt_items: pa.Table
    rewards_ledger: pa.Table
    redemptions: pa.Table


class _Events:
    """Collects event blocks (local user, time, name, session, properties)."""

    def __init__(self) -> None:
        self.parts: list[tuple[np.ndarray, np.ndarray, int, np.ndarray, pa.Array | None]] = []

    def add(self, user: np.ndarray, time: np.ndarray, name: int, session: np.ndarray,
            props: pa.Array | None = None) -> None:
        """``props``: one value per event (a categorical or string array), or None (null)."""
        if len(user):
            self.parts.append((user, time, name, session, props))


def _range_of(sorted_keys: np.ndarray, order: np.ndarray, lo: int, hi: int) -> np.ndarray:
    a, b = np.searchsorted(sorted_keys, [lo, hi], side="left")
    return order[a:b]


def generate_block(
    ctx: ActivityContext, lo: int, hi: int, rng: np.random.Generator, ids: IdCounters
) -> BlockTables:
    """Activity of users with index lo..hi-1 (user_id lo+1..hi)."""
    pop, p, w = ctx.pop, ctx.params, ctx.window
    n = hi - lo
    g = np.arange(lo, hi)
    install = pop.installed_at[g]
    signup = pop.signed_up_at[g]
    signed = signup != NA
    link = pop.school_linked_at[g]
    school = pop.school_index[g]
    first_scan = pop.first_scan_at[g]

    sessions_user: list[np.ndarray] = []
    n_sessions = 0

    def new_sessions(users: np.ndarray) -> np.ndarray:
        nonlocal n_sessions
        numbers = np.arange(n_sessions, n_sessions + len(users))
        n_sessions += len(users)
        sessions_user.append(users)
        return numbers

    ev = _Events()
    local = np.arange(n)
    # install session: app_install then app_open
    s_install = new_sessions(local)
    channels = pa.array([f'{{"acquisition_channel":"{c}"}}' for c in
                         (*p.organic_channels, "referral")])
    ev.add(local, install, EV_INSTALL, s_install, vx.categorical(channels, pop.channel[g]))
    ev.add(local, install + INSTALL_OPEN_DELAY_S, EV_OPEN, s_install,
           vx.categorical(OPEN_SOURCES, np.zeros(n, int)))

    # anonymous re-opens of installs that never sign up
    anon = np.flatnonzero(~signed & (rng.random(n) < p.anonymous_reopen_rate))
    anon = np.concatenate([anon, anon[rng.random(len(anon)) < 0.5]])
    horizon = (w.end - 1 - install[anon]) / DAY
    t = install[anon] + 60 + (vx.truncated_power_law_days(rng, horizon, 1.5) * DAY).astype(np.int64)
    keep = t < w.end
    anon, t = anon[keep], t[keep]
    ev.add(anon, t, EV_OPEN, new_sessions(anon),
           vx.categorical(OPEN_SOURCES, rng.integers(0, 3, len(anon))))

    def follow_up_sessions(rows: np.ndarray, at: np.ndarray, prior_at: np.ndarray,
                           prior_session: np.ndarray) -> np.ndarray:
        """Session of a milestone at ``at[rows]``: the prior milestone's session when it
        comes within the session gap, else a new session opened just before it."""
        same = at[rows] - prior_at[rows] < SESSION_GAP_S
        sessions = np.empty(len(rows), dtype=np.int64)
        sessions[same] = prior_session[rows[same]]
        later = rows[~same]
        sessions[~same] = new_sessions(later)
        ev.add(later, at[later] - 5, EV_OPEN, sessions[~same],
               vx.categorical(OPEN_SOURCES, rng.integers(0, 3, len(later))))
        return sessions

    # sign-up, in the install session when it happens within the session gap
    su = np.flatnonzero(signed)
    s_signup = follow_up_sessions(su, signup, install, s_install)
    ev.add(su, signup[su], EV_SIGNUP, s_signup,
           vx.categorical(SIGNUP_METHODS, vx.choice_index(rng, (0.6, 0.25, 0.15), len(su))))
    session_of_signup = np.full(n, -1, dtype=np.int64)
    session_of_signup[su] = s_signup

    # school link, in the sign-up session when it happens within the session gap
    lk = np.flatnonzero(link != NA)
    s_link = follow_up_sessions(lk, link, signup, session_of_signup)
    ev.add(lk, link[lk], EV_LINK, s_link,
           vx.join('{"school_id":', vx.int_text(school[lk] + 1), "}"))

    # activity sessions: power-law decay after sign-up, thinned by weekday
    horizon = np.where(signed, (w.end - signup) / DAY, 0.0)
    ratio = vx.power_law_mass(horizon, p.activity_decay_alpha) / vx.power_law_mass(
        np.array([p.lifetime_days]), p.activity_decay_alpha)
    weekday_w = np.asarray(p.activity_weekday_weights)
    lam = p.sessions_per_user * pop.engagement[g] * ratio / weekday_w.mean()
    counts = rng.poisson(np.where(signed, lam, 0.0))
    a_user = np.repeat(local, counts)
    off = vx.truncated_power_law_days(rng, horizon[a_user], p.activity_decay_alpha)
    day0 = signup[a_user] + (off * DAY).astype(np.int64)
    t = (day0 // DAY) * DAY + vx.seconds_of_day(rng, p.hour_weights, len(a_user))
    too_early = t < signup[a_user] + 60
    t[too_early] = signup[a_user][too_early] + 60 + rng.integers(0, 3600, int(too_early.sum()))
    keep = (t < w.end - 600) & (rng.random(len(t)) < weekday_w[vx.weekday(t)] / weekday_w.max())
    a_user, t = a_user[keep], t[keep]
    s_act = new_sessions(a_user)
    ev.add(a_user, t, EV_OPEN, s_act, vx.categorical(OPEN_SOURCES, vx.choice_index(
        rng, (0.6, 0.3, 0.1), len(a_user))))
    view = rng.random(len(t)) < p.rewards_view_rate
    ev.add(a_user[view], t[view] + rng.integers(5, 120, int(view.sum())), EV_VIEW, s_act[view])

    # receipts: the first scan (its own session), then scans in later sessions
    fs = np.flatnonzero(first_scan != NA)
    s_first = new_sessions(fs)
    ev.add(fs, first_scan[fs] - 20, EV_OPEN, s_first,
           vx.categorical(OPEN_SOURCES, np.zeros(len(fs), int)))
    scan_rate = np.asarray(p.scan_rate_by_weekday)
    fsu = first_scan[a_user]
    scans = (fsu != NA) & (t > fsu + 60) & (rng.random(len(t)) < scan_rate[vx.weekday(t)])
    r_user = np.concatenate([fs, a_user[scans]])
    r_scan = np.concatenate([first_scan[fs], t[scans] + rng.integers(10, 300, int(scans.sum()))])
    r_session = np.concatenate([s_first, s_act[scans]])
    r_first = np.concatenate([np.ones(len(fs), bool), np.zeros(int(scans.sum()), bool)])
    keep = r_scan < w.end
    r_user, r_scan, r_session, r_first = r_user[keep], r_scan[keep], r_session[keep], r_first[keep]
    receipts, items, lots_r = _receipts(ctx, rng, ids, g, r_user, r_scan, r_first)
    r_order = receipts.pop("_order")
    ev.add(r_user[r_order], r_scan[r_order], EV_SCAN, r_session[r_order],
           vx.join('{"receipt_id":', vx.int_text(receipts["_id"]), "}"))

    # invites sent by this block's users: a session with a share
    sent_idx = _range_of(pop.ref_referrer[ctx.by_referrer], ctx.by_referrer, lo, hi)
    sent_user = pop.ref_referrer[sent_idx] - lo
    sent_at = pop.ref_sent_at[sent_idx]
    s_share = new_sessions(sent_user)
    ev.add(sent_user, sent_at - 15, EV_OPEN, s_share,
           vx.categorical(OPEN_SOURCES, np.zeros(len(sent_user), int)))
    ev.add(sent_user, sent_at, EV_SHARE, s_share, vx.join(
        '{"referral_id":', vx.int_text(sent_idx + 1), ',"channel":"',
        vx.take(pa.array(p.referral_channels), pop.ref_channel[sent_idx]), '"}'))

    # ledger lots: purchases, referral and welcome bonuses, goodwill adjustments
    qualified_sent = sent_idx[pop.ref_status[sent_idx] == ST_QUALIFIED]
    got_idx = _range_of(pop.ref_referred[ctx.by_referred], ctx.by_referred, lo, hi)
    got_idx = got_idx[pop.ref_status[got_idx] == ST_QUALIFIED]
    adj = np.flatnonzero(signed & (rng.random(n) < p.adjustment_rate))
    adj_t = signup[adj] + (rng.random(len(adj)) * (w.end - 1 - signup[adj])).astype(np.int64)
    lot_user = np.concatenate([lots_r["user"], pop.ref_referrer[qualified_sent] - lo,
                               pop.ref_referred[got_idx] - lo, adj])
    lot_t = np.concatenate([lots_r["t"], pop.ref_qualified_at[qualified_sent],
                            pop.ref_qualified_at[got_idx], adj_t])
    lot_amount = np.concatenate([
        lots_r["amount"], np.full(len(qualified_sent), p.referral_bonus_cents),
        np.full(len(got_idx), p.welcome_bonus_cents),
        rng.integers(5, 51, len(adj)) * 10]).astype(np.int64)
    lot_type = np.concatenate([
        np.full(len(lots_r["t"]), ET_PURCHASE), np.full(len(qualified_sent), ET_REFERRAL),
        np.full(len(got_idx), ET_WELCOME), np.full(len(adj), ET_ADJUST)])
    lot_source = np.concatenate([lots_r["source"], qualified_sent + 1, got_idx + 1,
                                 np.full(len(adj), NA)])

    # redemption candidates: sessions after the school link
    lsu = link[a_user]
    cand = (lsu != NA) & (t > lsu) & (rng.random(len(t)) < p.redemption_session_rate)
    c_user, c_session = a_user[cand], s_act[cand]
    c_t = t[cand] + rng.integers(30, 300, int(cand.sum()))
    keep = c_t < w.end
    c_user, c_t, c_session = c_user[keep], c_t[keep], c_session[keep]
    ledger, redemptions, red_events = _settle(
        ctx, rng, ids, g, lot_user, lot_t, lot_amount, lot_type, lot_source,
        c_user, c_t, c_session)
    ev.add(red_events["user"], red_events["t"], EV_REDEEM, red_events["session"],
           vx.join('{"redemption_id":', vx.int_text(red_events["id"]), ',"amount_cents":',
                   vx.int_text(red_events["amount"]), "}"))

    events = _events_table(ctx, ev, g, ids, sessions_user)
    receipts_table = to_table(RECEIPTS, receipts)
    items_table = to_table(RECEIPT_ITEMS, items)
    return BlockTables(events, receipts_table, items_table, ledger, redemptions)


def _school_at(
    school: np.ndarray, link: np.ndarray, when: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """School id (1-based) linked at ``when`` and whether there was one."""
    has = (link != NA) & (link <= when)
    return school + 1, has


def _receipts(
    ctx: ActivityContext, rng: np.random.Generator, ids: IdCounters, g: np.ndarray,
    r_user: np.ndarray, r_scan: np.ndarray, r_first: np.ndarray,
) -> tuple[dict, dict, dict]:
    """Receipts and their lines; returns columns, line columns and earned lots."""
    pop, p, w, prod = ctx.pop, ctx.params, ctx.window, ctx.products
    order = vx.lexsort_order(r_user, r_scan)
    r_user, r_scan, r_first = r_user[order], r_scan[order], r_first[order]
    m = len(r_user)
    rid = ids.receipt + 1 + np.arange(m)
    ids.receipt += m

    supported = np.asarray(ctx.pools.store_supported)
    n_chains = len(supported) - 40 if len(supported) > 40 else len(supported)
    store_w = np.where(np.arange(len(supported)) < n_chains, 3.0, 1.0)
    store = vx.choice_index(rng, store_w, m)
    sup_idx = np.flatnonzero(supported)
    store = np.where(r_first & ~supported[store], sup_idx[store % len(sup_idx)], store)

    reason = np.full(m, -1)
    u = rng.random(m)
    acc = 0.0
    for code, (_, rate) in enumerate(p.rejection_reason_rates):
        reason[(u >= acc) & (u < acc + rate) & (reason < 0)] = code
        acc += rate
    reason[(reason < 0) & ~supported[store]] = RR_UNSUPPORTED
    reason[r_first] = -1

    same_day = rng.random(m) < p.purchase_same_day_share
    delay = np.where(same_day, vx.lognormal(rng, m, p.purchase_delay_median_s, 0.8),
                     vx.lognormal(rng, m, p.purchase_late_median_s, 0.5))
    too_old = reason == RR_TOO_OLD
    delay[too_old] = rng.integers(15 * DAY, 45 * DAY, int(too_old.sum()))
    reason[too_old & (r_scan - 15 * DAY < w.start)] = RR_DUPLICATE
    purchased = np.maximum(r_scan - delay, w.start)

    n_items = 1 + np.minimum(rng.poisson(p.extra_items_mean, m), p.max_items - 1)
    item_r = np.repeat(np.arange(m), n_items)
    k = len(item_r)
    product = vx.choice_index(rng, prod.popularity, k)
    first_line = np.concatenate([[0], np.cumsum(n_items)[:-1]]) if m else np.empty(0, int)
    qual_idx = np.flatnonzero(prod.is_qualifying)
    forced = first_line[r_first]
    product[forced] = qual_idx[vx.choice_index(rng, prod.popularity[qual_idx], len(forced))]
    quantity = np.minimum(rng.geometric(p.extra_quantity_p, k), 6)
    discount = np.where(rng.random(k) < 0.2, rng.uniform(0.1, 0.3, k), 0.0)
    price = np.round(prod.price_cents[product] * (1 - discount)).astype(np.int64)
    qualifying = prod.is_qualifying[product]
    any_qual = np.bincount(item_r, weights=qualifying, minlength=m) > 0
    reason[(reason < 0) & ~any_qual] = RR_NO_QUALIFYING

    status = np.where(reason >= 0, 1, 0)
    pending = (reason < 0) & ~r_first & (r_scan >= w.end - p.pending_window_s) & (
        rng.random(m) < p.pending_rate)
    status[pending] = 2
    accepted = status == 0
    caps = np.where(accepted[item_r] & qualifying, quantity * prod.caps_per_unit[product], 0)
    total = np.bincount(item_r, weights=quantity * price, minlength=m).astype(np.int64)
    receipt_caps = np.bincount(item_r, weights=caps, minlength=m).astype(np.int64)

    ocr = np.where(status != 1, rng.beta(20, 1.2, m), rng.beta(12, 1.8, m))
    blurry = reason == RR_BLURRY
    ocr[blurry] = rng.beta(4, 6, int(blurry.sum())) * 0.7
    school_id, has_school = _school_at(pop.school_index[g][r_user], pop.school_linked_at[g][r_user],
                                       r_scan)
    receipts = {
        "_order": order,
        "_id": rid,
        "receipt_id": vx.ints(rid),
        "user_id": vx.ints(g[r_user] + 1),
        "school_id": vx.ints(school_id, has_school),
        "store_name": vx.categorical(ctx.pools.stores, store),
        "purchased_at": vx.iso_timestamps(purchased),
        "scanned_at": vx.iso_timestamps(r_scan),
        "status": vx.categorical(pa.array(RECEIPT_STATUSES), status),
        "rejection_reason": vx.categorical(pa.array(RECEIPT_REASONS), np.maximum(reason, 0),
                                           reason >= 0),
        "ocr_confidence": pa.array(np.round(ocr, 3)),
        "total_cents": vx.ints(total),
    }
    item_ids = ids.item + 1 + np.arange(k)
    ids.item += k
    items = {
        "receipt_item_id": vx.ints(item_ids),
        "receipt_id": vx.ints(rid[item_r]),
        "product_id": vx.ints(product + 1),
        "quantity": vx.ints(quantity),
        "unit_price_cents": vx.ints(price),
        "is_qualifying": pa.array(qualifying),
        "caps_earned": vx.ints(caps),
    }
    earn = accepted & (receipt_caps > 0)
    earn_t = np.minimum(r_scan[earn] + rng.integers(5, p.processing_max_s, int(earn.sum())),
                        w.end - 1)
    lots = {"user": r_user[earn], "t": earn_t, "amount": receipt_caps[earn],
            "source": rid[earn]}
    return receipts, items, lots


def _settle(
    ctx: ActivityContext, rng: np.random.Generator, ids: IdCounters, g: np.ndarray,
    lot_user: np.ndarray, lot_t: np.ndarray, lot_amount: np.ndarray, lot_type: np.ndarray,
    lot_source: np.ndarray, c_user: np.ndarray, c_t: np.ndarray, c_session: np.ndarray,
) -> tuple[pa.Table, pa.Table, dict[str, np.ndarray]]:
    """Redemptions (whole balance, FIFO) and expiries; the block's ledger and payouts."""
    pop, p, w = ctx.pop, ctx.params, ctx.window
    shift = np.int64(1 << 34)
    lot_key = lot_user * shift + (lot_t - w.start)
    lo = vx.stable_argsort(lot_key)
    lot_user, lot_t, lot_amount, lot_type, lot_source, lot_key = (
        lot_user[lo], lot_t[lo], lot_amount[lo], lot_type[lo], lot_source[lo], lot_key[lo])
    c_key = c_user * shift + (c_t - w.start)
    co = vx.stable_argsort(c_key)
    c_user, c_t, c_session, c_key = c_user[co], c_t[co], c_session[co], c_key[co]
    while True:
        j = np.searchsorted(c_key, lot_key, side="left")
        jj = np.minimum(j, max(len(c_key) - 1, 0))
        has = (j < len(c_key)) & (c_user[jj] == lot_user) if len(c_key) else np.zeros(
            len(lot_key), bool)
        expires = ~has | (c_t[jj] >= lot_t + p.expiry_s) if len(c_key) else np.ones(
            len(lot_key), bool)
        contrib = has & ~expires
        amount = np.bincount(j[contrib], weights=lot_amount[contrib],
                             minlength=len(c_key)).astype(np.int64)
        ok = amount >= p.min_redemption_cents
        if ok.all():
            break
        c_user, c_t, c_session, c_key = c_user[ok], c_t[ok], c_session[ok], c_key[ok]

    k = len(c_t)
    r_order = vx.lexsort_order(c_user, c_t)
    c_user, c_t, c_session, amount = c_user[r_order], c_t[r_order], c_session[r_order], amount[
        r_order]
    red_id = ids.redemption + 1 + np.arange(k)
    ids.redemption += k
    paid_at = c_t + vx.lognormal(rng, k, p.payout_median_s, 0.5)
    paid = paid_at < w.end
    school = pop.school_index[g][c_user] + 1
    redemptions = to_table(REDEMPTIONS, {
        "redemption_id": vx.ints(red_id),
        "user_id": vx.ints(g[c_user] + 1),
        "school_id": vx.ints(school),
        "amount_cents": vx.ints(amount),
        "requested_at": vx.iso_timestamps(c_t),
        "status": vx.take(pa.array(["paid", "pending"]), np.where(paid, 0, 1)),
        "paid_at": vx.iso_timestamps(paid_at, paid),
    })

    exp = np.flatnonzero(expires & (lot_t + p.expiry_s < w.end))
    n_lots = len(lot_t)
    e_user = np.concatenate([lot_user, lot_user[exp], c_user])
    e_t = np.concatenate([lot_t, lot_t[exp] + p.expiry_s, c_t])
    e_amount = np.concatenate([lot_amount, -lot_amount[exp], -amount])
    e_type = np.concatenate([lot_type, np.full(len(exp), ET_EXPIRE), np.full(k, ET_REDEEM)])
    e_source = np.concatenate([lot_source, np.full(len(exp), NA), red_id])
    order = vx.lexsort_order(e_user, RANK_OF_ENTRY[e_type], e_t)
    position = np.empty(len(order), dtype=np.int64)
    position[order] = np.arange(len(order))
    entry_id = ids.entry + 1 + position
    e_source[n_lots:n_lots + len(exp)] = entry_id[exp]
    ids.entry += len(order)
    e_user, e_t, e_amount, e_type, e_source = (
        e_user[order], e_t[order], e_amount[order], e_type[order], e_source[order])
    school_id, has_school = _school_at(pop.school_index[g][e_user],
                                       pop.school_linked_at[g][e_user], e_t)
    ledger = to_table(REWARDS_LEDGER, {
        "entry_id": vx.ints(ids.entry - len(order) + 1 + np.arange(len(order))),
        "user_id": vx.ints(g[e_user] + 1),
        "school_id": vx.ints(school_id, has_school),
        "entry_type": vx.categorical(pa.array(ENTRY_TYPES), e_type),
        "amount_cents": vx.ints(e_amount),
        "source_type": vx.categorical(pa.array(SOURCE_TYPES), SOURCE_OF_ENTRY[e_type]),
        "source_id": vx.ints(e_source, e_source != NA),
        "created_at": vx.iso_timestamps(e_t),
    })
    red_events = {"user": c_user, "t": c_t, "session": c_session, "id": red_id,
                  "amount": amount}
    return ledger, redemptions, red_events


def _events_table(
    ctx: ActivityContext, ev: _Events, g: np.ndarray, ids: IdCounters,
    sessions_user: list[np.ndarray],
) -> pa.Table:
    pop, w, p = ctx.pop, ctx.window, ctx.params
    user = np.concatenate([part[0] for part in ev.parts])
    time = np.concatenate([part[1] for part in ev.parts]).astype(np.int64)
    name = np.concatenate([np.full(len(part[0]), part[2]) for part in ev.parts])
    session = np.concatenate([part[3] for part in ev.parts])
    props_index, props_pool = vx.dictionary_concat([part[4] for part in ev.parts],
                                                   [len(part[0]) for part in ev.parts])
    # time order; ties by event kind, then by the fixed order the parts were added in
    order = vx.stable_argsort((time - w.start) * 8 + name)
    user, time, name, session = user[order], time[order], name[order], session[order]
    props_index = props_index[order]
    m = len(order)
    event_id = ids.event + 1 + np.arange(m)
    ids.event += m
    signup = pop.signed_up_at[g][user]
    known = (signup != NA) & (time >= signup)
    session_global = (ids.session + session).astype(np.uint64)
    ids.session += sum(len(s) for s in sessions_user)
    device_words = vx.hex_matrix(vx.scramble64(pop.device_key[g], ctx.device_salt)).view(
        np.uint64)
    release = (time - w.start) // (p.release_every_days * DAY)
    version = np.clip(release - ctx.version_lag[g][user], 0, len(ctx.versions) - 1)
    columns = {
        "event_id": vx.ints(event_id),
        "user_id": vx.ints(g[user] + 1, known),
        "device_id": vx.fixed_width_strings(device_words[user].view(np.uint8)),
        "session_id": vx.hex_strings(vx.scramble64(session_global, ctx.session_salt)),
        "event_name": vx.categorical(pa.array(EVENT_NAMES), name),
        "event_time": vx.iso_timestamps(time),
        "platform": vx.categorical(pa.array(p.platforms), pop.platform[g][user]),
        "app_version": vx.categorical(ctx.versions, version),
        "properties": pa.DictionaryArray.from_arrays(
            pa.array(props_index, mask=props_index < 0), props_pool),
    }
    return to_table(APP_EVENTS, columns)
