"""The advocate's reward: percentage with floor, cap and rounding, value bands, in two currencies (one without a
minor unit), and the insult guard at its edge."""
from __future__ import annotations

from decimal import Decimal as D

import pytest

from retention.referrals import programs, rewards
from retention.referrals.programs import ProgramError
from tests.referrals.conftest import program_fields


def percent_rule(**kw) -> rewards.Rule:
    values = dict(currency="EUR", min_purchase=D("50"), max_purchase=D("20000"), step=D("5"), min_share=D("1"),
                  kind="percent", percent=D("5"), floor=D("10"), cap=D("250"))
    values.update(kw)
    return rewards.Rule(**values)


@pytest.mark.parametrize("value, expected", [
    ("50", "10.00"),       # 2.50 -> floor 10
    ("249.99", "10.00"),   # 12.4995 rounds to 10: the floor's own piece
    ("250", "15.00"),      # 12.50 rounds half up to 15
    ("649", "30.00"),      # 32.45 -> 30
    ("650", "35.00"),      # 32.50 -> 35 (half up)
    ("4999.99", "250.00"),  # 249.9995 -> 250 = the cap
    ("20000", "250.00"),   # 1000 -> cap
])
def test_percentage_with_floor_cap_and_rounding_in_euros(value, expected):
    amount = rewards.reward(percent_rule(), D(value))
    assert amount == D(expected) and str(amount) == expected  # Decimal with the euro's two places


@pytest.mark.parametrize("value, expected", [("5000", "1000"), ("13000", "1000"), ("130000", "6500"),
                                             ("131000", "6500"), ("10000000", "50000")])
def test_percentage_in_a_currency_without_minor_unit(value, expected):
    rule = percent_rule(currency="JPY", min_purchase=D("5000"), max_purchase=D("10000000"), step=D("500"),
                        floor=D("1000"), cap=D("50000"), min_share=D("0.5"))
    amount = rewards.reward(rule, D(value))
    assert amount == D(expected) and str(amount) == expected  # yen: no decimals at all


def test_bands_in_rials():
    rule = rewards.Rule(currency="IRR", min_purchase=D("1000000"), max_purchase=D("900000000"), step=D("100000"),
                        min_share=D("0.5"), kind="bands",
                        bands=(rewards.Band(D("1000000"), D("500000")), rewards.Band(D("50000000"), D("2500000")),
                               rewards.Band(D("200000000"), D("5000000"))))
    assert rewards.reward(rule, D("1000000")) == D("500000")
    assert rewards.reward(rule, D("49999999")) == D("500000")
    assert rewards.reward(rule, D("50000000")) == D("2500000")
    assert str(rewards.reward(rule, D("900000000"))) == "5000000"
    trip = rewards.guard(rule)  # 500,000 on 49,999,999 is 1%; 5,000,000 on 900,000,000 is 0.56%: all above 0.5%
    assert trip is None


def test_the_guard_at_its_edge():
    # The cap of 250 is exactly 1% of 25,000: the guard holds at the top of a range ending there...
    assert rewards.guard(percent_rule(max_purchase=D("25000"))) is None
    # ...and trips one cent above it, at that purchase value, naming the cap.
    trip = rewards.guard(percent_rule(max_purchase=D("25000.01")))
    assert trip == rewards.Trip(D("25000.01"), D("250.00"), D("1.00"), "cap")  # 0.99996% shown rounded
    assert trip.reward * 100 < D("1") * trip.value


def test_the_guard_finds_the_dip_of_rounding_below_the_floor_piece():
    # 5% rounded to 5: just below 150 the raw 7.4995 rounds to 5, i.e. 3.3%; a 3.5% guard trips there, not at the
    # ends of the range (100 -> 5 = 5%, 1000 -> 50 = 5%).
    rule = percent_rule(min_purchase=D("100"), max_purchase=D("1000"), floor=None, cap=None, min_share=D("3.5"))
    trip = rewards.guard(rule)
    assert trip is not None and trip.value == D("149.99") and trip.reward == D("5.00") and trip.part == "percent"


def test_a_rule_the_guard_refuses_is_not_saved_and_the_error_names_the_field_and_value():
    with pytest.raises(ProgramError) as refused:
        programs.clean(program_fields(currency="EUR", reward_cap="100", max_purchase="20000"))
    assert refused.value.field == "reward_cap"
    assert "EUR 20000.00" in str(refused.value) and "0.5%" in str(refused.value)


def test_band_rewards_and_floor_must_be_multiples_of_the_step():
    with pytest.raises(ProgramError) as refused:
        programs.clean(program_fields(reward_floor="12"))
    assert refused.value.field == "reward_floor"
    with pytest.raises(ProgramError) as refused:
        programs.clean(program_fields(currency="JPY", min_purchase="100.5"))
    assert refused.value.field == "min_purchase"  # yen has no fractions


def test_preview_rows_cover_the_range_and_mark_where_the_guard_trips():
    rows = rewards.preview(percent_rule(max_purchase=D("40000")))
    assert rows[0].value == D("50") and rows[-1].value == D("40000")
    assert [r.trips for r in rows if r.value > D("25000")] and all(r.trips for r in rows if r.value > D("25000"))
    assert not any(r.trips for r in rows if r.value <= D("25000"))
    top = rows[-1]
    assert top.reward == D("250.00") and top.share == D("0.63")


def test_the_preview_says_exactly_where_the_guard_starts_to_trip():
    rule = percent_rule(max_purchase=D("40000"))
    assert rewards.trips_from(rule) == D("25000.01")  # 250 is 1% of 25,000: one cent more and it is less
    rows = {r.value: r for r in rewards.preview(rule)}
    assert rows[D("25000.01")].trips and not any(r.trips for v, r in rows.items() if v <= D("25000"))
    assert rewards.trips_from(percent_rule(max_purchase=D("25000"))) is None
