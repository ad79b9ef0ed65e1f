"""The signed event hook: every status code of the contract in DESIGN.md section 4."""
from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import time
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from retention.extensions import db
from retention.hooks.models import PROCESSED, InboundEvent
from retention.hooks.signatures import SecretError
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


# --- Input that could never be processed, or that crashed the hook (issue 7: B5, B6, B7, C13) ---


def _field_errors(response, *path):
    """The messages at `path` of a 422 answer's errors (fails with the answer if absent)."""
    assert response.status_code == 422, (response.status_code, response.get_json())
    errors = response.get_json()["errors"]
    for key in path:
        assert key in errors, (path, response.get_json())
        errors = errors[key]
    return errors


def _with_date(body: dict, value: str) -> dict:
    body["occurred_at"] = value
    return body


REFUSED = [
    # (the event, the path of the field its 422 names)
    (sale_completed(cust=customer(name="Layla \ud800")), ("data", "customer", "name")),
    (sale_completed(cust=customer(name="Lay\x00la")), ("data", "customer", "name")),
    (sale_completed(cust=customer(name="   ")), ("data", "customer", "name")),
    (sale_completed(cust=customer("C\x001")), ("data", "customer", "id")),
    (sale_completed("S\x001"), ("data", "sale_id")),
    (sale_completed(product="Espresso\tmachine"), ("data", "product")),
    (sale_completed(cust=customer(address={"lines": ["Road 1\x00"], "country": "AE"})),
     ("data", "customer", "address", "lines")),
    (event("complaint.opened", {"complaint_id": "K1", "customer_id": "C1", "channel": "phone",
                                "category": "delivery", "summary": "late\x00"}), ("data", "summary")),
    (event("nps.response", {"customer_id": "C1", "score": 9, "comment": "\udc00"}), ("data", "comment")),
    (event("nps.response", {"customer_id": "C1", "score": True}), ("data", "score")),
    (event("customer.churned", {"customer_id": "x" * 121}), ("data", "customer_id")),
    (_with_date(sale_completed(), "0001-01-01T00:00:00+00:00"), ("occurred_at",)),
    (_with_date(sale_completed(), "0001-01-01T00:00:00+05:00"), ("occurred_at",)),
    (_with_date(sale_completed(), "9999-12-31T23:59:59-05:00"), ("occurred_at",)),
    (_with_date(sale_completed(), "1999-12-31T23:59:59+00:00"), ("occurred_at",)),
    (event("sale.delivered", {"sale_id": "S1", "delivered_at": "0001-01-01T00:00:00+00:00"}),
     ("data", "delivered_at")),
    (event("sale.delivered", {"sale_id": "S1", "delivered_at": "9999-12-31T23:59:59+00:00"}),
     ("data", "delivered_at")),
    (sale_completed(amount="5_000"), ("data", "amount")),
    (sale_completed(amount=" 5 "), ("data", "amount")),
    (sale_completed(amount="٥٠٠"), ("data", "amount")),
    (sale_completed(amount="-0"), ("data", "amount")),
    (sale_completed(amount="1e3"), ("data", "amount")),
    (sale_completed(amount=649), ("data", "amount")),
    (sale_completed(amount="1000000000000000", currency="JPY"), ("data", "amount")),
    (sale_completed(currency="XXX"), ("data", "currency")),
    (sale_completed(currency="XTS"), ("data", "currency")),
    (sale_completed(currency="DEM"), ("data", "currency")),
    (sale_completed(currency="usd"), ("data", "currency")),
    (sale_completed(cust=customer(timezone="localtime")), ("data", "customer", "timezone")),
    (sale_completed(cust=customer(timezone="Factory")), ("data", "customer", "timezone")),
    (sale_completed(cust=customer(locale="en\n")), ("data", "customer", "locale")),
    (sale_completed(cust=customer(email="a" * 250 + "@example.net")), ("data", "customer", "email")),
    (event("complaint.opened", {"complaint_id": "K1", "customer_id": "C1", "channel": "phone",
                                "category": "delivery", "summary": "late",
                                "public_url": "https://help.example.com/" + "x" * 500}), ("data", "public_url")),
]


