"""Step 2, know the customer (H1): the type staff set (audited, on the timeline), the suggestion from history
(chronic at the configured count within 90 days, not below; high-roller by the top tenth or a minimum), the
advice on the case, the social-media reply, and the `customer_type` fact in journey conditions."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from retention.complaints import types
from retention.complaints.models import CUSTOMER_TYPES
from retention.complaints.registration import CUSTOMER_TYPE
from retention.extensions import db
from retention.journeys import condition_form, conditions
from retention.journeys import service as journeys
from retention.journeys.models import JourneyStep, Touchpoint
from retention.tick import run as tick
from tests.complaints.casekit import T0, csrf_of, open_case, sold
from tests.factories import sale_completed, staff
from tests.journeys.conftest import world  # noqa: F401


def test_chronic_is_suggested_at_the_count_within_ninety_days_not_below(client, signer, queue):
    customer = sold(client, signer, queue)
    now = T0 + dt.timedelta(days=100)
    open_case(customer, now=now - dt.timedelta(days=95))  # too old to count
    open_case(customer, now=now - dt.timedelta(days=60))
    open_case(customer, now=now - dt.timedelta(days=2))
    assert types.suggest_type(db.session, customer, now) == (None, "")
    open_case(customer, now=now - dt.timedelta(hours=1))
    suggested, reason = types.suggest_type(db.session, customer, now)
    assert suggested == "chronic" and reason == "3 complaints in the last 90 days."
    assert types.suggest_type(db.session, customer, now, chronic_count=4)[0] is None


def test_chronic_count_comes_from_the_setting(app, client, signer, queue):
    customer = sold(client, signer, queue)
    open_case(customer, now=T0)
    open_case(customer, now=T0 + dt.timedelta(days=1))
    app.config["COMPLAINT_CHRONIC_COUNT"] = 2
    assert types.suggest_type(db.session, customer, T0 + dt.timedelta(days=2))[0] == "chronic"


def test_the_customer_page_suggests_chronic_from_cases_beyond_the_ten_it_lists(client, signer, queue, auth, clock):
    """The page lists the ten latest cases and counts the 90 days from them when they reach back far enough;
    when all ten are recent, more may be older in the window, and the count still finds them."""
    staff(client.application, "omar@example.com", "onboarding", name="Omar")
    now = T0 + dt.timedelta(days=200)
    clock.set(now)
    customer = sold(client, signer, queue)
    for days in range(100, 109):  # nine cases too old to count
        open_case(customer, now=now - dt.timedelta(days=days))
    open_case(customer, now=now - dt.timedelta(days=80))
    open_case(customer, now=now - dt.timedelta(days=1))
    db.session.commit()
    auth.login("omar@example.com")
    page = client.get("/customers/C1").get_data(as_text=True)
    assert 'id="customer-type-suggestion"' not in page  # two in 90 days (of eleven, ten listed)
    open_case(customer, now=now - dt.timedelta(days=3))
    db.session.commit()
    page = client.get("/customers/C1").get_data(as_text=True)
    assert "3 complaints in the last 90 days." in page and 'id="customer-type-suggestion"' in page
    for days in range(4, 12):  # the ten listed all recent now: the eleventh and older are counted too
        open_case(customer, now=now - dt.timedelta(days=days))
    db.session.commit()
    page = client.get("/customers/C1").get_data(as_text=True)
    assert "11 complaints in the last 90 days." in page


def test_high_roller_by_the_top_tenth_of_sales_in_that_currency_or_a_minimum(client, signer, queue):
    for n in range(1, 20):
        sold(client, signer, queue, cid=f"C{n}", sale_id=f"S{n}", amount=f"{100 + n}.00", currency="EUR")
    small = sold(client, signer, queue, cid="C50", sale_id="S50", amount="105.00", currency="EUR")
    big = sold(client, signer, queue, cid="C99", sale_id="S99", amount="900.00", currency="EUR")
    suggested, reason = types.suggest_type(db.session, big, T0)
    assert suggested == "high_roller" and "top tenth of sales in EUR" in reason
    assert types.suggest_type(db.session, small, T0)[0] is None
    # too few sales in a currency to speak of a top tenth: only a configured minimum counts
    rich = sold(client, signer, queue, cid="C77", sale_id="S77", amount="5000.00", currency="GBP")
    assert types.suggest_type(db.session, rich, T0)[0] is None
    suggested, reason = types.suggest_type(db.session, rich, T0, high_roller_min={"GBP": Decimal("2000")})
    assert suggested == "high_roller" and "at least" in reason


def test_a_type_set_by_staff_is_audited_on_the_timeline_and_refuses_unknown_types(client, signer, queue, auth, clock):
    staff(client.application, "omar@example.com", "onboarding", name="Omar")
    clock.set(T0)
    customer = sold(client, signer, queue)
    auth.login("omar@example.com")
    page = client.get("/customers/C1").get_data(as_text=True)
    assert 'id="customer-type-select"' in page and "Chronic complainer" in page
    token = csrf_of(page)
    refused = client.post("/complaints/customer/C1/type", data={"csrf_token": token, "customer_type": "vip"})
    assert refused.status_code == 422 and "Choose one of the customer types." in refused.get_data(as_text=True)
    assert client.post("/complaints/customer/C1/type", data={"csrf_token": token,
                                                            "customer_type": "aggressive"}).status_code == 303
    db.session.expire_all()
    assert customer.customer_type == "aggressive" and customer.customer_type_set_at == T0
    page = client.get("/customers/C1").get_data(as_text=True)
    assert "Customer type set: Aggressive" in page
    with pytest.raises(Exception):
        types.set_customer_type(db.session, customer, "business", staff_id=None, now=T0, actor="test")


def test_the_case_shows_the_advice_for_the_type_and_a_public_reply_for_social_media(client, signer, queue, auth,
                                                                                     clock):
    staff(client.application, "sara@example.com", "onboarding", name="Sara", locale="fa")
    clock.set(T0)
    customer = sold(client, signer, queue)  # writes Arabic (locale ar)
    case = open_case(customer, channel="social", public_url="https://social.example.com/p/1", category="billing")
    types.set_customer_type(db.session, customer, "high_roller", staff_id=None, now=T0, actor="test")
    db.session.commit()
    auth.login("sara@example.com")
    page = client.get(f"/complaints/{case.id}?lang=en").get_data(as_text=True)
    assert "Slowness or excuses lose a valuable customer." in page
    assert "move the conversation to a private channel" in page
    assert 'id="public-reply" class="reply" rows="3" readonly lang="ar" dir="rtl"' in page
    assert types.PUBLIC_REPLIES["ar"] in page and 'id="copy-reply"' in page
    persian = client.get(f"/complaints/{case.id}").get_data(as_text=True)
    assert 'dir="rtl"' in persian and "High-roller" not in persian


def test_customer_type_is_a_condition_fact_with_its_types_as_choices(app):
    assert conditions.NOT_AVAILABLE_YET == frozenset()
    assert condition_form.choices_of("customer_type") == CUSTOMER_TYPES
    rule = conditions.parse('customer_type == "high_roller"')
    with force_locale("en"):
        assert conditions.describe(rule) == "customer type is high-roller"
    with pytest.raises(conditions.RuleError):
        conditions.parse('customer_type == "business"')
    assert condition_form.rule_of("all", [{"fact": "customer_type", "op": "==", "value": "chronic"}]) == \
        {"fact": "customer_type", "op": "==", "value": "chronic"}


def test_a_journey_step_for_high_rollers_is_handed_only_to_them(client, signer, queue, world):
    step = {"key": "vip_call", "title": "VIP call", "kind": "call", "day_offset": 1,
            "condition": 'customer_type == "high_roller"'}
    journeys.validate_steps([step])
    journey = world["journey"]
    journey.steps.append(JourneyStep(position=len(journey.steps), title="VIP call", key="vip_call", kind="call",
                                     day_offset=1, window_start="10:00", window_end="18:00", business_days=False,
                                     script="", condition=conditions.parse(step["condition"])))
    db.session.commit()
    for cid, sale_id in (("C1", "S1"), ("C2", "S2")):
        signer.post(client, sale_completed(sale_id, cust={"id": cid, "name": cid, "locale": "en",
                                                          "timezone": "Europe/London"}, occurred_at=T0))
    tick(T0)
    from retention.customers.models import Customer

    vip = db.session.scalar(select(Customer).where(Customer.external_id == "C1"))
    types.set_customer_type(db.session, vip, "high_roller", staff_id=None, now=T0, actor="test")
    db.session.commit()
    assert CUSTOMER_TYPE.load(db.session, {vip.id}) == {vip.id: {"customer_type": "high_roller"}}
    tick(T0 + dt.timedelta(days=2))
    db.session.expire_all()
    steps = db.session.scalars(select(Touchpoint).join(Touchpoint.step).where(JourneyStep.key == "vip_call")).all()
    calls = {tp.customer.external_id: (tp.status, tp.reason) for tp in steps}
    assert calls["C1"][0] in ("open", "done") and calls["C2"] == ("skipped", "condition was false when due"), calls


def test_the_journey_editor_offers_the_types_by_name(app, client, auth, world):
    staff(app, "maya@example.com", "marketing", name="Maya", locale="fa")
    auth.login("maya@example.com")
    page = client.get("/journeys/first-90-days/edit").get_data(as_text=True)
    # the condition builder's choices for customer_type, each with its label in the reader's language
    import json
    import re

    builder = json.loads(re.search(r'<script type="application/json" id="builder-data"[^>]*>(.*?)</script>',
                                   page, re.S).group(1))
    assert builder["facts"]["customer_type"]["choices"] == list(CUSTOMER_TYPES)
    assert builder["values"]["high_roller"] == "پرخرج" and builder["values"]["chronic"] == "همیشه شاکی"
