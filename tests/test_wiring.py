"""Registration: every feature plugs into the layers below it when the app is built (web, CLI, workers, tests)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from retention.customers import timeline as customer_timeline
from retention.customers.timeline import Entry
from retention.extensions import db
from retention.hooks import processing
from retention.hooks.schemas import EVENT_TYPES
from retention.journeys import registry
from tests.factories import sale_completed

ROOT = Path(__file__).resolve().parent.parent


def test_building_the_app_registers_every_feature(app):
    assert all(processing.HANDLERS.get(t) for t in EVENT_TYPES)  # every event type does something
    assert {"call", "letter", "nps_survey", "referral_offer", "email"} <= set(registry.HANDOUTS)
    assert registry.HANDOUTS["call"].opens
    assert registry.gated_kinds() == {"nps_survey", "referral_offer"}  # the complaints feature's gate
    assert "letter" in registry.STEP_CHECKS and "email" in registry.STEP_CHECKS
    assert "planner" in processing.BATCH_PARTS


def test_registration_happens_in_create_app_not_as_a_side_effect_of_imports(tmp_path):
    """A worker or CLI process that only builds the app (as jobs do) gets the same registries."""
    script = (
        "import json\n"
        "from retention.hooks import processing\n"
        "from retention.journeys import registry\n"
        "before = sorted(registry.HANDOUTS)\n"
        "from retention import create_app\n"
        f"create_app({{'TESTING': True, 'SQLALCHEMY_DATABASE_URI': 'sqlite:///{tmp_path}/x.db', "
        f"'SECRET_KEY': 'x' * 32, 'INSTANCE_PATH': '{tmp_path}'}})\n"
        "print(json.dumps({'before': before, 'after': sorted(registry.HANDOUTS),"
        " 'nps': len(processing.HANDLERS.get('nps.response', []))}))\n")
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert found["before"] == []
    assert found["after"] == ["call", "email", "letter", "nps_survey", "referral_offer"]
    assert found["nps"] == 1


def test_a_feature_adds_a_timeline_source_without_editing_customers(client, signer, queue, monkeypatch):
    """What a new feature folder does: register a source; the customer's page shows its entries."""
    from retention.customers.models import Customer
    from retention.tick import run as tick
    import datetime as dt

    now = dt.datetime(2026, 3, 2, 6, 0, tzinfo=dt.timezone.utc)

    def offers(session, customer, limit):
        return [Entry(at=now, kind="referral:offered", title="Referral offered")]

    monkeypatch.setattr(customer_timeline, "SOURCES", list(customer_timeline.SOURCES))
    customer_timeline.register_source(offers)
    signer.post(client, sale_completed("S1", occurred_at=now))
    tick(now)
    customer = db.session.query(Customer).one()
    titles = [e.title for e in customer_timeline.timeline(db.session, customer)]
    assert "Referral offered" in titles and "Sale completed" in titles
