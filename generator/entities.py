"""Operational entities: schools, products, and the user population with its referrals.

Over 400 lines on purpose: the viral loop couples users and referrals (each wave of
invites creates the next wave of users), so their vectorised generation is one unit.

The population is simulated as a viral loop: organic installs follow a growth curve with
weekly seasonality and a back-to-school peak; verified users send invites (Pareto
referrers); clicked invites turn into brand-new installs, which are users too and invite
in turn. Every program rule of the referral program holds by construction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from foundation.source_tables import PRODUCTS, REFERRALS, SCHOOLS, USERS, SourceTable
from generator import geography
from generator import vectors as vx
from generator.config import Window
from generator.parameters import DAY, GeneratorParameters
from generator.pools import CATEGORIES, EMAIL_DOMAINS, STATES, TextPools
from generator.vectors import NA

logger = logging.getLogger(__name__)

REFERRAL_STATUSES = ("sent", "clicked", "installed", "applied", "onboarded", "qualified",
                     "rejected")
REJECTION_REASONS = ("applied_after_window", "self_referral", "existing_user", "fraud_suspected")
ST_SENT, ST_CLICKED, ST_INSTALLED, ST_APPLIED, ST_ONBOARDED, ST_QUALIFIED, ST_REJECTED = range(7)
RJ_NONE, RJ_WINDOW, RJ_SELF, RJ_EXISTING, RJ_FRAUD = -1, 0, 1, 2, 3


def to_table(spec: SourceTable, columns: dict[str, pa.Array]) -> pa.Table:
    """A table with exactly the declared columns, in declared order."""
    return pa.table({name: columns[name] for name in spec.column_names})


# --- schools ------------------------------------------------------------------------


@dataclass(frozen=True)
class Schools:
    """Schools as arrays (index = school_id - 1) and as the table to write."""

    state_index: np.ndarray
    created_at: np.ndarray
    popularity: np.ndarray
    capacity: np.ndarray  # most users that may link the school
    table: pa.Table


def generate_schools(
    rng: np.random.Generator, pools: TextPools, n_schools: int, window: Window,
    params: GeneratorParameters,
) -> Schools:
    """One row per school in a real US city (city, state and ZIP from one ZIP record);
    enrollment fits the school's level; popularity is Zipf over a random ranking."""
    state_w = np.array([w for _, w in STATES])
    state_index = vx.choice_index(rng, state_w, n_schools)
    ranks = rng.permutation(n_schools) + 1
    popularity = 1.0 / ranks ** params.school_zipf_exponent
    onboarding = max(int(window.days * params.school_onboarding_share * DAY), DAY)
    created_at = window.start + rng.integers(0, onboarding, n_schools)
    levels = params.school_levels
    level = vx.choice_index(rng, [share for _, share, *_ in levels], n_schools)
    median, low, high = (np.array([row[i] for row in levels])[level] for i in (2, 3, 4))
    enrollment = np.clip(np.round(median * rng.lognormal(0.0, params.school_enrollment_sigma,
                                                         n_schools)), low, high).astype(np.int64)
    capacity = np.floor(enrollment * params.max_linked_share_of_enrollment).astype(np.int64)
    stems = vx.take(pools.school_stems, rng.integers(0, len(pools.school_stems), n_schools))
    suffixes = vx.take(pa.array([f" {name}" for name, *_ in levels]), level)
    zip_rows = geography.draw_zip_rows(rng, state_index)
    zips = geography.us_zip_codes()
    states = pa.array([s for s, _ in STATES])
    columns = {
        "school_id": vx.ints(np.arange(1, n_schools + 1)),
        "name": pc.binary_join_element_wise(stems, suffixes, ""),
        "city": vx.take(zips.city, zip_rows),
        "state": vx.take(states, state_index),
        "zip_code": vx.take(zips.zip_code, zip_rows),
        "enrollment": vx.ints(enrollment),
        "created_at": vx.iso_timestamps(created_at),
    }
    return Schools(state_index, created_at, popularity, capacity, to_table(SCHOOLS, columns))


