"""The advocate's reward, sized on what the advocate bought: the rule, its rounding, and the insult guard.

Pure functions of a `Rule` (no database): the program form, the API preview, the hand-out and the tests all use
them. Amounts are Decimal in the program's currency, quantized to that currency's minor unit (none for JPY/IRR).

The reward is a step function of the purchase value (rounding to a step makes every rule one), so on each piece
where it is constant its share of the purchase falls as the purchase grows: the lowest share of a piece is at its
upper end. The guard therefore checks the upper end of every piece (`critical_points`), which is exact, instead
of sampling the range.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

from babel.numbers import get_currency_precision

HUNDRED = Decimal(100)
PIECES_CHECKED = 2000


def unit(currency: str) -> Decimal:
    """The currency's smallest amount: 0.01 for EUR, 1 for JPY and IRR, 0.001 for KWD."""
    return Decimal(1).scaleb(-get_currency_precision(currency))


def quantize(amount: Decimal, currency: str) -> Decimal:
    return Decimal(amount).quantize(unit(currency), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Band:
    start: Decimal   # purchase values from here (inclusive) up to the next band's start
    reward: Decimal


@dataclass(frozen=True)
class Rule:
    """What the program form holds about the advocate's reward (already checked by programs.check_rule)."""

    currency: str
    min_purchase: Decimal
    max_purchase: Decimal
    step: Decimal
    min_share: Decimal          # percent of the purchase
    kind: str = "percent"       # percent | bands
    percent: Decimal | None = None
    floor: Decimal | None = None
    cap: Decimal | None = None
    bands: tuple[Band, ...] = field(default_factory=tuple)


def round_to_step(amount: Decimal, step: Decimal, currency: str) -> Decimal:
    """To the nearest multiple of the step (half up), in the currency's minor unit."""
    return quantize((Decimal(amount) / step).quantize(Decimal(1), rounding=ROUND_HALF_UP) * step, currency)


def reward(rule: Rule, value: Decimal) -> Decimal:
    """The advocate's reward for a purchase of `value` (in the rule's currency)."""
    value = Decimal(value)
    if rule.kind == "bands":
        found = Decimal(0)
        for band in rule.bands:
            if value >= band.start:
                found = band.reward
        return quantize(found, rule.currency)
    amount = round_to_step(value * rule.percent / HUNDRED, rule.step, rule.currency)
    if rule.floor is not None and amount < rule.floor:
        amount = rule.floor
    if rule.cap is not None and amount > rule.cap:
        amount = rule.cap
    return quantize(amount, rule.currency)


def share(amount: Decimal, value: Decimal) -> Decimal:
    """The reward as a percent of the purchase (two decimals)."""
    if not value:
        return Decimal(0)
    return (Decimal(amount) / Decimal(value) * HUNDRED).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Point:
    """A purchase value where the reward's share is at its lowest on one piece of the rule, and which part of the
    rule sets the reward there (floor, percent, cap or band number)."""

    value: Decimal
    reward: Decimal
    part: str


def _percent_jump(rule: Rule, k: Decimal) -> Decimal:
    """The purchase value where the rounded percentage reaches k steps (half up: k - 1/2 steps of raw reward)."""
    return (k - Decimal("0.5")) * rule.step * HUNDRED / rule.percent


def critical_points(rule: Rule) -> list[Point]:
    """The upper end of each piece of the rule inside the range, with the reward there (lowest shares)."""
    lo, hi, points = rule.min_purchase, rule.max_purchase, []
    if rule.kind == "bands":
        bands = list(rule.bands)
        for i, band in enumerate(bands):
            end = bands[i + 1].start if i + 1 < len(bands) else None
            if end is not None and end <= lo:
                continue
            if band.start > hi:
                break
            # Just below the next band's start the reward is still this band's: its lowest share.
            top = hi if end is None or end > hi else end - unit(rule.currency)
            points.append(Point(top, quantize(band.reward, rule.currency), f"band:{i + 1}"))
        return points
    step = rule.step
    # Pieces of the rounded percentage: piece k (k steps of reward) runs from jump(k) up to jump(k + 1).
    first_k = (lo * rule.percent / HUNDRED / step).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    floor_k = (rule.floor / step).quantize(Decimal(1)) if rule.floor is not None else Decimal(0)
    cap_k = (rule.cap / step).quantize(Decimal(1)) if rule.cap is not None else None
    below = unit(rule.currency)

    def top_of(k: Decimal) -> Decimal:
        end = _percent_jump(rule, k + 1)
        # the last purchase value (in minor units) below the jump
        return hi if end > hi else max(lo, end.quantize(below, rounding=ROUND_CEILING) - below)

    candidates = []
    if floor_k and _percent_jump(rule, floor_k + 1) > lo:
        candidates.append(top_of(floor_k) if _percent_jump(rule, floor_k + 1) <= hi else hi)  # the floor's piece
    k = max(first_k, floor_k + 1) if floor_k else first_k
    # The percentage's pieces: their lowest share is about k/(k + 1/2) of the percentage, rising with k, so the
    # first pieces hold the minimum; the tops fall on whole minor units, which moves it by a hair among the first
    # ones, so the first PIECES_CHECKED are all checked (exact for any range a form allows in practice).
    last_k = k + PIECES_CHECKED if cap_k is None else min(cap_k - 1, k + PIECES_CHECKED)
    while k <= last_k and _percent_jump(rule, k) <= hi:
        candidates.append(top_of(k))
        k += 1
    candidates.append(hi)  # the cap's piece (or the last piece) ends at the top of the range
    seen = set()
    for value in candidates:
        if lo <= value <= hi and value not in seen:
            seen.add(value)
            amount = reward(rule, value)
            part = ("floor" if rule.floor is not None and amount == rule.floor and floor_k else
                    "cap" if rule.cap is not None and amount == rule.cap else "percent")
            points.append(Point(value, amount, part))
    return sorted(points, key=lambda p: p.value)


@dataclass(frozen=True)
class Trip:
    """Where the insult guard trips: the purchase value, the reward there, its share and the rule's part."""

    value: Decimal
    reward: Decimal
    share: Decimal
    part: str


def guard(rule: Rule) -> Trip | None:
    """The first purchase value in the range where the reward falls below the guard's share; None when none."""
    for point in critical_points(rule):
        if point.reward * HUNDRED < rule.min_share * point.value:
            return Trip(point.value, point.reward, share(point.reward, point.value), point.part)
    return None


def trips_from(rule: Rule) -> Decimal | None:
    """The lowest purchase value (in minor units) where the reward falls below the guard's share; None when none."""
    if rule.min_share <= 0:
        return None
    u = unit(rule.currency)
    for point in critical_points(rule):
        if not point.reward * HUNDRED < rule.min_share * point.value:
            continue
        # In its piece the share falls below the guard past reward / share: the next minor unit after it.
        first = ((point.reward * HUNDRED / rule.min_share) / u).to_integral_value(rounding=ROUND_FLOOR) * u + u
        if point.part.startswith("band:"):
            start = max(rule.bands[int(point.part[5:]) - 1].start, rule.min_purchase)
        else:  # the percentage's reward only grows: the piece starts where the reward first reaches this amount
            low, high = rule.min_purchase, point.value
            while high - low > u:
                middle = ((low + high) / 2 / u).to_integral_value(rounding=ROUND_FLOOR) * u
                if reward(rule, middle) >= point.reward:
                    high = middle
                else:
                    low = middle
            start = low if reward(rule, low) >= point.reward else high
        return quantize(max(first, start), rule.currency)
    return None


@dataclass(frozen=True)
class Row:
    value: Decimal
    reward: Decimal
    share: Decimal
    trips: bool
    part: str = ""


def preview(rule: Rule, points: int = 12) -> list[Row]:
    """Reward against purchase value across the range: evenly spread (geometric when the range is wide) plus
    every critical point, each with its effective share and whether the guard trips there."""
    lo, hi = rule.min_purchase, rule.max_purchase
    values = {lo, hi}
    if hi > lo:
        wide = lo > 0 and hi / lo > 20
        for i in range(1, points - 1):
            if wide:
                value = lo * (hi / lo) ** (Decimal(i) / (points - 1))
            else:
                value = lo + (hi - lo) * i / (points - 1)
            values.add(quantize(value, rule.currency))
    # The pieces' lowest points worth a row: the floor's, the cap's and each band's end, the lowest share of all and
    # the first point where the guard trips (not every step of the percentage: a wide range has thousands).
    critical = critical_points(rule)
    shown = [p for p in critical if p.part != "percent"]
    if critical:
        shown.append(min(critical, key=lambda p: p.reward / p.value if p.value else Decimal(0)))
    parts = {p.value: p.part for p in shown}
    values |= set(parts)
    first_trip = trips_from(rule)
    if first_trip is not None:
        values.add(first_trip)
        parts.setdefault(first_trip, "")
    rows = []
    for value in sorted(values):
        amount = reward(rule, value)
        rows.append(Row(value, amount, share(amount, value), amount * HUNDRED < rule.min_share * value,
                        parts.get(value, "")))
    return rows
