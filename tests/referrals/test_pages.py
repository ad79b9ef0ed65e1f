"""Referral pages: marketing builds a program with the preview, a rule the guard refuses is not saved (the reason
next to the field), the report, the payout CSV, the friend's landing page; the API for programs and the preview."""
from __future__ import annotations

import csv
import datetime as dt
import io

from sqlalchemy import func, select

from retention.extensions import db
from retention.referrals.models import ReferralProgram
from tests.factories import staff, token_for
from tests.referrals.conftest import program_fields
from tests.referrals.test_conversions import OFFERED, advocate, buy, friend


def _form(**overrides) -> dict:
    fields = program_fields(**overrides)
    form = {k: v for k, v in fields.items() if k != "bands"}
    for i, band in enumerate(fields["bands"], start=1):
        form[f"band_from_{i}"], form[f"band_reward_{i}"] = band["from"], band["reward"]
    return form


def _marketing(app, client, auth, lang="en"):
    staff(app, "maya@example.com", "marketing", locale=lang)
    auth.login("maya@example.com")
    return auth.csrf("/referrals/programs/new")


def test_preview_then_save_a_program(app, client, auth):
    csrf = _marketing(app, client, auth)
    page = client.post("/referrals/programs/new", data={**_form(), "csrf_token": csrf, "action": "preview"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="preview-chart"' in html and 'id="preview-ok"' in html
    assert db.session.scalar(select(func.count()).select_from(ReferralProgram)) == 0  # a preview saves nothing
    saved = client.post("/referrals/programs/new", data={**_form(), "csrf_token": csrf, "action": "save"})
    assert saved.status_code == 303
    assert db.session.scalar(select(ReferralProgram.name)) == "Happy customers"


def test_a_rule_the_guard_trips_is_refused_with_the_reason_next_to_the_field(app, client, auth):
    csrf = _marketing(app, client, auth, lang="fa")
    page = client.post("/referrals/programs/new", data={**_form(reward_cap="100"), "csrf_token": csrf,
                                                        "action": "save"})
    html = page.get_data(as_text=True)
    assert page.status_code == 422
    assert 'id="err-reward_cap"' in html and 'aria-invalid="true"' in html
    assert 'id="preview-trips"' in html and 'class="col trips"' in html
    assert 'value="Happy customers"' in html  # what was typed stays
    assert db.session.scalar(select(func.count()).select_from(ReferralProgram)) == 0


def test_api_creates_previews_and_refuses_with_409_naming_the_field(app, client):
    token = token_for(app, staff(app, "maya@example.com", "marketing"))
    headers = {"Authorization": f"Bearer {token}"}
    body = {**program_fields(), "categories": [], "ends_on": None, "min_nps": 9, "min_days": 30,
            "return_window_days": 14, "max_offers": 1, "hold_days": 30, "code_days": 90, "max_referrals": None}
    preview = client.post("/api/v1/referral-programs/preview", json={**body, "reward_cap": "100"}, headers=headers)
    assert preview.status_code == 200
    assert preview.get_json()["trip"]["field"] == "reward_cap" and preview.get_json()["trip"]["value"] == "20000.00"
    assert preview.get_json()["trips_from"] == "10000.01"  # 100 is 1% of 10,000
    refused = client.post("/api/v1/referral-programs/", json={**body, "reward_cap": "100"}, headers=headers)
    assert refused.status_code == 409 and refused.get_json()["message"].startswith("reward_cap: insult guard")
    created = client.post("/api/v1/referral-programs/", json=body, headers=headers)
    assert created.status_code == 201 and created.get_json()["reward_cap"] == "200"
    assert client.get("/api/v1/referral-programs/", headers=headers).get_json()[0]["name"] == "Happy customers"


def test_report_payout_csv_and_landing_page(app, client, signer, auth, ref_world, clock):
    offer = advocate(client, signer)
    buy(client, signer, friend(), offer.code)
    from retention.tick import run as tick

    tick(OFFERED + dt.timedelta(days=40))
    clock.set(OFFERED + dt.timedelta(days=41))
    _marketing(app, client, auth)
    program_page = client.get(f"/referrals/programs/{offer.program_id}").get_data(as_text=True)
    assert 'data-offers="1" data-referrals="1"' in program_page
    client.post("/logout", data={"csrf_token": auth.csrf("/referrals/")})
    landing = client.get(f"/r/{offer.code}")
    assert landing.status_code == 200 and offer.code[:4] in landing.get_data(as_text=True)
    assert client.get("/r/ZZZZ9999").status_code == 404
    auth.login("maya@example.com")
    report = client.get("/referrals/reports").get_data(as_text=True)
    assert 'data-total-offers="1"' in report and 'data-total-conversions="1"' in report
    assert 'data-total-cost="30.000"' in report and 'data-total-revenue="120.000"' in report
    payout = client.get("/referrals/reports/payout.csv")
    assert payout.data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(payout.data.decode("utf-8-sig"))))
    assert rows[0][:3] == ["ledger_id", "earned_at", "customer_id"] and rows[1][2] == "C1" and rows[1][7] == "30.000"
    headers = {"Authorization": f"Bearer {token_for(app, staff(app, 'api@example.com', 'marketing'))}"}
    assert client.get("/api/v1/referral-offers/", headers=headers).get_json()[0]["code"] == offer.code
    referral = client.get("/api/v1/referrals/?status=earned", headers=headers).get_json()[0]
    assert referral["friend"] == "F1" and referral["reward_amount"] == "30.000" and referral["reason"] is None
    ledger = client.get("/api/v1/referral-ledger/", headers=headers).get_json()
    assert [(row["kind"], row["amount"], row["customer"]) for row in ledger] == [("reward", "30.000", "C1")]