@pytest.mark.parametrize("body,path", REFUSED, ids=[f"{'.'.join(p)}-{i}" for i, (_, p) in enumerate(REFUSED)])
def test_an_event_that_could_never_be_applied_is_refused_at_the_door(client, signer, body, path):
    response = signer.post(client, body)
    assert _field_errors(response, *path)
    assert ".".join(path) in response.get_json()["message"]
    assert stored_events() == 0


def test_an_event_at_the_edges_of_the_contract_is_accepted_and_applied(client, signer, queue):
    """Longest names (with characters outside the BMP), the earliest and latest dates, the largest amount:
    answered 202 and then applied on this database (PostgreSQL in CI), never left failing."""
    name = ("Zoë 𝔏ayla " * 40)[:200]
    events = [
        sale_completed("S" * 120, cust=customer("C" * 120, name=name, address={
            "lines": ["ش" * 200] * 5, "city": "c" * 120, "region": "r" * 120, "postal_code": "p" * 20,
            "country": "AE"}), amount="999999999999999.999", currency="KWD", product="P" * 200,
            category="k" * 120, referral_code="R" * 40, occurred_at=dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)),
        event("sale.delivered", {"sale_id": "S" * 120, "delivered_at": "2099-12-31T23:59:59+00:00"}),
        event("complaint.opened", {"complaint_id": "K" * 120, "customer_id": "C" * 120, "channel": "chat",
                                   "category": "x" * 120, "summary": "line one\nline two\t" + "s" * 4980},
              occurred_at=dt.datetime(2099, 12, 31, 23, 59, tzinfo=dt.timezone.utc)),
        event("nps.response", {"customer_id": "C" * 120, "score": 0, "comment": "c" * 5000}),
    ]
    for body in events:
        assert signer.post(client, body).status_code == 202, body["type"]
    queue.drain()
    db.session.expire_all()
    rows = db.session.scalars(select(InboundEvent)).all()
    assert [(r.status, r.last_error) for r in rows] == [(PROCESSED, None)] * len(events)
    from retention.customers.models import Customer, Sale

    assert db.session.scalar(select(Customer)).name == name.strip()
    amount = db.session.scalar(select(Sale)).amount
    if db.engine.dialect.name == "postgresql":
        assert str(amount) == "999999999999999.999"
    else:  # SQLite keeps NUMERIC as a double: 18 significant digits come back rounded
        assert abs(amount - Decimal("999999999999999.999")) <= 1


def test_a_name_is_trimmed_of_surrounding_spaces(client, signer):
    signer.post(client, sale_completed(cust=customer(name="  Layla Haddad ")))
    assert db.session.scalar(select(InboundEvent)).data["customer"]["name"] == "Layla Haddad"


@pytest.mark.parametrize("timestamp", ["9" * 400, "1" * 13, "1_700_000_000", " 1700000000", "-1", "١٧٠٠٠٠٠٠٠٠"])
def test_a_malformed_timestamp_is_refused_before_the_signature(client, signer, timestamp):
    body = json.dumps(sale_completed()).encode()
    headers = signer.headers(body)
    headers["webhook-timestamp"] = timestamp
    response = client.post("/hooks/events", data=body, headers=headers)
    assert response.status_code == 401
    assert "webhook-timestamp" in response.get_json()["message"]
    assert stored_events() == 0


@pytest.mark.parametrize("depth", [10_000, 100])
def test_json_nested_too_deep_gets_422_naming_the_body(client, signer, depth):
    body = ('{"type": "sale.completed", "occurred_at": "2026-03-02T10:00:00+00:00", "data": '
            + "[" * depth + "]" * depth + "}").encode()
    response = client.post("/hooks/events", data=body, headers=signer.headers(body))
    assert response.status_code == 422
    assert "body" in response.get_json()["errors"] and "nested" in response.get_json()["message"]
    assert stored_events() == 0


