"""Tests for when journey touchpoints fall due: windows, business days, holidays and DST."""

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from retention.journeys.calendar import (
    LocalWindow,
    add_business_days,
    due_at,
    earliest_slot,
    in_window,
    is_business_day,
    next_business_morning,
    shift,
)

UTC = timezone.utc
BERLIN_TZ = ZoneInfo("Europe/Berlin")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


BERLIN = LocalWindow("Europe/Berlin", time(9), time(18), "DE")
NEW_YORK = LocalWindow("America/New_York", time(9), time(18), "US")


# --- DST ---------------------------------------------------------------------------------------


def test_berlin_morning_step_stays_at_nine_local_across_spring_forward():
    # 2025-03-30 is the last Sunday of March: CET (+1) becomes CEST (+2).
    anchor = utc(2025, 3, 27, 10)  # Thursday
    calendar_days = LocalWindow("Europe/Berlin", time(9), time(18), "DE", business_days=False)
    assert due_at(anchor, 2, calendar_days) == utc(2025, 3, 29, 8)  # Saturday 09:00 CET
    assert due_at(anchor, 4, calendar_days) == utc(2025, 3, 31, 7)  # Monday 09:00 CEST


def test_berlin_business_day_step_over_the_dst_weekend_lands_at_nine_cest():
    friday = utc(2025, 3, 28, 12)
    assert due_at(friday, 0, BERLIN) == utc(2025, 3, 28, 8)
    assert due_at(friday, 1, BERLIN) == utc(2025, 3, 31, 7)


def test_new_york_morning_step_stays_at_nine_local_across_fall_back():
    # 2025-11-02 is the first Sunday of November: EDT (-4) becomes EST (-5).
    friday = utc(2025, 10, 31, 15)
    assert due_at(friday, 0, NEW_YORK) == utc(2025, 10, 31, 13)  # 09:00 EDT
    assert due_at(friday, 1, NEW_YORK) == utc(2025, 11, 3, 14)  # Monday 09:00 EST


def test_window_start_in_the_spring_forward_gap_moves_to_the_first_valid_instant():
    # On 2025-03-09 New York clocks jump from 02:00 EST to 03:00 EDT; 02:30 never happens.
    night = LocalWindow("America/New_York", time(2, 30), time(6), "US", business_days=False)
    assert due_at(utc(2025, 3, 8, 15), 1, night) == utc(2025, 3, 9, 7)  # 03:00 EDT
    assert due_at(utc(2025, 3, 8, 15), 2, night) == utc(2025, 3, 10, 6, 30)  # 02:30 EDT


def test_window_start_in_the_fall_back_overlap_uses_the_first_occurrence():
    # On 2025-11-02 New York lives 01:00-02:00 twice; the first time is still EDT.
    night = LocalWindow("America/New_York", time(1, 30), time(6), "US", business_days=False)
    assert due_at(utc(2025, 11, 1, 15), 1, night) == utc(2025, 11, 2, 5, 30)


def test_earliest_slot_inside_the_gap_waits_for_the_clocks_to_jump():
    night = LocalWindow("America/New_York", time(2, 30), time(6), "US", business_days=False)
    assert earliest_slot(utc(2025, 3, 9, 6, 50), [night]) == utc(2025, 3, 9, 7)


# --- weekends and holidays --------------------------------------------------------------------


def test_friday_evening_call_in_berlin_moves_to_monday_morning():
    friday_7pm = utc(2025, 11, 14, 18)  # 19:00 CET
    assert earliest_slot(friday_7pm, [BERLIN]) == utc(2025, 11, 17, 8)  # Monday 09:00 CET


def test_friday_evening_call_moves_to_tuesday_over_whit_monday():
    # 2025-06-09 is Pfingstmontag, a public holiday across Germany.
    friday_7pm = utc(2025, 6, 6, 17)  # 19:00 CEST
    assert earliest_slot(friday_7pm, [BERLIN]) == utc(2025, 6, 10, 7)  # Tuesday 09:00 CEST


