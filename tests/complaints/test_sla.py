"""Step 3, respond fast: business hours across weekends and holidays of two countries, targets on a case,
the first response, re-targeting on owner change and reopen, the queue's order."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from retention.complaints import service, sla
from retention.complaints.models import Complaint
from retention.customers.models import Customer, Sale
from retention.extensions import db
from retention.journeys.calendar import LocalWindow, add_business_hours, business_hours_between
from tests.factories import staff

UTC = dt.timezone.utc
NINE_TO_FIVE = dict(start=dt.time(9), end=dt.time(17))
LONDON = LocalWindow(tz="Europe/London", country="GB", **NINE_TO_FIVE)
RIYADH = LocalWindow(tz="Asia/Riyadh", country="SA", **NINE_TO_FIVE)
TEHRAN = LocalWindow(tz="Asia/Tehran", country="IR", **NINE_TO_FIVE)


def at(zone: str, *parts) -> dt.datetime:
    from zoneinfo import ZoneInfo

    return dt.datetime(*parts, tzinfo=ZoneInfo(zone)).astimezone(UTC)


# --- add_business_hours -------------------------------------------------------------------------------------------

def test_hours_within_one_day_and_into_the_next():
    start = at("Europe/London", 2026, 11, 24, 10)  # a Tuesday
    assert add_business_hours(start, 4, LONDON) == at("Europe/London", 2026, 11, 24, 14)
    assert add_business_hours(start, 7, LONDON) == at("Europe/London", 2026, 11, 24, 17)  # due by the close
    assert add_business_hours(start, 8, LONDON) == at("Europe/London", 2026, 11, 25, 10)


def test_time_outside_working_hours_does_not_count():
    evening = at("Europe/London", 2026, 11, 24, 20)
    assert add_business_hours(evening, 1, LONDON) == at("Europe/London", 2026, 11, 25, 10)
    dawn = at("Europe/London", 2026, 11, 24, 6)
    assert add_business_hours(dawn, 1, LONDON) == at("Europe/London", 2026, 11, 24, 10)


def test_a_british_weekend_and_christmas_holidays_are_skipped():
    # Thursday 24 Dec 2026, 16:00: one hour that day; Christmas (Fri), the weekend, Boxing Day observed (Mon 28).
    start = at("Europe/London", 2026, 12, 24, 16)
    assert add_business_hours(start, 4, LONDON) == at("Europe/London", 2026, 12, 29, 12)
    # An ordinary weekend: Friday 16:00 + 4h -> Monday 12:00.
    assert add_business_hours(at("Europe/London", 2026, 11, 27, 16), 4, LONDON) == at("Europe/London", 2026, 11, 30, 12)


def test_a_saudi_weekend_is_friday_and_saturday_and_national_day_is_skipped():
    # Thursday 24 Sep 2026, 16:00 in Riyadh: the weekend is Friday + Saturday, so Sunday is a working day.
    assert add_business_hours(at("Asia/Riyadh", 2026, 9, 24, 16), 4, RIYADH) == at("Asia/Riyadh", 2026, 9, 27, 12)
    # Tuesday 22 Sep, 16:00: Wednesday 23 Sep is National Day.
    assert add_business_hours(at("Asia/Riyadh", 2026, 9, 22, 16), 4, RIYADH) == at("Asia/Riyadh", 2026, 9, 24, 12)
    # The same British Friday afternoon is not a Saudi working day: it counts from Sunday.
    friday = at("Asia/Riyadh", 2026, 11, 27, 10)
    assert add_business_hours(friday, 2, RIYADH) == at("Asia/Riyadh", 2026, 11, 29, 11)


def test_iran_counts_saturday_and_skips_nowruz():
    # Thursday 19 Mar 2026 16:00 in Tehran; Friday is the weekend, 20 Mar Oil Nationalization Day, 21-24 Nowruz.
    start = at("Asia/Tehran", 2026, 3, 19, 16)
    assert add_business_hours(start, 2, TEHRAN) == at("Asia/Tehran", 2026, 3, 25, 10)
    # An ordinary Iranian Saturday is a working day.
    assert add_business_hours(at("Asia/Tehran", 2026, 11, 27, 10), 3, TEHRAN) == at("Asia/Tehran", 2026, 11, 28, 12)


def test_the_clock_change_keeps_wall_clock_hours():
    # Friday 23 Oct 2026 16:00 BST; the clocks go back on Sunday 25 Oct: Monday 26 Oct 12:00 GMT.
    due = add_business_hours(at("Europe/London", 2026, 10, 23, 16), 4, LONDON)
    assert due == dt.datetime(2026, 10, 26, 12, tzinfo=UTC)


def test_zero_hours_and_fractions():
    start = at("Europe/London", 2026, 11, 24, 10)
    assert add_business_hours(start, 0, LONDON) == start
    assert add_business_hours(start, Decimal("0.5"), LONDON) == start + dt.timedelta(minutes=30)
    assert add_business_hours(start, dt.timedelta(minutes=90), LONDON) == start + dt.timedelta(minutes=90)


def test_business_hours_between_is_the_inverse():
    start = at("Europe/London", 2026, 12, 24, 16)
    for hours in (1, 4, 9, 40):
        due = add_business_hours(start, hours, LONDON)
        assert business_hours_between(start, due, LONDON) == dt.timedelta(hours=hours)
        assert business_hours_between(due, start, LONDON) == -dt.timedelta(hours=hours)


def test_a_naive_start_is_refused():
    with pytest.raises(ValueError):
        add_business_hours(dt.datetime(2026, 11, 24, 10), 1, LONDON)


# --- targets on cases ---------------------------------------------------------------------------------------------

RULES = sla.Policy(hours={"critical": (Decimal(1), Decimal(8)), "high": (Decimal(4), Decimal(16)),
                          "medium": (Decimal(8), Decimal(40)), "low": (Decimal(16), Decimal(80))},
                   default_calendar={"country": "GB", "timezone": "Europe/London", "work_start": "09:00",
                                     "work_end": "17:00"})


def test_target_table_outages_first_and_high_rollers_sooner():
    assert sla.target_hours("high", "delivery", high_roller=False, rules=RULES) == (4, 16)
    assert sla.target_hours("high", "outage", high_roller=False, rules=RULES) == (1, 8)  # one step up
    assert sla.target_hours("critical", "outage", high_roller=False, rules=RULES) == (1, 8)
    assert sla.target_hours("medium", "delivery", high_roller=True, rules=RULES) == (4, 20)


def customer(ref="C1", **fields) -> Customer:
    row = Customer(external_id=ref, name="Layla Haddad", locale="ar", timezone="Asia/Dubai", **fields)
    db.session.add(row)
    db.session.flush()
    return row


def open_case(cust, opened_at, *, severity="high", category="delivery", owner=None, source="event") -> Complaint:
    case = service.open_case(db.session, cust, channel="phone", category=category, summary="box damaged",
                             severity=severity, now=opened_at, actor="test", source=source, owner=owner,
                             external_id=f"H-{cust.external_id}-{opened_at.timestamp()}-{severity}")
    db.session.commit()
    return case


def test_targets_follow_the_owners_country_weekend_and_holidays(app):
    gb = staff(app, "gb@example.com", timezone="Europe/London", country="GB")
    sa_ = staff(app, "sa@example.com", timezone="Asia/Riyadh", country="SA")
    # Thursday 24 Sep 2026 16:00 in each owner's zone; high: 4 business hours to respond, 16 to solve.
    uk_case = open_case(customer("C1"), at("Europe/London", 2026, 9, 24, 16), owner=gb)
    sa_case = open_case(customer("C2"), at("Asia/Riyadh", 2026, 9, 24, 16), owner=sa_)
    assert uk_case.first_response_due_at == at("Europe/London", 2026, 9, 25, 12)  # Friday is a British workday
    assert sa_case.first_response_due_at == at("Asia/Riyadh", 2026, 9, 27, 12)  # Sunday in Riyadh
    # 16 hours: 1 on Thursday, a full day, then 7 hours.
    assert uk_case.resolution_due_at == at("Europe/London", 2026, 9, 28, 16)  # Friday, then Monday
    assert sa_case.resolution_due_at == at("Asia/Riyadh", 2026, 9, 28, 16)  # Sunday, then Monday


def test_a_case_without_an_owner_counts_on_the_company_calendar(app):
    case = open_case(customer("C1"), at("Europe/London", 2026, 12, 24, 16))
    assert case.owner is None
    assert case.first_response_due_at == at("Europe/London", 2026, 12, 29, 12)


def test_a_high_roller_gets_halved_targets(app):
    cust = customer("C1", customer_type="high_roller")
    case = open_case(cust, at("Europe/London", 2026, 11, 24, 10), severity="medium")
    assert case.first_response_due_at == at("Europe/London", 2026, 11, 24, 14)  # 8h halved


def test_a_big_purchase_makes_a_high_roller(app):
    app.config["COMPLAINT_HIGH_ROLLER_MIN"] = {"USD": Decimal("5000")}
    cust = customer("C1")
    db.session.add(Sale(external_id="S1", customer=cust, amount=Decimal("7200.00"), currency="USD",
                        product="Coffee roaster", sold_at=dt.datetime(2026, 11, 1, tzinfo=UTC)))
    db.session.flush()
    assert sla.is_high_roller(db.session, cust)
    case = open_case(cust, at("Europe/London", 2026, 11, 24, 10), severity="medium")
    assert case.first_response_due_at == at("Europe/London", 2026, 11, 24, 14)


def test_leaving_new_is_the_first_response(app):
    case = open_case(customer("C1"), at("Europe/London", 2026, 11, 24, 10))
    later = at("Europe/London", 2026, 11, 24, 11, 30)
    service.move(db.session, case, "acknowledged", now=later, actor="test")
    db.session.commit()
    assert case.first_response_at == later
    service.move(db.session, case, "investigating", now=later + dt.timedelta(hours=1), actor="test")
    assert case.first_response_at == later  # met once


def test_a_case_opened_from_a_call_was_answered_on_the_phone(app):
    from retention.complaints.models import ComplaintCategory

    db.session.add(ComplaintCategory(key="delivery", names={"en": "Delivery"}, questions=[]))
    opened = at("Europe/London", 2026, 11, 24, 10)
    case = open_case(customer("C1"), opened, source="call")
    assert case.first_response_at == opened
    assert [t for t, _ in sla.unmet(case)] == ["resolution"]


def test_owner_change_counts_on_the_new_owners_calendar(app):
    gb = staff(app, "gb@example.com", timezone="Europe/London", country="GB")
    sa_ = staff(app, "sa@example.com", timezone="Asia/Riyadh", country="SA")
    opened = at("Europe/London", 2026, 9, 24, 14)  # 16:00 in Riyadh, Thursday
    case = open_case(customer("C1"), opened, owner=gb)
    assert case.first_response_due_at == at("Europe/London", 2026, 9, 25, 10)
    service.assign(db.session, case, sa_, now=opened + dt.timedelta(minutes=5), actor="test")
    assert case.first_response_due_at == at("Asia/Riyadh", 2026, 9, 27, 12)  # Riyadh's weekend, counted from opening


def test_a_reopened_case_owes_a_new_solution_counted_from_the_reopening(app):
    case = open_case(customer("C1"), at("Europe/London", 2026, 11, 24, 10))
    t = at("Europe/London", 2026, 11, 24, 11)
    service.move(db.session, case, "solution_offered", now=t, actor="test")
    assert sla.unmet(case) == []
    reopened = at("Europe/London", 2026, 12, 1, 9)
    service.reopen(db.session, case, now=reopened, actor="test")
    assert sla.unmet(case) == [("resolution", at("Europe/London", 2026, 12, 2, 17))]  # 16h from Tue 09:00


def test_queue_puts_what_is_due_first_first(app):
    gb = staff(app, "gb@example.com", timezone="Europe/London", country="GB")
    other = staff(app, "other@example.com", timezone="Europe/London", country="GB")
    now = at("Europe/London", 2026, 11, 24, 12)
    low = open_case(customer("C1"), at("Europe/London", 2026, 11, 24, 9), severity="low", owner=gb)
    critical = open_case(customer("C2"), at("Europe/London", 2026, 11, 24, 11, 30), severity="critical", owner=gb)
    late = open_case(customer("C3"), at("Europe/London", 2026, 11, 23, 9), severity="high", owner=other)
    answered = open_case(customer("C4"), at("Europe/London", 2026, 11, 24, 10), severity="medium", owner=gb)
    service.move(db.session, answered, "acknowledged", now=at("Europe/London", 2026, 11, 24, 10, 5), actor="t")
    db.session.commit()
    items = sla.queue(db.session, now)
    assert [i.case.id for i in items] == [late.id, critical.id, low.id, answered.id]
    first = items[0]
    assert first.breached and first.target == "first_response" and first.left == -dt.timedelta(hours=7)
    assert items[1].near and not items[1].breached and items[1].left == dt.timedelta(minutes=30)
    assert items[3].target == "resolution"  # answered: its solution is what is due next
    assert [i.case.id for i in sla.queue(db.session, now, owner_id=gb.id)] == [critical.id, low.id, answered.id]
    assert [i.case.id for i in sla.attention(db.session, gb.id, now)] == [critical.id]


def test_sla_settings_are_read_and_checked_when_the_app_starts(monkeypatch, tmp_path):
    from retention.config import from_environment

    monkeypatch.setenv("RETENTION_ENV", "development")
    monkeypatch.setenv("RETENTION_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("RETENTION_COMPLAINT_SLA_HOURS", "critical=0.5/4 high=2/8 medium=4/20 low=8/40")
    monkeypatch.setenv("RETENTION_COMPLAINT_CALENDAR", "SA Asia/Riyadh 08:00-16:00")
    monkeypatch.setenv("RETENTION_COMPLAINT_URGENT_CATEGORIES", "")
    config = from_environment()
    assert config["COMPLAINT_SLA_HOURS"]["critical"] == (Decimal("0.5"), Decimal(4))
    assert config["COMPLAINT_CALENDAR"] == {"country": "SA", "timezone": "Asia/Riyadh", "work_start": "08:00",
                                           "work_end": "16:00"}
    assert config["COMPLAINT_URGENT_CATEGORIES"] == ()
    for name, bad in (("RETENTION_COMPLAINT_SLA_HOURS", "high=4/16"), ("RETENTION_COMPLAINT_SLA_HOURS", "high=x"),
                      ("RETENTION_COMPLAINT_CALENDAR", "SA Mars/Base 08:00-16:00"),
                      ("RETENTION_COMPLAINT_HIGH_ROLLER_FACTOR", "2"),
                      ("RETENTION_COMPLAINT_TREND_THRESHOLD", "0")):
        monkeypatch.setenv(name, bad)
        with pytest.raises(RuntimeError, match=name):
            from_environment()
        monkeypatch.delenv(name)
