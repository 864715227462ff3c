"""Every behavioural parameter of the synthetic data, in one place, with why.

The generator reads only :data:`PARAMETERS`; change a number here and the story the
marts tell changes with it. Rates are probabilities, delays are seconds (medians of
log-normal distributions unless said otherwise), money is cents.
"""

from __future__ import annotations

from dataclasses import dataclass

DAY = 86_400
HOUR = 3_600
MINUTE = 60


@dataclass(frozen=True)
class GeneratorParameters:
    """Rates and distributions of the simulated Carton Caps app (one frozen config)."""

    # --- installs -------------------------------------------------------------------
    #: Share of the requested users seeded as non-referred installs before the viral loop
    #: runs; referred installs (and, if the loop dies out, organic top-ups) make up the rest.
    initial_organic_share: float = 0.80
    #: Logistic growth of daily organic installs: floor, midpoint and width as a share of the
    #: history, so the app visibly grows from a soft launch to a larger steady state.
    growth_floor: float = 0.25
    growth_midpoint: float = 0.45
    growth_width: float = 0.12
    #: Install multiplier per weekday (Mon..Sun): parents install at the weekend.
    install_weekday_weights: tuple[float, ...] = (0.92, 0.90, 0.93, 0.97, 1.05, 1.18, 1.10)
    #: Back-to-school peak: Gaussian bump centred on day-of-year 240 (late August),
    #: +150 % at its top, about three weeks wide: the season schools push fundraising.
    back_to_school_day_of_year: int = 240
    back_to_school_lift: float = 1.5
    back_to_school_width_days: float = 18.0
    #: Share of events per UTC hour (US evenings are 00-03 UTC): phones get used after work.
    hour_weights: tuple[float, ...] = (
        7, 6, 5, 3, 2, 1, 1, 1, 1, 1, 1, 2, 3, 4, 5, 5, 5, 5, 5, 5, 6, 6, 7, 8,
    )
    #: Acquisition channels of non-referred installs (referral comes from the loop).
    organic_channels: tuple[str, ...] = ("organic", "paid_social", "search", "school_outreach")
    organic_channel_weights: tuple[float, ...] = (0.45, 0.20, 0.20, 0.15)
    #: Bands the resulting channel mix must fall in (tests check them): share of all users.
    channel_share_bands: tuple[tuple[str, float, float], ...] = (
        ("organic", 0.25, 0.50),
        ("paid_social", 0.10, 0.25),
        ("search", 0.10, 0.25),
        ("school_outreach", 0.06, 0.20),
        ("referral", 0.05, 0.35),
    )

    # --- accounts -------------------------------------------------------------------
    #: Not every install signs up; referred users arrive with intent and sign up more often.
    signup_rate: float = 0.76
    referred_signup_rate: float = 0.86
    #: Sign-up delay is a mixture: most sign up in the first session (minutes), the rest
    #: come back hours to days later.
    signup_fast_share: float = 0.72
    signup_fast_median_s: float = 4 * MINUTE
    signup_slow_median_s: float = 20 * HOUR
    #: Share of signed-up accounts that verify their e-mail (only they may refer).
    verified_rate: float = 0.86
    #: Share of signed-up users that link a school, and how long after sign-up.
    school_link_rate: float = 0.70
    school_link_median_s: float = 25 * MINUTE
    #: User types: mostly parents, a few teachers, some relatives/supporters.
    user_types: tuple[str, ...] = ("parent", "teacher", "supporter")
    user_type_weights: tuple[float, ...] = (0.72, 0.08, 0.20)
    platforms: tuple[str, ...] = ("ios", "android")
    platform_weights: tuple[float, ...] = (0.56, 0.44)
    #: Share of sign-ups that give a phone number.
    phone_rate: float = 0.65

    # --- schools & products ---------------------------------------------------------
    #: One school per this many users (bounded), Zipf popularity with this exponent: a
    #: handful of large, active PTAs and a long tail of schools with one or two families.
    users_per_school: int = 40
    min_schools: int = 25
    max_schools: int = 25_000
    school_zipf_exponent: float = 1.05
    #: Schools join the program in the first weeks of the history (share of the history).
    school_onboarding_share: float = 0.04
    #: School levels: (name suffix, share of schools, median enrollment, min, max). Shares
    #: and medians follow US public schools (NCES Digest: about 2/3 of schools are
    #: elementary with ~450 pupils, middle schools ~600, high schools ~850 with a long tail
    #: of large ones; K-8 schools are few and small); enrollment is log-normal around the
    #: median (sigma school_enrollment_sigma), clipped to the level's range.
    school_levels: tuple[tuple[str, float, int, int, int], ...] = (
        ("Elementary School", 0.60, 450, 120, 1_200),
        ("Middle School", 0.15, 600, 150, 1_800),
        ("High School", 0.20, 850, 150, 4_000),
        ("K-8 School", 0.05, 400, 100, 1_200),
    )
    school_enrollment_sigma: float = 0.40
    #: At most this share of a school's enrollment links the app: a pupil's family has one
    #: or two parents who might, plus staff and relatives, but even the keenest PTA signs up
    #: only about a third of its families. Users whose popular choice is full go to another
    #: school with seats left (drawn by popularity), so no school exceeds its enrollment.
    max_linked_share_of_enrollment: float = 0.35
    #: Catalogue size; share of products that earn caps; Zipf popularity of products, with
    #: qualifying products boosted because the app nudges people towards them.
    n_products: int = 400
    qualifying_product_share: float = 0.55
    product_zipf_exponent: float = 0.9
    qualifying_popularity_boost: float = 2.0

    # --- activity -------------------------------------------------------------------
    #: Lifetime app sessions of an average signed-up user (scaled by a Gamma(shape) per-user
    #: engagement, mean 1) and the power-law exponent of activity decay after sign-up:
    #: activity on day d after sign-up is proportional to (d + 1) ** -alpha, the shape real
    #: retention curves have (steep first week, long flat tail).
    sessions_per_user: float = 9.0
    engagement_shape: float = 0.6
    activity_decay_alpha: float = 1.05
    lifetime_days: int = 730
    #: Activity multiplier per weekday (Mon..Sun) applied by thinning sessions.
    activity_weekday_weights: tuple[float, ...] = (0.85, 0.82, 0.84, 0.88, 0.95, 1.0, 0.97)
    #: Share of sessions that look at rewards.
    rewards_view_rate: float = 0.30
    #: Share of never-signed-up installs that open the app again (up to two times).
    anonymous_reopen_rate: float = 0.35

    # --- receipts -------------------------------------------------------------------
    #: Share of signed-up users who ever scan (higher with a linked school), delay of the
    #: first scan after sign-up; then per-session scan probability per weekday (Mon..Sun):
    #: the weekly grocery run happens at the weekend.
    scanner_rate_linked: float = 0.78
    scanner_rate_unlinked: float = 0.35
    first_scan_median_s: float = 2 * DAY
    scan_rate_by_weekday: tuple[float, ...] = (0.40, 0.38, 0.40, 0.42, 0.50, 0.76, 0.72)
    #: Purchase happens before the scan: same day for most, up to a few days for the rest.
    purchase_same_day_share: float = 0.65
    purchase_delay_median_s: float = 2 * HOUR
    purchase_late_median_s: float = 2 * DAY
    #: Rejection reasons decided at scan time (besides 'no_qualifying_items', which follows
    #: from the lines and 'unsupported_store', which follows from the store): ~8 % overall.
    rejection_reason_rates: tuple[tuple[str, float], ...] = (
        ("blurry_image", 0.035),
        ("duplicate_receipt", 0.02),
        ("too_old", 0.012),
    )
    #: Share of stores in the pool whose receipts the OCR partner cannot read.
    unsupported_store_share: float = 0.10
    #: Receipts scanned in the last this-many seconds before the cut-off may still wait for
    #: manual review ('pending', no caps yet), with this probability.
    pending_window_s: int = 2 * DAY
    pending_rate: float = 0.6
    #: Delay between scan and the caps landing in the ledger.
    processing_max_s: int = 10 * MINUTE

    # --- referrals ------------------------------------------------------------------
    #: Pareto referrers: a share of verified users ever invite; invites per inviter are
    #: 1 + Lomax(shape) * scale, capped, so a few super-referrers send most invites.
    inviter_rate: float = 0.30
    invites_pareto_shape: float = 1.5
    invites_pareto_scale: float = 2.0
    max_invites_per_user: int = 80
    #: Invites are sent after sign-up with the same power-law decay as activity, but
    #: concentrated in the first weeks (alpha for invites).
    invite_decay_alpha: float = 1.3
    referral_channels: tuple[str, ...] = ("sms", "email", "link", "social")
    referral_channel_weights: tuple[float, ...] = (0.35, 0.20, 0.30, 0.15)
    #: Click-through per channel (same order): personal messages convert best.
    click_rates: tuple[float, ...] = (0.50, 0.25, 0.40, 0.20)
    click_median_s: float = 2 * HOUR
    #: After a click: a new install, or an already-installed user trying the code.
    install_after_click_rate: float = 0.55
    existing_user_after_click_rate: float = 0.06
    install_median_s: float = 15 * MINUTE
    #: Share of new installs from an invite that are the referrer's own device.
    self_referral_rate: float = 0.03
    #: Referred users apply the code at sign-up, some later (hours/days): past 48 h it is
    #: 'applied_after_window'. Some never apply.
    apply_rate: float = 0.92
    apply_at_signup_share: float = 0.80
    apply_late_median_s: float = 20 * HOUR
    apply_window_s: int = 48 * HOUR
    #: Fraud checks reject a small share of otherwise valid referrals.
    fraud_rate: float = 0.04
    #: Onboarding completion after sign-up.
    onboarding_rate: float = 0.90
    onboarding_median_s: float = 6 * MINUTE
    #: Referred users pick the referrer's school with this probability (parents invite
    #: parents from the same school).
    same_school_rate: float = 0.5

    # --- money: every rate behind a dollar, and why ---------------------------------
    #: 1 cap = 1 cent. Brand partners fund the caps, so only qualifying products earn, and
    #: they earn this share of their shelf price: 10 % (a $4.49 cereal earns 45 caps),
    #: the top of the 2-10 % that brand-funded cash-back and school programmes pay.
    caps_rate_of_price: float = 0.10
    #: Basket of a scanned receipt: 1 + Poisson(2.6) catalogue lines (about 3.6; a grocery
    #: run has more items, but only catalogue brands are itemised), capped at 12, and
    #: 1 + Geometric(0.7) units per line (about 1.4), so a receipt totals ~$30.
    extra_items_mean: float = 2.6
    max_items: int = 12
    extra_quantity_p: float = 0.7
    #: Referral program (docs/design.md#referral-program): $2 to the referrer and $2
    #: welcome bonus.
    referral_bonus_cents: int = 200
    welcome_bonus_cents: int = 200
    #: Redemption threshold: a payout to a school costs a transfer, so the app pays out
    #: balances of $5 or more (the whole balance); a user with a linked school requests one
    #: in this share of sessions; the school is paid a few days later.
    redemption_session_rate: float = 0.05
    min_redemption_cents: int = 500
    payout_median_s: float = 3 * DAY
    #: Unredeemed caps expire this long after they were earned (FIFO by earn time): the
    #: program's 12 months.
    expiry_s: int = 365 * DAY
    #: The outcome these rates are tuned to (a generator test checks it): what a user who
    #: earned in the last year earned in it, in cents. Fundraising apps publish a few
    #: dollars to a few tens of dollars a year per participating family; with the scan
    #: habits above (first scan, then the weekly grocery run in some sessions, decaying with
    #: engagement) this lands near $8, and near $3 per account of any kind.
    yearly_earnings_per_earner_band_cents: tuple[int, int] = (500, 2_500)

    # --- rewards --------------------------------------------------------------------
    #: Share of signed-up users who get a goodwill adjustment from support. Off by default:
    #: liability is earned - redeemed - expired (docs/design.md#reward-liability), and an
    #: adjust credit is none of the three, so generating them would make that identity
    #: depend on how a reader classifies them. The models and tests still handle adjust
    #: entries.
    adjustment_rate: float = 0.0

    # --- app versions ---------------------------------------------------------------
    #: A new minor version every this many days; a share of devices lag one or two behind.
    release_every_days: int = 42
    version_lag_weights: tuple[float, ...] = (0.7, 0.2, 0.1)


PARAMETERS = GeneratorParameters()
