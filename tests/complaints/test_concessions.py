"""Goodwill concessions: within the requester's limit at once, above it an admin decides; amounts in the sale's currency."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from retention.audit.models import AuditEntry
from retention.complaints import concessions, service
from retention.complaints.models import CaseChange, Complaint
from retention.extensions import db
from tests.factories import staff
from tests.complaints.test_resolution import open_case
from tests.journeys.conftest import world  # noqa: F401
from tests.journeys.test_journeys import T0, sell

NOW = T0 + dt.timedelta(days=2)


@pytest.fixture
def case(client, signer, world) -> Complaint:
    sell(client, signer, T0)  # a 649.00 USD sale
    return open_case()


@pytest.fixture
def people(app):
    caller = staff(app, "nadia@example.com", "onboarding", name="Nadia")
    caller.concession_limits = {"USD": "50.00"}
    admin = staff(app, "admin@example.com", "admin", name="Admin")
    db.session.commit()
    return caller, admin


def test_within_the_limit_it_is_approved_at_once(case, people):
    caller, _admin = people
    row = concessions.request(db.session, case, kind="credit", amount="50", staff=caller, now=NOW, actor="staff:x")
    db.session.commit()
    assert (row.status, row.amount, row.currency) == ("approved", Decimal("50.00"), "USD")
    assert row.decided_by_id == caller.id and row.decided_at == NOW
    assert [c.action for c in case.changes][-1] == "concession_approved"


def test_over_the_limit_it_waits_for_an_admin(case, people):
    caller, admin = people
    row = concessions.request(db.session, case, kind="refund", amount="50.01", note="shipping and a voucher",
                              staff=caller, now=NOW, actor=f"staff:{caller.id}")
    db.session.commit()
    assert row.status == "pending" and row.decided_by_id is None
    assert concessions.pending(db.session) == [row]
    # The person who asked cannot decide; an admin can, once.
    with pytest.raises(service.CaseConflict):
        concessions.decide(db.session, row, approve=True, staff=caller, now=NOW, actor=f"staff:{caller.id}")
    concessions.decide(db.session, row, approve=True, staff=admin, now=NOW + dt.timedelta(hours=1),
                       actor=f"staff:{admin.id}")
    db.session.commit()
    assert row.status == "approved" and row.decided_by_id == admin.id
    assert concessions.pending(db.session) == []
    with pytest.raises(service.CaseConflict):
        concessions.decide(db.session, row, approve=False, staff=admin, now=NOW, actor=f"staff:{admin.id}")
    actions = db.session.scalars(select(CaseChange.action).where(CaseChange.case_id == case.id)).all()
    assert actions[-2:] == ["concession_requested", "concession_approved"]
    audited = db.session.scalars(select(AuditEntry.action).where(AuditEntry.entity_type == "complaint")).all()
    assert "complaint.concession_requested" in audited and "complaint.concession_approved" in audited


def test_rejected_concession(case, people):
    caller, admin = people
    row = concessions.request(db.session, case, kind="replacement", amount="200", staff=caller, now=NOW,
                              actor="staff:x")
    concessions.decide(db.session, row, approve=False, staff=admin, now=NOW, actor="staff:y", note="not owed")
    db.session.commit()
    assert row.status == "rejected"
    assert case.changes[-1].action == "concession_rejected" and "not owed" in case.changes[-1].note


def test_no_limit_set_means_every_concession_waits_and_admins_grant_at_once(case, people):
    caller, admin = people
    caller.concession_limits = None
    assert concessions.request(db.session, case, kind="credit", amount="1", staff=caller, now=NOW,
                               actor="x").status == "pending"
    assert concessions.request(db.session, case, kind="credit", amount="500", staff=admin, now=NOW,
                               actor="y").status == "approved"


@pytest.mark.parametrize("amount, field", [
    ("0", "amount"), ("-5", "amount"), ("abc", "amount"), ("1.001", "amount"), ("NaN", "amount"),
    ("1e9", "amount"), ("", "amount"), (None, "amount"), ("650", "amount"),  # a refund above the 649.00 sale
])
def test_bad_amounts_are_refused_naming_the_field(case, people, amount, field):
    caller, _admin = people
    with pytest.raises(service.ComplaintError) as refused:
        concessions.request(db.session, case, kind="refund", amount=amount, staff=caller, now=NOW, actor="x")
    assert refused.value.field == field
    db.session.rollback()
    assert db.session.scalar(select(Complaint).where(Complaint.id == case.id)).concessions == []


def test_amount_follows_the_currency_decimals():
    assert concessions.parse_amount("1500", "JPY") == Decimal("1500")
    with pytest.raises(service.ComplaintError):
        concessions.parse_amount("10.5", "JPY")
    assert concessions.parse_amount("1.250", "BHD") == Decimal("1.250")
    assert concessions.parse_amount("12.50", "EUR") == Decimal("12.50")


def test_unknown_kind_and_closed_case_are_refused(case, people):
    caller, _admin = people
    with pytest.raises(service.ComplaintError) as refused:
        concessions.request(db.session, case, kind="gift", amount="5", staff=caller, now=NOW, actor="x")
    assert refused.value.field == "kind"
    service.move(db.session, case, "closed", now=NOW, actor="x")
    with pytest.raises(service.CaseConflict):
        concessions.request(db.session, case, kind="credit", amount="5", staff=caller, now=NOW, actor="x")


def test_limits_are_set_per_currency_and_audited(app, people):
    caller, _admin = people
    concessions.set_limits(db.session, caller, {"usd": "75", "EUR": "60.5", "GBP": ""}, now=NOW, actor="staff:1")
    db.session.commit()
    assert caller.concession_limits == {"USD": "75.00", "EUR": "60.50"}
    assert concessions.limit_of(caller, "EUR") == Decimal("60.50") and concessions.limit_of(caller, "GBP") == 0
    with pytest.raises(service.ComplaintError) as refused:
        concessions.set_limits(db.session, caller, {"XYZ": "5"}, now=NOW, actor="staff:1")
    assert refused.value.field == "currency"
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "staff.concession_limits"))
    assert entry.changes["to"] == {"USD": "75.00", "EUR": "60.50"}
