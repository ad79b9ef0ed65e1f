"""The signed event hook: every status code of the contract in DESIGN.md section 4."""
from __future__ import annotations

import json
import time

from sqlalchemy import func, select

from retention.extensions import db
from retention.hooks.models import InboundEvent
from tests.conftest import make_app
from tests.factories import OTHER_SECRET, SECRET, Signer, customer, event, in_other_apps, sale_completed


def stored_events() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(InboundEvent))


def test_valid_event_is_stored_and_answered_202(client, signer):
    response = signer.post(client, sale_completed())
    assert response.status_code == 202
    body = response.get_json()
    assert body["status"] == "accepted" and body["id"].startswith("evt_")
    row = db.session.scalar(select(InboundEvent))
    assert row.type == "sale.completed" and row.status == "pending"
    assert row.data["amount"] == "649.00" and row.customer_ref == "C1"


def test_replayed_id_gets_the_first_answer_and_no_second_row(client, signer):
    body = json.dumps(sale_completed()).encode()
    headers = signer.headers(body, msg_id="msg_replay")
    first = client.post("/hooks/events", data=body, headers=headers)
    again = client.post("/hooks/events", data=body, headers=signer.headers(body, msg_id="msg_replay"))
    assert first.status_code == 202 and again.status_code == 200
    assert again.get_json() == first.get_json()
    assert stored_events() == 1


def test_two_identical_deliveries_at_the_same_moment_store_one_event(app, signer):
    body = json.dumps(sale_completed()).encode()
    headers = signer.headers(body, msg_id="msg_race")
    results = in_other_apps(2, lambda other: other.test_client().post("/hooks/events", data=body, headers=headers))
    codes = sorted(r.status_code for r in results)
    assert codes == [200, 202]
    assert results[0].get_json() == results[1].get_json()
    assert stored_events() == 1


def test_stale_timestamp_is_refused(client, signer):
    body = json.dumps(sale_completed()).encode()
    response = client.post("/hooks/events", data=body, headers=signer.headers(body, timestamp=int(time.time()) - 301))
    assert response.status_code == 401
    assert "5 minutes" in response.get_json()["message"]
    assert stored_events() == 0


def test_timestamp_from_the_future_is_refused(client, signer):
    body = json.dumps(sale_completed()).encode()
    response = client.post("/hooks/events", data=body, headers=signer.headers(body, timestamp=int(time.time()) + 400))
    assert response.status_code == 401


def test_tampered_body_is_refused(client, signer):
    body = json.dumps(sale_completed(amount="649.00")).encode()
    headers = signer.headers(body)
    tampered = body.replace(b"649.00", b"6.49")
    response = client.post("/hooks/events", data=tampered, headers=headers)
    assert response.status_code == 401
    assert stored_events() == 0


def test_missing_signature_is_refused(client):
    response = client.post("/hooks/events", data=json.dumps(sale_completed()), content_type="application/json")
    assert response.status_code == 401
    assert "webhook-signature" in response.get_json()["message"]


def test_signature_with_an_unknown_secret_is_refused(client):
    response = Signer(OTHER_SECRET).post(client, sale_completed())
    assert response.status_code == 401


def test_rotated_secret_both_old_and_new_accepted_during_rotation():
    app = make_app(WEBHOOK_SECRETS=[OTHER_SECRET, SECRET])
    client = app.test_client()
    with app.app_context():
        assert Signer(SECRET).post(client, sale_completed("S-old")).status_code == 202
        assert Signer(OTHER_SECRET).post(client, sale_completed("S-new")).status_code == 202
        # one header may carry several signatures (one per secret) while senders rotate
        body = json.dumps(sale_completed("S-both")).encode()
        a = Signer(SECRET).headers(body, msg_id="msg_both", timestamp=int(time.time()))
        b = Signer("whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=").headers(body, msg_id="msg_both",
                                                                                      timestamp=int(a["webhook-timestamp"]))
        a["webhook-signature"] = b["webhook-signature"] + " " + a["webhook-signature"]
        assert client.post("/hooks/events", data=body, headers=a).status_code == 202
        db.engine.dispose()


def test_retired_secret_is_refused_after_rotation():
    app = make_app(WEBHOOK_SECRETS=[OTHER_SECRET])
    with app.app_context():
        assert Signer(SECRET).post(app.test_client(), sale_completed()).status_code == 401
        db.engine.dispose()


def test_body_over_256_kib_is_refused_with_413(client, signer):
    big = sale_completed(product="x" * 100)
    big["padding"] = "y" * (256 * 1024)
    response = signer.post(client, big)
    assert response.status_code == 413
    assert stored_events() == 0


def test_body_that_is_not_json_gets_422(client, signer):
    body = b"{not json"
    response = client.post("/hooks/events", data=body, headers=signer.headers(body))
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"body": ["Not valid JSON."]}


def test_unknown_type_gets_422_naming_the_field(client, signer):
    response = signer.post(client, event("sale.exploded", {"sale_id": "S1"}))
    assert response.status_code == 422
    assert "type" in response.get_json()["errors"]
    assert stored_events() == 0


def test_invalid_data_gets_field_by_field_errors_and_changes_nothing(client, signer):
    bad = sale_completed(amount="12.345", currency="XXY",
                         cust=customer(timezone="Mars/Olympus", address={"country": "ZZ"}))
    response = signer.post(client, bad)
    assert response.status_code == 422
    errors = response.get_json()["errors"]["data"]
    assert "currency" in errors
    assert "timezone" in errors["customer"]
    assert "country" in errors["customer"]["address"]
    assert "data.currency" in response.get_json()["message"]
    assert stored_events() == 0


def test_amount_with_more_decimals_than_its_currency_is_refused(client, signer):
    response = signer.post(client, sale_completed(amount="10.505", currency="USD"))
    assert response.status_code == 422
    assert "amount" in response.get_json()["errors"]["data"]
    # three decimals are right for Kuwaiti dinars
    assert signer.post(client, sale_completed(amount="10.505", currency="KWD")).status_code == 202


def test_occurred_at_without_offset_is_refused(client, signer):
    bad = sale_completed()
    bad["occurred_at"] = "2026-03-02T10:00:00"
    response = signer.post(client, bad)
    assert response.status_code == 422
    assert "occurred_at" in response.get_json()["errors"]


def test_every_event_type_of_the_contract_is_accepted(client, signer):
    events = [
        event("customer.upserted", {"customer": customer()}),
        sale_completed(),
        event("sale.delivered", {"sale_id": "S1", "delivered_at": "2026-03-04T12:00:00+04:00"}),
        event("sale.refunded", {"sale_id": "S1", "reason": "arrived broken"}),
        event("complaint.opened", {"complaint_id": "K1", "customer_id": "C1", "channel": "social",
                                   "category": "delivery", "summary": "late", "severity": "high"}),
        event("complaint.resolved", {"complaint_id": "K1", "resolution": "refund sent"}),
        event("nps.response", {"customer_id": "C1", "score": 9, "comment": "great"}),
        event("customer.churned", {"customer_id": "C1", "reason": "moved away"}),
    ]
    for e in events:
        assert signer.post(client, e).status_code == 202, e["type"]
    assert stored_events() == len(events)


def test_phone_is_normalized_to_e164(client, signer, queue):
    signer.post(client, sale_completed(cust=customer(phone="050 123 4567")))
    row = db.session.scalar(select(InboundEvent))
    assert row.data["customer"]["phone"] == "+971501234567"
