"""Generate a synthetic shop as numpy/pandas tables (no Django, no database).

Everything is drawn from one ``numpy.random.default_rng(seed)`` in a fixed
order, and every time is a whole number of seconds before the reference time
``now``, so a seed and a ``now`` always give the same tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import pandas as pd

from .people import CONSENT_GRANTED_P, CONSENT_SOURCES, draw_people
from .profiles import (
    BARGAIN_FAVOURITE_P,
    CANCELLED_P,
    CATEGORIES,
    CATEGORY_PRICE,
    CHANNELS,
    EVENT_WINDOW_DAYS,
    GROUPS,
    REFUNDED_P,
)

DAY = 86_400


@dataclass(frozen=True)
class DemoShop:
    """The generated tables; times are epoch seconds, ``customer`` is a row of ``customers``.

    ``customers``: number (1-based), group, gender, name, city, country,
    birth_date, tenure_days (whole days), signup_tod (seconds after midnight),
    signed_up_at, consent_status, consent_source, consent_at and
    unsubscribed_at (-1 when unset). ``orders``: customer, placed_at,
    amount_cents, item_count, category, channel, status. ``events``: customer,
    event_type, occurred_at, detail (the session's channel or the page's category).
    """

    now: datetime
    customers: pd.DataFrame
    orders: pd.DataFrame
    events: pd.DataFrame


def generate_shop(*, customers: int, seed: int, now: datetime) -> DemoShop:
    """Draw ``customers`` customers with their orders and events, reproducibly for ``seed``.

    A "day" is 24 hours before ``now``; birth dates are counted from ``now``'s
    own calendar date, so pass it in the time zone you mean.
    """
    if customers < 1:
        raise ValueError("customers must be at least 1")
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    rng = np.random.default_rng(seed)
    now_s = int(now.timestamp())
    group = _assign_groups(rng, customers)
    cust = _draw_customers(rng, group, now_s, now.date())
    prefs = _category_preferences(rng, group)
    orders = _draw_orders(rng, group, cust, prefs, now_s)
    events = _draw_events(rng, group, cust, prefs, now_s)
    return DemoShop(now=now, customers=cust, orders=orders, events=events)


def _param(group: np.ndarray, attr: str) -> np.ndarray:
    """One behaviour-group attribute per customer."""
    return np.array([getattr(g, attr) for g in GROUPS])[group]


def _int_between(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Uniform integers in [lo, hi], element-wise."""
    return lo + np.floor(rng.random(len(lo)) * (hi - lo + 1)).astype(np.int64)


def _assign_groups(rng: np.random.Generator, n: int) -> np.ndarray:
    """Exact group sizes from the shares (largest remainder), in random order."""
    shares = np.array([g.share for g in GROUPS])
    raw = shares / shares.sum() * n
    counts = np.floor(raw).astype(int)
    counts[np.argsort(counts - raw, kind="stable")[: n - counts.sum()]] += 1
    return rng.permutation(np.repeat(np.arange(len(GROUPS)), counts))


def _time_of_day(rng: np.random.Generator, n: int) -> np.ndarray:
    """Seconds after midnight: a lunchtime and a bigger evening peak."""
    hours = np.where(rng.random(n) < 0.35, rng.normal(12.5, 2.5, n), rng.normal(20.5, 2.0, n))
    return (np.clip(hours, 0, 23.99) * 3600).astype(np.int64)


def _times(
    rng: np.random.Generator, day: np.ndarray, signup_day: np.ndarray,
    signup_tod: np.ndarray, now_s: int,
) -> np.ndarray:
    """Epoch seconds on ``day`` days ago, after the signup when it is the signup day."""
    tod = _time_of_day(rng, len(day))
    same_day = day == signup_day
    later = signup_tod + 1 + ((DAY - 2 - signup_tod) * rng.random(len(day))).astype(np.int64)
    tod = np.where(same_day, np.maximum(tod, later), tod)
    return now_s - day * DAY + tod