def test_friday_evening_call_in_london_moves_to_tuesday_over_the_spring_bank_holiday():
    london = LocalWindow("Europe/London", time(9), time(17), "GB")
    # 2025-05-26 is the Spring Bank Holiday.
    assert earliest_slot(utc(2025, 5, 23, 18), [london]) == utc(2025, 5, 27, 8)  # 09:00 BST


def test_iran_weekend_is_friday_only():
    assert not is_business_day(date(2025, 11, 14), "IR")  # Friday
    assert is_business_day(date(2025, 11, 15), "IR")  # Saturday
    assert is_business_day(date(2025, 11, 13), "IR")  # Thursday
    tehran = LocalWindow("Asia/Tehran", time(10), time(20), "IR")
    # A step one business day after a Thursday lands on Saturday 10:00 (+03:30).
    assert due_at(utc(2025, 11, 13, 8), 1, tehran) == utc(2025, 11, 15, 6, 30)


def test_saudi_weekend_is_friday_and_saturday():
    assert not is_business_day(date(2025, 11, 14), "SA")  # Friday
    assert not is_business_day(date(2025, 11, 15), "SA")  # Saturday
    assert is_business_day(date(2025, 11, 16), "SA")  # Sunday
    riyadh = LocalWindow("Asia/Riyadh", time(9), time(17), "SA")
    assert due_at(utc(2025, 11, 13, 8), 1, riyadh) == utc(2025, 11, 16, 6)  # Sunday 09:00 +03


def test_uae_weekend_follows_the_2022_change():
    assert is_business_day(date(2021, 12, 26), "AE")  # Sunday, before the change
    assert not is_business_day(date(2023, 1, 8), "AE")  # Sunday, after it


def test_unknown_or_missing_country_falls_back_to_a_saturday_sunday_weekend():
    assert not is_business_day(date(2025, 11, 15), None)
    assert is_business_day(date(2025, 12, 25), None)
    assert not is_business_day(date(2025, 11, 16), "ZZ")


def test_business_day_offset_skips_thanksgiving():
    wednesday = date(2025, 11, 26)
    assert add_business_days(wednesday, 1, "US") == date(2025, 11, 28)
    assert add_business_days(wednesday, 2, "US") == date(2025, 12, 1)


def test_business_day_offset_crosses_christmas_and_new_year():
    # DE: 25 and 26 December and 1 January are holidays; 24 and 31 December are not.
    tuesday = date(2025, 12, 23)
    assert add_business_days(tuesday, 1, "DE") == date(2025, 12, 24)
    assert add_business_days(tuesday, 2, "DE") == date(2025, 12, 29)
    assert add_business_days(tuesday, 5, "DE") == date(2026, 1, 2)
    assert add_business_days(date(2026, 1, 2), -5, "DE") == tuesday


def test_zero_business_days_rolls_a_weekend_or_holiday_forward():
    assert add_business_days(date(2025, 12, 25), 0, "DE") == date(2025, 12, 29)
    assert add_business_days(date(2025, 12, 23), 0, "DE") == date(2025, 12, 23)


def test_ninety_business_days_is_computed_across_holidays():
    assert add_business_days(date(2025, 10, 1), 90, "DE") == date(2026, 2, 10)


# --- due_at -------------------------------------------------------------------------------------


def test_due_at_uses_the_anchor_date_in_the_window_zone():
    # 23:30 UTC on 14 Nov is already Saturday 15 Nov in Tehran, a business day there.
    tehran = LocalWindow("Asia/Tehran", time(10), time(20), "IR")
    assert due_at(utc(2025, 11, 14, 23, 30), 0, tehran) == utc(2025, 11, 15, 6, 30)


def test_day_zero_past_the_window_keeps_that_days_window_start():
    late_evening = utc(2025, 11, 12, 21)  # Wednesday 22:00 in Berlin
    assert due_at(late_evening, 0, BERLIN) == utc(2025, 11, 12, 8)


def test_due_at_rejects_naive_datetimes():
    with pytest.raises(ValueError, match="timezone-aware"):
        due_at(datetime(2025, 11, 12, 9), 0, BERLIN)