def _seat_linked_users(
    rng: np.random.Generator, proposed: np.ndarray, linked: np.ndarray, seats: np.ndarray,
    popularity: np.ndarray,
) -> np.ndarray:
    """Each linked user's school, within the seats left; ``seats`` is decremented in place.

    Users take their proposed school in arrival order while it has seats; the rest draw
    again among schools with seats left, by popularity. Returns -1 for users not linked
    (and for the few left when every seat is taken).
    """
    school = np.where(linked, proposed, -1)
    waiting = np.flatnonzero(linked)
    for _ in range(20):
        if not len(waiting):
            break
        wanted = school[waiting]
        order = np.argsort(wanted, kind="stable")
        sorted_schools = wanted[order]
        first = np.searchsorted(sorted_schools, sorted_schools, side="left")
        rank = np.empty(len(waiting), dtype=np.int64)
        rank[order] = np.arange(len(waiting)) - first
        seated = rank < seats[wanted]
        np.subtract.at(seats, wanted[seated], 1)
        waiting = waiting[~seated]
        open_schools = np.flatnonzero(seats > 0)
        if not len(open_schools):
            break
        school[waiting] = open_schools[vx.choice_index(rng, popularity[open_schools],
                                                       len(waiting))]
    school[waiting] = -1
    return school


# --- products -----------------------------------------------------------------------


@dataclass(frozen=True)
class Products:
    """Products as arrays (index = product_id - 1) and as the table to write."""

    price_cents: np.ndarray
    caps_per_unit: np.ndarray
    is_qualifying: np.ndarray
    popularity: np.ndarray
    table: pa.Table


