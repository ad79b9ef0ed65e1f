"""Half-built parts refuse what they would need; email steps and the customer_type fact are built now (tests/mail/)."""
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


def test_email_step_names_its_template_like_a_letter_step(world):
    # Built (retention/postal/email_step.py): accepted, and its letter template must exist in every language.
    journeys.validate_steps([{"key": "thanks", "kind": "email", "day_offset": 3, "template_key": "thank_you"}],
                            db.session)
    with pytest.raises(journeys.JourneyError) as refused:
        journeys.validate_steps([{"key": "hello", "kind": "call", "day_offset": 1},
                                 {"key": "thanks", "title": "Thank-you mail", "kind": "email", "day_offset": 3}],
                                db.session)
    assert str(refused.value).startswith("step 2 (Thank-you mail): template_key: no letter template 'thanks'")


def test_customer_type_condition_names_one_of_the_types():
    # The fact is filled by complaints (step 2: the type staff set): a rule naming a type is a valid step condition.
    journeys.validate_steps([{"key": "vip_call", "kind": "call", "day_offset": 1,
                              "condition": 'customer_type == "high_roller" and not open_complaint'}])
    with pytest.raises(journeys.JourneyError) as refused:
        journeys.validate_steps([{"key": "b2b_call", "kind": "call", "day_offset": 1,
                                  "condition": 'customer_type == "business"'}])
    assert "customer_type" in str(refused.value) and "must be one of" in str(refused.value)


def test_default_journey_uses_only_built_kinds_and_available_facts(world):
    steps = world["journey"].steps
    assert {s.kind for s in steps} <= {"call", "nps_survey", "letter", "referral_offer"}
    assert all("customer_type" not in repr(s.condition) for s in steps)


def test_journey_api_refuses_a_step_naming_no_customer_type_and_changes_nothing(app, client, world):
    headers = admin_headers(app)
    journey = client.get("/api/v1/journeys/first-90-days", headers=headers).get_json()
    steps = journey["steps"] + [{"key": "b2b", "title": "Business call", "kind": "call", "day_offset": 40,
                                 "condition": 'customer_type == "business"'}]  # not a customer type
    refused = client.put("/api/v1/journeys/first-90-days", json={"steps": steps, "choice": "keep"}, headers=headers)
    assert refused.status_code == 422
    assert "step 11 (Business call): condition" in refused.get_json()["message"]
    assert client.get("/api/v1/journeys/first-90-days", headers=headers).get_json()["version"] == 1


def _stored_step(world, **fields) -> None:
    """A step stored before these refusals existed (written past the validator, as old data was)."""
    world["journey"].steps.append(JourneyStep(position=len(world["journey"].steps), title=fields["key"],
                                              window_start="10:00", window_end="18:00", business_days=False,
                                              script="", **fields))
    db.session.commit()


def test_a_stored_step_of_a_kind_nothing_hands_out_is_skipped_with_a_reason(client, signer, world, monkeypatch):
    from retention.journeys import registry

    monkeypatch.delitem(registry.HANDOUTS, "email")  # as email steps were before retention/mail existed
    _stored_step(world, key="old_mail", kind="email", day_offset=1)
    signer.post(client, sale_completed(occurred_at=T0))
    tick(T0 + dt.timedelta(days=2))
    db.session.expire_all()
    mail = db.session.scalar(select(Touchpoint).join(Touchpoint.step).where(JourneyStep.key == "old_mail"))
    assert mail.status == "skipped"
    assert mail.reason == "email steps are not built yet"
    assert db.session.scalar(select(func.count()).select_from(Touchpoint).where(Touchpoint.kind == "email",
                                                                              Touchpoint.status == "handed")) == 0