def test_local_window_must_end_after_it_starts():
    with pytest.raises(ValueError, match="must be after start"):
        LocalWindow("Europe/Berlin", time(18), time(9), "DE")
    with pytest.raises(ValueError, match="unknown time zone"):
        LocalWindow("Mars/Olympus", time(9), time(18), None)


# --- earliest_slot -------------------------------------------------------------------------------


CUSTOMER_TEHRAN = LocalWindow("Asia/Tehran", time(10), time(20), "IR")
OWNER_LONDON = LocalWindow("Europe/London", time(9), time(17), "GB")


def test_overlap_of_tehran_customer_and_london_owner_starts_when_london_opens():
    # Winter: Tehran 10:00-20:00 is 06:30-16:30 UTC, London 09:00-17:00 is 09:00-17:00 UTC.
    assert earliest_slot(utc(2025, 11, 12, 6), [CUSTOMER_TEHRAN, OWNER_LONDON]) == utc(
        2025, 11, 12, 9
    )


def test_inside_the_overlap_the_candidate_itself_is_the_slot():
    candidate = utc(2025, 11, 12, 12, 15)
    assert earliest_slot(candidate, [CUSTOMER_TEHRAN, OWNER_LONDON]) == candidate


def test_after_tehran_closes_the_slot_moves_to_the_next_day_both_work():
    # Thursday 16:45 UTC: Tehran closed at 16:30; Friday is Tehran's weekend, Saturday and Sunday
    # London's, so the next shared morning is Monday 09:00 London.
    assert earliest_slot(utc(2025, 11, 13, 16, 45), [CUSTOMER_TEHRAN, OWNER_LONDON]) == utc(
        2025, 11, 17, 9
    )


def test_summer_overlap_ends_when_london_closes_at_five_bst():
    assert earliest_slot(utc(2025, 7, 9, 15, 59), [CUSTOMER_TEHRAN, OWNER_LONDON]) == utc(
        2025, 7, 9, 15, 59
    )
    assert earliest_slot(utc(2025, 7, 9, 16), [CUSTOMER_TEHRAN, OWNER_LONDON]) == utc(
        2025, 7, 10, 8
    )


def test_windows_that_never_overlap_give_none():
    auckland = LocalWindow("Pacific/Auckland", time(9), time(10), "NZ")
    london = LocalWindow("Europe/London", time(9), time(10), "GB")
    assert earliest_slot(utc(2025, 11, 12, 0), [auckland, london]) is None


def test_no_overlap_within_max_days_gives_none():
    assert earliest_slot(utc(2025, 11, 14, 18), [BERLIN], max_days=2) is None
    assert earliest_slot(utc(2025, 11, 14, 18), [BERLIN], max_days=3) == utc(2025, 11, 17, 8)


def test_in_window_is_half_open():
    assert in_window(utc(2025, 11, 12, 8), BERLIN)
    assert not in_window(utc(2025, 11, 12, 17), BERLIN)  # 18:00 CET, closing time
    assert not in_window(utc(2025, 11, 15, 10), BERLIN)  # Saturday


# --- retries and pauses -------------------------------------------------------------------------


def test_next_business_morning_after_a_friday_call_is_monday():
    assert next_business_morning(utc(2025, 11, 14, 10), BERLIN) == utc(2025, 11, 17, 8)


def test_next_business_morning_is_strictly_after_the_local_date_even_before_opening():
    early_thursday = utc(2025, 11, 13, 5)  # 06:00 in Berlin, before the window opens
    assert next_business_morning(early_thursday, BERLIN) == utc(2025, 11, 14, 8)


def test_next_business_morning_from_saturday_is_monday():
    assert next_business_morning(utc(2025, 11, 15, 10), BERLIN) == utc(2025, 11, 17, 8)


def test_shift_moves_by_elapsed_time_not_wall_clock():
    before_spring_forward = datetime(2025, 3, 29, 9, tzinfo=BERLIN_TZ)
    assert shift(before_spring_forward, timedelta(days=1)) == utc(2025, 3, 30, 8)
