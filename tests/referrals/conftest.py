"""Fixtures for referral tests: the default journey with its letters, an owner, and a program builder."""
from __future__ import annotations

import datetime as dt

import pytest

from retention.extensions import db
from retention.journeys.service import ensure_default_journey
from retention.postal.service import ensure_default_templates
from retention.referrals import programs
from tests.factories import staff

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 3, 2, 6, 0, tzinfo=UTC)


def program_fields(**overrides) -> dict:
    """A program as the form sends it: 5% of the purchase, floor 10, cap 200, step 5, guard 1%."""
    fields = {"name": "Happy customers", "starts_on": "2026-01-01", "ends_on": "", "currency": "USD",
              "min_purchase": "100", "max_purchase": "20000", "categories": "", "min_nps": "9", "min_days": "30",
              "return_window_days": "14", "max_offers": "1", "reward_kind": "percent", "reward_percent": "5",
              "reward_floor": "10", "reward_cap": "200", "bands": [], "rounding_step": "5", "min_share": "1",
              "friend_kind": "percent", "friend_value": "10", "reward_type": "account_credit", "hold_days": "30",
              "code_days": "90", "max_referrals": "", "channel": "letter"}
    fields.update(overrides)
    return fields


def make_program(**overrides):
    program = programs.create_program(db.session, program_fields(**overrides), actor="test", now=NOW)
    db.session.commit()
    return program


@pytest.fixture
def ref_world(app):
    """The default journey (its day-60 referral step) with letter templates and an onboarding owner."""
    ensure_default_journey(db.session, NOW)
    ensure_default_templates(db.session, NOW)
    staff(app, "omar@example.com", "onboarding", name="Omar Haddad", title="Customer care", timezone="Asia/Dubai",
          country="AE")
    db.session.commit()
    return app