def _upc_check_digit(body: np.ndarray) -> np.ndarray:
    digits = np.stack([(body // 10 ** (10 - i)) % 10 for i in range(11)], axis=1)
    odd = digits[:, 0::2].sum(axis=1)
    even = digits[:, 1::2].sum(axis=1)
    return (10 - (3 * odd + even) % 10) % 10


def generate_products(
    rng: np.random.Generator, params: GeneratorParameters
) -> Products:
    """The catalogue: prices by category, a share of qualifying products, Zipf popularity."""
    n = params.n_products
    category = rng.integers(0, len(CATEGORIES), n)
    variant = rng.integers(0, 4, n)
    brand_index = rng.integers(0, 20, n)
    base = np.array([c[2] for c in CATEGORIES])[category]
    price = (np.round(base * rng.lognormal(0.0, 0.3, n) / 10) * 10 - 1).astype(np.int64)
    price = np.maximum(price, 99)
    qualifying = rng.random(n) < params.qualifying_product_share
    caps = np.where(qualifying, np.maximum(np.round(price * params.caps_rate_of_price), 5), 0)
    body = rng.choice(10**11, size=n, replace=False).astype(np.int64)
    upc = body * 10 + _upc_check_digit(body)
    ranks = rng.permutation(n) + 1
    popularity = np.where(qualifying, params.qualifying_popularity_boost, 1.0) / (
        ranks ** params.product_zipf_exponent
    )
    from generator.pools import BRANDS

    brands = pa.array(list(BRANDS))
    names_flat = pa.array([name for c in CATEGORIES for name in c[1]])
    categories = pa.array([c[0] for c in CATEGORIES])
    brand = vx.take(brands, brand_index)
    columns = {
        "product_id": vx.ints(np.arange(1, n + 1)),
        "upc": vx.digits(upc, 12),
        "brand": brand,
        "name": vx.join(brand, " ", vx.take(names_flat, category * 4 + variant)),
        "category": vx.take(categories, category),
        "unit_price_cents": vx.ints(price),
        "caps_per_unit": vx.ints(caps.astype(np.int64)),
        "is_qualifying": pa.array(qualifying),
    }
    return Products(price, caps.astype(np.int64), qualifying, popularity,
                    to_table(PRODUCTS, columns))


# --- population ---------------------------------------------------------------------


@dataclass(frozen=True)
class Population:
    """Every user (index = user_id - 1) and every referral invite, as numpy arrays."""

    installed_at: np.ndarray
    signed_up_at: np.ndarray
    verified: np.ndarray
    school_index: np.ndarray  # -1 when no school linked
    school_linked_at: np.ndarray
    first_scan_at: np.ndarray  # NA when the user never scans
    engagement: np.ndarray
    device_key: np.ndarray
    platform: np.ndarray
    channel: np.ndarray  # index into organic_channels; len(organic_channels) = referral
    user_type: np.ndarray
    state_index: np.ndarray
    # referrals (index = referral_id - 1)
    ref_referrer: np.ndarray
    ref_referred: np.ndarray  # -1 when no account
    ref_channel: np.ndarray
    ref_sent_at: np.ndarray
    ref_clicked_at: np.ndarray
    ref_installed_at: np.ndarray
    ref_applied_at: np.ndarray
    ref_onboarded_at: np.ndarray
    ref_qualified_at: np.ndarray
    ref_status: np.ndarray
    ref_reason: np.ndarray

    @property
    def n_users(self) -> int:
        return len(self.installed_at)


def _organic_install_times(
    rng: np.random.Generator, n: int, window: Window, params: GeneratorParameters
) -> np.ndarray:
    days = np.arange(window.days)
    x = days / max(window.days, 1)
    growth = params.growth_floor + (1 - params.growth_floor) / (
        1 + np.exp(-(x - params.growth_midpoint) / params.growth_width)
    )
    day_start = window.start + days * DAY
    dow = vx.weekday(day_start)
    doy = (day_start.astype("datetime64[s]") - day_start.astype("datetime64[s]").astype(
        "datetime64[Y]")).astype("timedelta64[D]").astype(np.int64)
    bts = 1 + params.back_to_school_lift * np.exp(
        -0.5 * ((doy - params.back_to_school_day_of_year) / params.back_to_school_width_days) ** 2
    )
    weights = growth * np.asarray(params.install_weekday_weights)[dow] * bts
    day = vx.choice_index(rng, weights, n)
    return np.minimum(day_start[day] + vx.seconds_of_day(rng, params.hour_weights, n),
                      window.last_install)


@dataclass
class _Users:
    """Growing per-user arrays while the loop runs (in creation order)."""

    cols: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.cols["installed_at"])

    def extend(self, new: dict[str, np.ndarray]) -> None:
        for key, value in new.items():
            self.cols[key] = np.concatenate([self.cols[key], value]) if key in self.cols else value


def _new_users(
    rng: np.random.Generator, installed_at: np.ndarray, *, referred: bool,
    device_key: np.ndarray, school_hint: np.ndarray, schools: Schools, seats: np.ndarray,
    window: Window, params: GeneratorParameters,
) -> dict[str, np.ndarray]:
    """Attributes of freshly installed users; every timestamp is after the install.

    ``seats`` (users each school may still take) is decremented for every user linked here.
    """
    n = len(installed_at)
    rate = params.referred_signup_rate if referred else params.signup_rate
    signed = rng.random(n) < rate
    fast = rng.random(n) < params.signup_fast_share
    delay = np.where(fast, vx.lognormal(rng, n, params.signup_fast_median_s, 0.8),
                     vx.lognormal(rng, n, params.signup_slow_median_s, 1.2))
    signup = installed_at + np.maximum(delay, 30)
    signed &= signup < window.end
    signup = np.where(signed, signup, NA)
    verified = signed & (rng.random(n) < params.verified_rate)

    zipf_school = vx.choice_index(rng, schools.popularity, n)
    proposed = np.where(school_hint >= 0, school_hint, zipf_school)
    linked = signed & (rng.random(n) < params.school_link_rate)
    link = signup + vx.lognormal(rng, n, params.school_link_median_s, 1.8)
    linked &= np.maximum(link, schools.created_at[proposed] + 60) < window.end
    school = _seat_linked_users(rng, proposed, linked, seats, schools.popularity)
    link = np.maximum(link, schools.created_at[np.maximum(school, 0)] + 60)
    late = (school >= 0) & (link >= window.end)  # reseated at a school that joined later
    np.add.at(seats, school[late], 1)
    school = np.where(late, -1, school)
    linked = school >= 0
    link = np.where(linked, link, NA)

    scan_rate = np.where(linked, params.scanner_rate_linked, params.scanner_rate_unlinked)
    scanner = signed & (rng.random(n) < scan_rate)
    first_scan = signup + np.maximum(vx.lognormal(rng, n, params.first_scan_median_s, 1.3), 120)
    scanner &= first_scan < window.end - 60
    first_scan = np.where(scanner, first_scan, NA)

    state_w = np.array([w for _, w in STATES])
    state = np.where(linked, schools.state_index[np.maximum(school, 0)],
                     vx.choice_index(rng, state_w, n))
    return {
        "installed_at": installed_at.astype(np.int64),
        "signed_up_at": signup.astype(np.int64),
        "verified": verified,
        "school_index": school.astype(np.int64),
        "school_linked_at": link.astype(np.int64),
        "first_scan_at": first_scan.astype(np.int64),
        "engagement": rng.gamma(params.engagement_shape, 1 / params.engagement_shape, n),
        "device_key": device_key.astype(np.uint64),
        "platform": vx.choice_index(rng, params.platform_weights, n),
        "user_type": vx.choice_index(rng, params.user_type_weights, n),
        "state_index": state.astype(np.int64),
    }


def simulate_population(
    rng: np.random.Generator, n_users: int, schools: Schools, window: Window,
    params: GeneratorParameters,
) -> Population:
    """Run the viral loop until exactly ``n_users`` accounts exist."""
    n_channels = len(params.organic_channels)
    referral_channel = n_channels
    device_counter = 0
    seats = schools.capacity.copy()

    def organic(n: int) -> dict[str, np.ndarray]:
        nonlocal device_counter
        keys = np.arange(device_counter, device_counter + n, dtype=np.uint64)
        device_counter += n
        cols = _new_users(rng, _organic_install_times(rng, n, window, params), referred=False,
                          device_key=keys, school_hint=np.full(n, -1), schools=schools,
                          seats=seats, window=window, params=params)
        cols["channel"] = vx.choice_index(rng, params.organic_channel_weights, n)
        return cols

    users = _Users({})
    users.extend(organic(max(1, min(n_users, round(n_users * params.initial_organic_share)))))
    pending = np.arange(len(users))
    refs: list[dict[str, np.ndarray]] = []
    while True:
        batch, new_users = _invite_round(rng, users, pending, n_users, schools, seats, window,
                                         params, referral_channel, device_counter)
        device_counter += len(new_users["installed_at"]) if new_users else 0
        if batch is not None:
            refs.append(batch)
        if new_users:
            start = len(users)
            users.extend(new_users)
            pending = np.arange(start, len(users))
        elif len(users) < n_users:
            start = len(users)
            users.extend(organic(n_users - len(users)))
            pending = np.arange(start, len(users))
        else:
            break
    return _finalise(users, refs, window)


def _invite_round(
    rng: np.random.Generator, users: _Users, senders: np.ndarray, n_target: int,
    schools: Schools, seats: np.ndarray, window: Window, params: GeneratorParameters,
    referral_channel: int, device_counter: int,
) -> tuple[dict[str, np.ndarray] | None, dict[str, np.ndarray] | None]:
    """Invites sent by ``senders``; returns the invite rows and the new referred users."""
    u = users.cols
    eligible = senders[u["verified"][senders]]
    inviters = eligible[rng.random(len(eligible)) < params.inviter_rate]
    counts = 1 + np.floor(rng.pareto(params.invites_pareto_shape, len(inviters))
                          * params.invites_pareto_scale).astype(np.int64)
    counts = np.minimum(counts, params.max_invites_per_user)
    referrer = np.repeat(inviters, counts)
    m = len(referrer)
    if m == 0:
        return None, None
    earliest = u["signed_up_at"][referrer] + 900
    horizon = (window.end - 1 - earliest) / DAY
    sent = earliest + (vx.truncated_power_law_days(rng, horizon, params.invite_decay_alpha)
                       * DAY).astype(np.int64)
    keep = (horizon > 0) & (sent < window.end)
    referrer, sent = referrer[keep], sent[keep]
    m = len(referrer)
    channel = vx.choice_index(rng, params.referral_channel_weights, m)
    clicked_at = sent + vx.lognormal(rng, m, params.click_median_s, 1.2)
    clicked = (rng.random(m) < np.asarray(params.click_rates)[channel]) & (
        clicked_at < window.end)
    outcome = rng.random(m)
    installed_at = clicked_at + vx.lognormal(rng, m, params.install_median_s, 1.0)
    is_install = clicked & (outcome < params.install_after_click_rate) & (
        installed_at <= window.last_install)
    is_existing = clicked & ~is_install & (
        outcome >= params.install_after_click_rate) & (
        outcome < params.install_after_click_rate + params.existing_user_after_click_rate)

    # existing users trying a code: somebody who installed at least a day before the invite
    order = vx.stable_argsort(u["installed_at"])
    sorted_install = u["installed_at"][order]
    n_before = np.searchsorted(sorted_install, sent - DAY, side="right")
    pick = order[np.minimum((rng.random(m) * n_before).astype(np.int64),
                            np.maximum(n_before - 1, 0))]
    is_existing &= (n_before > 0) & (pick != referrer)
    existing_applied = clicked_at + vx.lognormal(rng, m, 5 * 60, 0.8)
    is_existing &= existing_applied < window.end

    # cap the population at exactly n_target accounts
    install_idx = np.flatnonzero(is_install)
    room = max(n_target - len(users), 0)
    if len(install_idx) > room:
        keep_idx = np.sort(rng.choice(install_idx, size=room, replace=False))
        dropped = np.setdiff1d(install_idx, keep_idx, assume_unique=True)
        is_install[dropped] = False
        install_idx = keep_idx
    k = len(install_idx)

    referred = np.full(m, -1, dtype=np.int64)
    referred[is_existing] = pick[is_existing]
    applied = np.where(is_existing, existing_applied, NA)
    onboarded = np.full(m, NA, dtype=np.int64)
    qualified = np.full(m, NA, dtype=np.int64)
    status = np.where(clicked, ST_CLICKED, ST_SENT)
    reason = np.full(m, RJ_NONE)
    status[is_existing] = ST_REJECTED
    reason[is_existing] = RJ_EXISTING

    new_users = None
    if k:
        ref_of_new = referrer[install_idx]
        is_self = rng.random(k) < params.self_referral_rate
        device = np.where(is_self, u["device_key"][ref_of_new],
                          np.arange(device_counter, device_counter + k, dtype=np.uint64))
        ref_school = u["school_index"][ref_of_new]
        hint = np.where(rng.random(k) < params.same_school_rate, ref_school, -1)
        new_users = _new_users(rng, installed_at[install_idx], referred=True, device_key=device,
                               school_hint=hint, schools=schools, seats=seats, window=window,
                               params=params)
        new_users["channel"] = np.full(k, referral_channel)
        referred[install_idx] = len(users) + np.arange(k)

        signup = new_users["signed_up_at"]
        signed = signup != NA
        applies = signed & (rng.random(k) < params.apply_rate)
        late = signup + vx.lognormal(rng, k, params.apply_late_median_s, 1.2)
        app = np.where(rng.random(k) < params.apply_at_signup_share, signup, late)
        applies &= app < window.end
        app = np.where(applies, app, NA)
        inst = installed_at[install_idx]
        after_window = applies & (app - inst > params.apply_window_s)
        fraud = applies & ~is_self & ~after_window & (rng.random(k) < params.fraud_rate)
        rejected = applies & (is_self | after_window | fraud)
        valid = applies & ~rejected
        onb = np.maximum(app, signup + vx.lognormal(rng, k, params.onboarding_median_s, 1.0))
        onboards = valid & (rng.random(k) < params.onboarding_rate) & (onb < window.end)
        onb = np.where(onboards, onb, NA)
        big = np.iinfo(np.int64).max
        action = np.minimum(
            np.where(new_users["school_linked_at"] != NA, new_users["school_linked_at"], big),
            np.where(new_users["first_scan_at"] != NA, new_users["first_scan_at"], big))
        qual = np.maximum(onb, action)
        qualifies = onboards & (action < big) & (qual < window.end)
        qual = np.where(qualifies, qual, NA)

        st = np.full(k, ST_INSTALLED)
        st[applies] = ST_APPLIED
        st[onboards] = ST_ONBOARDED
        st[qualifies] = ST_QUALIFIED
        st[rejected] = ST_REJECTED
        rs = np.full(k, RJ_NONE)
        rs[after_window] = RJ_WINDOW
        rs[applies & is_self] = RJ_SELF
        rs[fraud] = RJ_FRAUD
        status[install_idx] = st
        reason[install_idx] = rs
        applied[install_idx] = app
        onboarded[install_idx] = onb
        qualified[install_idx] = qual

    batch = {
        "referrer": referrer,
        "referred": referred,
        "channel": channel,
        "sent_at": sent,
        "clicked_at": np.where(clicked, clicked_at, NA),
        "installed_at": np.where(is_install, installed_at, NA),
        "applied_at": applied,
        "onboarded_at": onboarded,
        "qualified_at": qualified,
        "status": status,
        "reason": reason,
    }
    return batch, new_users


def _finalise(users: _Users, refs: list[dict[str, np.ndarray]], window: Window) -> Population:
    """Order users by install (user_id) and invites by send time (referral_id)."""
    u = users.cols
    order = vx.stable_argsort(u["installed_at"])
    rank = np.empty(len(users), dtype=np.int64)
    rank[order] = np.arange(len(users))
    if refs:
        r = {key: np.concatenate([b[key] for b in refs]) for key in refs[0]}
    else:
        r = {key: np.empty(0, dtype=np.int64) for key in (
            "referrer", "referred", "channel", "sent_at", "clicked_at", "installed_at",
            "applied_at", "onboarded_at", "qualified_at", "status", "reason")}
    r_order = vx.stable_argsort(r["sent_at"])
    r = {key: value[r_order] for key, value in r.items()}
    referred = np.where(r["referred"] >= 0, rank[np.maximum(r["referred"], 0)], -1)
    for key in ("sent_at", "clicked_at", "installed_at", "applied_at", "onboarded_at",
                "qualified_at"):
        assert np.all((r[key] == NA) | (r[key] < window.end)), key
    return Population(
        installed_at=u["installed_at"][order],
        signed_up_at=u["signed_up_at"][order],
        verified=u["verified"][order],
        school_index=u["school_index"][order],
        school_linked_at=u["school_linked_at"][order],
        first_scan_at=u["first_scan_at"][order],
        engagement=u["engagement"][order],
        device_key=u["device_key"][order],
        platform=u["platform"][order],
        channel=u["channel"][order],
        user_type=u["user_type"][order],
        state_index=u["state_index"][order],
        ref_referrer=rank[r["referrer"]],
        ref_referred=referred,
        ref_channel=r["channel"],
        ref_sent_at=r["sent_at"],
        ref_clicked_at=r["clicked_at"],
        ref_installed_at=r["installed_at"],
        ref_applied_at=r["applied_at"],
        ref_onboarded_at=r["onboarded_at"],
        ref_qualified_at=r["qualified_at"],
        ref_status=r["status"],
        ref_reason=r["reason"],
    )


# --- tables -------------------------------------------------------------------------


def referral_codes(user_ids: np.ndarray) -> pa.Array:
    """Each user's one stable code: a bijection of the user id on 40 bits, in base 32."""
    mask = np.uint64((1 << 40) - 1)
    with np.errstate(over="ignore"):
        x = (np.asarray(user_ids, dtype=np.uint64) * np.uint64(0x5DEECE66D)
             + np.uint64(0xB16B00B5)) & mask
        x ^= x >> np.uint64(17)
        x = (x * np.uint64(0x2545F4914F)) & mask
    return vx.base32_codes(x, 8)


def device_ids(device_key: np.ndarray, salt: int) -> pa.Array:
    """Unique device ids from device keys (scrambled, so they look random)."""
    return vx.hex_strings(vx.scramble64(device_key, salt))


def users_table(
    pop: Population, lo: int, hi: int, pools: TextPools, rng: np.random.Generator,
    params: GeneratorParameters, salt: int,
) -> pa.Table:
    """Rows ``lo..hi-1`` (user_id lo+1..hi) of the users table."""
    idx = np.arange(lo, hi)
    n = len(idx)
    user_id = idx + 1
    signed = pop.signed_up_at[idx] != NA
    first = rng.integers(0, len(pools.first_names), n)
    last = rng.integers(0, len(pools.last_names), n)
    domain = rng.integers(0, len(EMAIL_DOMAINS), n)
    first_names = vx.take(pools.first_names, first)
    last_names = vx.take(pools.last_names, last)
    local = pc.replace_substring_regex(
        pc.utf8_lower(vx.join(first_names, ".", last_names)), "[^a-z.]", "")
    email = vx.join(local, vx.int_text(user_id), "@", vx.take(pa.array(EMAIL_DOMAINS), domain))
    has_phone = signed & (rng.random(n) < params.phone_rate)
    phone = vx.join("+1", vx.digits(rng.integers(201, 990, n), 3),
                    vx.digits(rng.integers(200, 1000, n), 3),
                    vx.digits(rng.integers(0, 10000, n), 4))
    link = pop.school_linked_at[idx]
    updated = np.maximum(np.maximum(pop.installed_at[idx], pop.signed_up_at[idx]), link)
    channels = pa.array([*params.organic_channels, "referral"])
    states = pa.array([s for s, _ in STATES])
    school = pop.school_index[idx]
    columns = {
        "user_id": vx.ints(user_id),
        "email": vx.take(email, np.arange(n), signed),
        "first_name": vx.take(first_names, np.arange(n), signed),
        "last_name": vx.take(last_names, np.arange(n), signed),
        "phone": vx.take(phone, np.arange(n), has_phone),
        "state": vx.take(states, pop.state_index[idx]),
        "user_type": vx.take(pa.array(params.user_types), pop.user_type[idx]),
        "platform": vx.take(pa.array(params.platforms), pop.platform[idx]),
        "device_id": device_ids(pop.device_key[idx], salt),
        "acquisition_channel": vx.take(channels, pop.channel[idx]),
        "referral_code": referral_codes(user_id),
        "installed_at": vx.iso_timestamps(pop.installed_at[idx]),
        "signed_up_at": vx.iso_timestamps(pop.signed_up_at[idx]),
        "school_id": vx.ints(school + 1, school >= 0),
        "school_linked_at": vx.iso_timestamps(link),
        "is_verified": pa.array(pop.verified[idx]),
        "updated_at": vx.iso_timestamps(updated),
    }
    return to_table(USERS, columns)


def referrals_table(pop: Population, params: GeneratorParameters) -> pa.Table:
    """Every invite, ordered by referral_id (= send order)."""
    n = len(pop.ref_sent_at)
    referrer = pop.ref_referrer
    referred = pop.ref_referred
    reason = pop.ref_reason
    columns = {
        "referral_id": vx.ints(np.arange(1, n + 1)),
        "referrer_user_id": vx.ints(referrer + 1),
        "referral_code": referral_codes(referrer + 1),
        "channel": vx.take(pa.array(params.referral_channels), pop.ref_channel),
        "sent_at": vx.iso_timestamps(pop.ref_sent_at),
        "clicked_at": vx.iso_timestamps(pop.ref_clicked_at),
        "installed_at": vx.iso_timestamps(pop.ref_installed_at),
        "referred_user_id": vx.ints(referred + 1, referred >= 0),
        "applied_at": vx.iso_timestamps(pop.ref_applied_at),
        "onboarded_at": vx.iso_timestamps(pop.ref_onboarded_at),
        "qualified_at": vx.iso_timestamps(pop.ref_qualified_at),
        "status": vx.take(pa.array(REFERRAL_STATUSES), pop.ref_status),
        "rejection_reason": vx.take(pa.array(REJECTION_REASONS), np.maximum(reason, 0),
                                    reason >= 0),
    }
    return to_table(REFERRALS, columns)
