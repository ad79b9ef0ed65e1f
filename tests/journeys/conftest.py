"""Fixtures for journey tests: the default journey and two onboarding owners."""
from __future__ import annotations

import datetime as dt

import pytest

from retention.extensions import db
from retention.journeys.service import ensure_default_journey
from retention.postal.service import ensure_default_templates
from tests.factories import staff


@pytest.fixture
def world(app):
    """The default journey with its letter templates, and onboarding staff in Dubai and London (09:00-17:00 working hours)."""
    journey = ensure_default_journey(db.session, dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc))
    ensure_default_templates(db.session, dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc))  # letter steps need them
    owners = [
        staff(app, "omar@example.com", "onboarding", timezone="Asia/Dubai", country="AE", name="Omar"),
        staff(app, "emma@example.com", "onboarding", timezone="Europe/London", country="GB", name="Emma"),
    ]
    db.session.commit()
    return {"journey": journey, "owners": owners}