@pytest.mark.parametrize("msg_id,problem", [("msg\x00one", "NUL"), ("msg\x1bone", "control"),
                                            ("m" * 201, "longer than 200")])
def test_a_webhook_id_that_cannot_be_stored_gets_422_naming_it(client, signer, msg_id, problem):
    body = json.dumps(sale_completed()).encode()
    response = client.post("/hooks/events", data=body, headers=signer.headers(body, msg_id=msg_id))
    assert response.status_code == 422
    message = response.get_json()["message"]
    assert message.startswith("webhook-id:") and problem in message
    assert stored_events() == 0


@pytest.mark.parametrize("secret,problem", [
    ("whsec_", "at least 24"),  # an empty key: any HMAC made with it would be valid
    ("whsec_" + base64.b64encode(b"sixteen-bytes-ok").decode(), "16 bytes"),
    ("whsec_not base64!", "not valid base64"),
    (base64.b64encode(b"x" * 32).decode(), "whsec_"),
])
def test_the_app_refuses_to_start_with_a_malformed_or_short_webhook_secret(secret, problem, monkeypatch):
    with pytest.raises(SecretError, match="RETENTION_WEBHOOK_SECRETS") as refused:
        make_app(WEBHOOK_SECRETS=[SECRET, secret])
    assert "secret 2" in str(refused.value) and problem in str(refused.value)
    assert secret[6:] not in str(refused.value) or not secret[6:]  # the secret itself is never printed
    # the same from the environment, as a deployment sets it
    from retention import create_app

    monkeypatch.setenv("RETENTION_WEBHOOK_SECRETS", secret)
    with pytest.raises(SecretError, match="RETENTION_WEBHOOK_SECRETS"):
        create_app({"TESTING": True, "DATABASE_URL": "sqlite://"})


def test_no_webhook_secret_is_warned_about_at_start(monkeypatch, caplog):
    monkeypatch.delenv("RETENTION_WEBHOOK_SECRETS", raising=False)
    with caplog.at_level(logging.WARNING):
        app = make_app(WEBHOOK_SECRETS=[])
    assert any(r.levelno == logging.WARNING and "RETENTION_WEBHOOK_SECRETS is not set" in r.getMessage()
               for r in caplog.records)
    with app.app_context():
        assert Signer(SECRET).post(app.test_client(), sale_completed()).status_code == 401
        db.engine.dispose()


def test_development_gets_a_webhook_secret_kept_under_instance(tmp_path, monkeypatch):
    from retention.config import from_environment

    monkeypatch.delenv("RETENTION_WEBHOOK_SECRETS", raising=False)
    first = from_environment({"RETENTION_ENV": "development", "INSTANCE_PATH": str(tmp_path)})
    again = from_environment({"RETENTION_ENV": "development", "INSTANCE_PATH": str(tmp_path)})
    assert first["WEBHOOK_SECRETS"] == again["WEBHOOK_SECRETS"]
    assert first["WEBHOOK_SECRETS"] == [(tmp_path / "webhook_secret").read_text().strip()]
    assert first["WEBHOOK_SECRET_GENERATED"]
    assert len(base64.b64decode(first["WEBHOOK_SECRETS"][0][len("whsec_"):])) == 32
    # a configured secret wins, and production never gets a generated one
    monkeypatch.setenv("RETENTION_WEBHOOK_SECRETS", SECRET)
    assert from_environment({"RETENTION_ENV": "development", "INSTANCE_PATH": str(tmp_path)})["WEBHOOK_SECRETS"] \
        == [SECRET]
    monkeypatch.delenv("RETENTION_WEBHOOK_SECRETS")
    production = from_environment({"SECRET_KEY": "k" * 32, "INSTANCE_PATH": str(tmp_path / "prod")})
    assert production["WEBHOOK_SECRETS"] == [] and not (tmp_path / "prod" / "webhook_secret").exists()
