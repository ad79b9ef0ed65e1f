"""Half-built parts refuse what they would need: email steps and the customer_type fact."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from retention.extensions import db
from retention.journeys import service as journeys
from retention.journeys.models import JourneyStep, Touchpoint
from retention.tick import run as tick
from tests.factories import sale_completed, staff, token_for

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 3, 2, 6, 0, tzinfo=UTC)


def admin_headers(app):
    return {"Authorization": f"Bearer {token_for(app, staff(app, 'root@example.com', 'admin'))}"}


def test_email_step_is_refused_naming_the_step_and_the_field():
    with pytest.raises(journeys.JourneyError) as refused:
        journeys.validate_steps([{"key": "hello", "kind": "call", "day_offset": 1},
                                 {"key": "thanks", "title": "Thank-you mail", "kind": "email", "day_offset": 3}])
    assert str(refused.value).startswith("step 2 (Thank-you mail): kind: email steps are not built yet")


def test_customer_type_condition_is_refused_as_not_available_yet():
    for condition in ('customer_type == "business"',
                      '(purchase_value >= 1000 or customer_type == "business") and not open_complaint',
                      {"not": {"fact": "customer_type", "op": "is_null"}}):
        with pytest.raises(journeys.JourneyError) as refused:
            journeys.validate_steps([{"key": "b2b_call", "kind": "call", "day_offset": 1, "condition": condition}])
        assert str(refused.value) == "step 1 (b2b_call): condition: fact 'customer_type' is not available yet"


def test_default_journey_uses_only_built_kinds_and_available_facts(world):
    steps = world["journey"].steps
    assert {s.kind for s in steps} <= {"call", "nps_survey", "letter", "referral_offer"}
    assert all("customer_type" not in repr(s.condition) for s in steps)


def test_journey_api_refuses_an_email_step_and_changes_nothing(app, client, world):
    headers = admin_headers(app)
    journey = client.get("/api/v1/journeys/first-90-days", headers=headers).get_json()
    steps = journey["steps"] + [{"key": "nps_mail", "title": "NPS mail", "kind": "email", "day_offset": 40}]
    refused = client.put("/api/v1/journeys/first-90-days", json={"steps": steps, "choice": "keep"}, headers=headers)
    assert refused.status_code == 422
    assert "step 11 (NPS mail): kind: email steps are not built yet" in refused.get_json()["message"]
    steps[-1] = {"key": "b2b", "title": "Business call", "kind": "call", "day_offset": 40,
                 "condition": 'customer_type == "business"'}
    refused = client.put("/api/v1/journeys/first-90-days", json={"steps": steps, "choice": "keep"}, headers=headers)
    assert refused.status_code == 422
    assert "step 11 (Business call): condition: fact 'customer_type' is not available yet" in refused.get_json()["message"]
    assert client.get("/api/v1/journeys/first-90-days", headers=headers).get_json()["version"] == 1


def _stored_step(world, **fields) -> None:
    """A step stored before these refusals existed (written past the validator, as old data was)."""
    world["journey"].steps.append(JourneyStep(position=len(world["journey"].steps), title=fields["key"],
                                              window_start="10:00", window_end="18:00", business_days=False,
                                              script="", **fields))
    db.session.commit()


def test_stored_email_step_is_skipped_with_a_reason_never_handed(client, signer, world):
    _stored_step(world, key="old_mail", kind="email", day_offset=1)
    signer.post(client, sale_completed(occurred_at=T0))
    tick(T0 + dt.timedelta(days=2))
    db.session.expire_all()
    mail = db.session.scalar(select(Touchpoint).join(Touchpoint.step).where(JourneyStep.key == "old_mail"))
    assert mail.status == "skipped"
    assert mail.reason == "email steps are not built yet"
    assert db.session.scalar(select(func.count()).select_from(Touchpoint).where(Touchpoint.kind == "email",
                                                                              Touchpoint.status == "handed")) == 0


def test_stored_customer_type_condition_skips_its_step_with_a_reason(client, signer, world):
    # `not customer_type == "business"` would be true for everyone, the fact being always empty
    _stored_step(world, key="consumer_call", kind="call", day_offset=1,
                 condition={"not": {"fact": "customer_type", "op": "==", "value": "business"}})
    signer.post(client, sale_completed(occurred_at=T0))
    tick(T0 + dt.timedelta(days=2))
    db.session.expire_all()
    call = db.session.scalar(select(Touchpoint).join(Touchpoint.step).where(JourneyStep.key == "consumer_call"))
    assert call.status == "skipped" and call.owner_id is not None
    assert call.reason == "condition uses customer_type, not available yet"
