"""Step 5, log and learn: the same-category alert (at the threshold, not below; one customer counts once; seven
rolling days), complaints per category per week, response and solution times per month; the trends page and
the figures and queue API."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from retention.complaints import service, trends
from retention.extensions import db
from tests.complaints.test_sla import RULES, at, customer, open_case
from tests.factories import staff, token_for

NOW = at("Europe/London", 2026, 11, 26, 12)  # Thursday


def raise_(ref: str, opened: dt.datetime, category="delivery", **kwargs):
    from retention.customers.models import Customer
    from sqlalchemy import select

    found = db.session.scalar(select(Customer).where(Customer.external_id == ref))
    return open_case(found or customer(ref), opened, category=category, **kwargs)


def test_the_alert_fires_at_the_threshold_and_not_below(app):
    raise_("C1", NOW - dt.timedelta(days=1))
    raise_("C2", NOW - dt.timedelta(days=2))
    raise_("C1", NOW - dt.timedelta(days=3))  # the same customer again counts once
    assert trends.alerts(db.session, NOW, threshold=3) == []
    raise_("C3", NOW - dt.timedelta(days=6, hours=23))
    [alert] = trends.alerts(db.session, NOW, threshold=3)
    assert (alert["category"], alert["customers"], alert["cases"]) == ("delivery", 3, 4)
    # Rolling seven days: an hour later the oldest case of C3 has left the window.
    assert trends.alerts(db.session, NOW + dt.timedelta(hours=2), threshold=3) == []
    # Other categories are counted on their own.
    raise_("C4", NOW - dt.timedelta(hours=1), category="billing")
    assert [a["category"] for a in trends.alerts(db.session, NOW, threshold=3)] == ["delivery"]


def test_complaints_per_category_per_week(app):
    raise_("C1", NOW - dt.timedelta(days=1))  # this week (Mon 23 Nov)
    raise_("C2", NOW - dt.timedelta(days=8))  # the week before
    raise_("C3", NOW - dt.timedelta(days=9), category="billing")
    raise_("C4", NOW - dt.timedelta(days=80))  # older than eight weeks
    weekly = trends.weekly_counts(db.session, NOW)
    assert weekly["weeks"][-1] == dt.date(2026, 11, 23) and weekly["weeks"][0] == dt.date(2026, 10, 5)
    assert weekly["categories"]["delivery"] == [0, 0, 0, 0, 0, 0, 1, 1]
    assert weekly["categories"]["billing"] == [0, 0, 0, 0, 0, 0, 1, 0]


def test_times_per_month_in_business_hours(app):
    owner = staff(app, "gb@example.com", timezone="Europe/London", country="GB")
    # Three November cases answered after 1, 2 and 6 business hours; one solved after 10 (over a night).
    answers = [(at("Europe/London", 2026, 11, 2, 10), 1), (at("Europe/London", 2026, 11, 3, 10), 2),
               (at("Europe/London", 2026, 11, 4, 10), 6)]
    cases = []
    for i, (opened, hours) in enumerate(answers):
        case = raise_(f"C{i}", opened, owner=owner)
        service.move(db.session, case, "acknowledged", now=opened + dt.timedelta(hours=hours), actor="t")
        cases.append(case)
    service.move(db.session, cases[0], "solution_offered", now=at("Europe/London", 2026, 11, 3, 12), actor="t")
    raise_("C9", at("Europe/London", 2026, 10, 30, 10), owner=owner)  # October, not answered yet
    db.session.commit()
    months = {m["month"]: m for m in trends.response_times(db.session, NOW, months=2, rules=RULES)}
    november = months[dt.date(2026, 11, 1)]
    assert november["opened"] == 3 and november["responded"] == 3
    assert november["first_median"] == Decimal("2.0") and november["first_p90"] == Decimal("6.0")
    assert november["solved"] == 1 and november["solution_median"] == Decimal("10.0")  # Mon 10:00 -> Tue 12:00
    october = months[dt.date(2026, 10, 1)]
    assert october["opened"] == 1 and october["responded"] == 0 and october["first_median"] is None


def test_percentile_by_nearest_rank():
    values = [Decimal(n) for n in range(1, 11)]
    assert trends.percentile(values, 90) == 9 and trends.percentile(values, 100) == 10
    assert trends.percentile([Decimal(5)], 90) == 5 and trends.percentile([], 90) is None


def test_trends_page_shows_the_alert_and_the_chart_in_arabic(app, client, auth, clock):
    from retention.complaints.models import ComplaintCategory

    db.session.add(ComplaintCategory(key="delivery", names={"en": "Delivery", "ar": "التوصيل"}, questions=[]))
    for ref in ("C1", "C2", "C3"):
        raise_(ref, NOW - dt.timedelta(days=1))
    staff(app, "m@example.com", "marketing", locale="ar")
    clock.set(NOW)
    auth.login("m@example.com")
    html = client.get("/complaints/trends").get_data(as_text=True)
    assert 'dir="rtl"' in html
    assert 'class="error trend-alert" role="alert" data-category="delivery" data-customers="3"' in html
    assert "«التوصيل»" in html and "٣" in html
    assert 'class="week alerting" data-count="3"' in html


def test_queue_shows_the_trend_alert(app, client, auth, clock):
    for ref in ("C1", "C2", "C3"):
        raise_(ref, NOW - dt.timedelta(days=1))
    staff(app, "o@example.com")
    clock.set(NOW)
    auth.login("o@example.com")
    html = client.get("/complaints/queue?who=all").get_data(as_text=True)
    assert "Trend: 3 different customers raised “delivery” in the last seven days." in html


def test_figures_and_queue_api(app, client, clock):
    owner = staff(app, "o@example.com", timezone="Europe/London", country="GB")
    marketing = staff(app, "m@example.com", "marketing")
    for ref in ("C1", "C2", "C3"):
        raise_(ref, NOW - dt.timedelta(days=1), owner=owner)
    clock.set(NOW)
    bearer = {"Authorization": f"Bearer {token_for(app, owner)}"}
    figures = client.get("/api/v1/complaints/figures", headers=bearer).get_json()
    assert figures["alert_threshold"] == 3
    assert figures["alerts"][0]["category"] == "delivery" and figures["alerts"][0]["customers"] == 3
    delivery = figures["per_category_per_week"][0]
    assert delivery["category"] == "delivery" and delivery["weeks"][-1] == {"week": "2026-11-23", "count": 3}
    assert figures["times"][-1]["opened"] == 3
    queue = client.get("/api/v1/complaints/queue?who=mine", headers=bearer).get_json()
    assert len(queue) == 3 and all(item["breached"] for item in queue)
    assert queue[0]["target"] == "first_response" and queue[0]["business_seconds_left"] < 0
    assert queue[0]["owner"] == "o@example.com"
    marketing_bearer = {"Authorization": f"Bearer {token_for(app, marketing)}"}
    assert client.get("/api/v1/complaints/figures", headers=marketing_bearer).status_code == 200
    assert client.get("/api/v1/complaints/queue", headers=marketing_bearer).status_code == 403
    assert client.get("/api/v1/complaints/queue?who=nobody", headers=bearer).status_code == 422