def _draw_customers(
    rng: np.random.Generator, group: np.ndarray, now_s: int, today: date
) -> pd.DataFrame:
    n = len(group)
    people = draw_people(rng, _param(group, "age_mean"))
    lo, hi = _param(group, "tenure_days").T
    tenure = _int_between(rng, lo, hi)
    signup_tod = _time_of_day(rng, n)
    signed_up_at = now_s - tenure * DAY + signup_tod
    # At least `age` whole years (and a day) old, and less than `age` + 1.
    age_days = np.ceil(people["age"] * 365.25 + rng.uniform(1, 360, n)).astype("timedelta64[D]")
    birth = np.datetime64(today, "D") - age_days

    granted = rng.random(n) < CONSENT_GRANTED_P
    unsubscribed = rng.random(n) < _param(group, "unsubscribed_p")
    unsubscribed_at = signed_up_at + (rng.random(n) * (now_s - signed_up_at)).astype(np.int64)
    status = np.where(unsubscribed, "withdrawn", np.where(granted, "granted", "unknown"))
    source = np.asarray(CONSENT_SOURCES, dtype=object)[rng.integers(0, len(CONSENT_SOURCES), n)]
    return pd.DataFrame({
        "number": np.arange(1, n + 1),
        "group": np.asarray([g.name for g in GROUPS], dtype=object)[group],
        "gender": people["gender"],
        "name": people["name"],
        "city": people["city"],
        "country": people["country"],
        "birth_date": birth,
        "tenure_days": tenure,
        "signup_tod": signup_tod,
        "signed_up_at": signed_up_at,
        "consent_status": status,
        "consent_source": np.where(status == "unknown", "", source),
        "consent_at": np.where(
            unsubscribed, unsubscribed_at, np.where(granted, signed_up_at, -1)
        ),
        "unsubscribed_at": np.where(unsubscribed, unsubscribed_at, -1),
    })


def _category_preferences(rng: np.random.Generator, group: np.ndarray) -> np.ndarray:
    """Per customer, the probability of each category (rows sum to 1)."""
    n, k = len(group), len(CATEGORIES)
    prefs = rng.dirichlet(np.full(k, 3.0), n)
    fav_p = np.array([g.favourite_category_p or 0.0 for g in GROUPS])[group]
    has_favourite = fav_p > 0
    favourite = rng.choice(k, n, p=BARGAIN_FAVOURITE_P)
    focused = np.tile((1 - fav_p)[:, None] / (k - 1), (1, k))
    focused[np.arange(n), favourite] = fav_p
    return np.where(has_favourite[:, None], focused, prefs)