def test_the_customer_timeline_shows_the_offer_the_referral_and_the_reward_in_persian(app, client, signer, auth,
                                                                                     ref_world, clock):
    offer = advocate(client, signer)
    buy(client, signer, friend(), offer.code)
    from retention.tick import run as tick

    tick(OFFERED + dt.timedelta(days=40))
    clock.set(OFFERED + dt.timedelta(days=41))
    staff(app, "sara@example.com", "onboarding", locale="fa")
    auth.login("sara@example.com")
    html = client.get("/customers/C1").get_data(as_text=True)
    assert "پیشنهاد معرفی داده شد" in html and "دوستی با کد این مشتری خرید کرد" in html
    assert "پاداش معرفی کسب شد" in html


def test_an_address_trying_codes_one_after_another_is_slowed_down(app, client):
    answers = [client.get(f"/r/ZZZZ{n:04d}").status_code for n in range(61)]
    assert answers[:60] == [404] * 60 and answers[60] == 429  # unknown codes look alike; then the address waits


def test_the_payout_csv_is_safe_from_formula_injection(app, client, signer, auth, ref_world):
    offer = advocate(client, signer)
    buy(client, signer, friend(), offer.code)
    from retention.customers.models import Customer
    from retention.tick import run as tick

    tick(OFFERED + dt.timedelta(days=40))
    db.session.scalar(select(Customer).where(Customer.external_id == "C1")).name = "=HYPERLINK(\"http://x\")"
    db.session.commit()
    _marketing(app, client, auth)
    rows = list(csv.reader(io.StringIO(client.get("/referrals/reports/payout.csv").data.decode("utf-8-sig"))))
    assert rows[1][3] == "'=HYPERLINK(\"http://x\")"


def test_api_updates_and_deletes_a_program_but_not_one_with_offers(app, client, signer, ref_world):
    headers = {"Authorization": f"Bearer {token_for(app, staff(app, 'maya@example.com', 'marketing'))}"}
    body = {**program_fields(), "categories": ["kitchen"], "ends_on": "2026-12-31", "min_nps": 9, "min_days": 30,
            "return_window_days": 14, "max_offers": 1, "hold_days": 30, "code_days": 90, "max_referrals": 50}
    created = client.post("/api/v1/referral-programs/", json=body, headers=headers).get_json()
    changed = client.put(f"/api/v1/referral-programs/{created['id']}", json={**body, "reward_percent": "4"},
                         headers=headers)
    assert changed.status_code == 200 and changed.get_json()["reward_percent"] == "4"
    assert changed.get_json()["ends_on"] == "2026-12-31" and changed.get_json()["categories"] == ["kitchen"]
    assert client.delete(f"/api/v1/referral-programs/{created['id']}", headers=headers).status_code == 204
    offer = advocate(client, signer)
    refused = client.delete(f"/api/v1/referral-programs/{offer.program_id}", headers=headers)
    assert refused.status_code == 409 and "end date" in refused.get_json()["message"]