def _pick_rows(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One index per row of a probability matrix (inverse CDF, vectorised)."""
    cum = np.cumsum(probs, axis=1)
    picked = (rng.random(len(probs))[:, None] > cum).sum(axis=1)
    return np.minimum(picked, probs.shape[1] - 1)


def _draw_orders(
    rng: np.random.Generator, group: np.ndarray, cust: pd.DataFrame, prefs: np.ndarray,
    now_s: int,
) -> pd.DataFrame:
    n = len(group)
    tenure = cust["tenure_days"].to_numpy()
    maximum = np.array([g.orders_max if g.orders_max is not None else 10**6 for g in GROUPS])
    count = np.minimum(
        _param(group, "orders_base") + rng.poisson(_param(group, "orders_extra_mean")),
        maximum[group],
    )
    lo, hi = _param(group, "recency_days").T
    recency = _int_between(rng, lo, np.minimum(hi, tenure))
    sigma = _param(group, "aov_sigma")
    typical = _param(group, "aov_median") * np.exp(np.clip(rng.normal(0, 1, n), -2.5, 2.5) * sigma)
    price_level = prefs @ np.array(CATEGORY_PRICE)

    owner = np.repeat(np.arange(n), count)
    position = np.arange(len(owner)) - np.repeat(np.cumsum(count) - count, count)
    latest = position == 0
    skew = _param(group, "order_time_skew")[owner]
    first, last = recency[owner], tenure[owner]
    spread = np.floor((last - first + 1) * rng.random(len(owner)) ** skew).astype(np.int64)
    day = np.where(latest, first, np.minimum(first + spread, last))
    placed_at = _times(rng, day, last, cust["signup_tod"].to_numpy()[owner], now_s)

    category = _pick_rows(rng, prefs[owner])
    noise = np.exp(rng.normal(0, 1, len(owner)) * _param(group, "order_sigma")[owner])
    amount = typical[owner] * np.array(CATEGORY_PRICE)[category] / price_level[owner] * noise
    amount_cents = np.maximum(np.rint(amount * 100), 500).astype(np.int64)
    items = 1 + rng.poisson(_param(group, "items_extra_mean")[owner])
    channel = _pick_rows(rng, np.array([g.channel_p for g in GROUPS])[group][owner])
    u = rng.random(len(owner))
    status = np.where(
        latest | (u >= CANCELLED_P + REFUNDED_P), "completed",
        np.where(u < CANCELLED_P, "cancelled", "refunded"),
    )
    return pd.DataFrame({
        "customer": owner,
        "placed_at": placed_at,
        "amount_cents": amount_cents,
        "item_count": items,
        "category": np.asarray(CATEGORIES, dtype=object)[category],
        "channel": np.asarray(CHANNELS, dtype=object)[channel],
        "status": status,
    })


def _draw_events(
    rng: np.random.Generator, group: np.ndarray, cust: pd.DataFrame, prefs: np.ndarray,
    now_s: int,
) -> pd.DataFrame:
    n = len(group)
    tenure = cust["tenure_days"].to_numpy()
    signup_tod = cust["signup_tod"].to_numpy()
    recent = _param(group, "sessions_30d_base") + rng.poisson(
        _param(group, "sessions_30d_extra_mean")
    )
    older = np.where(tenure > 30, rng.poisson(_param(group, "sessions_older_mean")), 0)
    owner = np.concatenate([np.repeat(np.arange(n), recent), np.repeat(np.arange(n), older)])
    is_recent = np.arange(len(owner)) < recent.sum()
    lo = np.where(is_recent, 1, 31)
    hi = np.minimum(np.where(is_recent, 30, EVENT_WINDOW_DAYS), tenure[owner])
    day = _int_between(rng, lo, hi)
    start = _times(rng, day, tenure[owner], signup_tod[owner], now_s)
    order = np.lexsort((start, owner))
    owner, start = owner[order], start[order]

    # Sessions name their channel (web/app/wechat, weighted like the customer's orders).
    web_app_wechat = np.array([[g.channel_p[0], g.channel_p[1], g.channel_p[3]] for g in GROUPS])
    web_app_wechat /= web_app_wechat.sum(axis=1, keepdims=True)
    session_channel = np.asarray(("web", "app", "wechat"), dtype=object)[
        _pick_rows(rng, web_app_wechat[group][owner])
    ]
    pages = 1 + rng.poisson(_param(group, "pages_extra_mean")[owner])
    pv_session = np.repeat(np.arange(len(owner)), pages)
    pv_owner = owner[pv_session]
    gaps = 20 + rng.exponential(70, len(pv_session)).astype(np.int64)
    pv_time = start[pv_session] + _offsets_within(gaps, pages)
    pv_category = _pick_rows(rng, prefs[pv_owner])
    carted = rng.random(len(pv_session)) < _param(group, "cart_add_p")[pv_owner]
    cart_time = pv_time[carted] + rng.integers(5, 60, int(carted.sum()))

    categories = np.asarray(CATEGORIES, dtype=object)
    frame = pd.DataFrame({
        "customer": np.concatenate([owner, pv_owner, pv_owner[carted]]),
        "event_type": np.repeat(
            np.array(["session", "page_view", "cart_add"], dtype=object),
            [len(owner), len(pv_owner), int(carted.sum())],
        ),
        "occurred_at": np.minimum(np.concatenate([start, pv_time, cart_time]), now_s - 1),
        "detail": np.concatenate(
            [session_channel, categories[pv_category], categories[pv_category[carted]]]
        ),
    })
    return frame.sort_values(["customer", "occurred_at"], kind="stable", ignore_index=True)


def _offsets_within(gaps: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Seconds from each group's start: 0 for the first item, then running sums of gaps."""
    total = np.cumsum(gaps)
    ends = np.cumsum(sizes)
    group_start_total = np.repeat(total[ends - sizes] - gaps[ends - sizes], sizes)
    return total - gaps - group_start_total
