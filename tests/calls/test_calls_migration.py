"""The calls migration (d9a1c0a1e001): a step's single script becomes its English one; ad-hoc calls are the
only touchpoints without a step, and never "scheduled" (the database refuses anything else)."""
from __future__ import annotations

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from retention.extensions import db
from tests.conftest import make_app
from tests.test_migrations import _fresh_database_url

BEFORE, CALLS = "c4d19e7a0b21", "d9a1c0a1e001"


def test_old_scripts_become_english_scripts_and_come_back_on_downgrade():
    url, drop = _fresh_database_url()
    app = make_app(DATABASE_URL=url)
    try:
        with app.app_context():
            upgrade(revision=BEFORE)
            with db.engine.begin() as conn:
                conn.execute(text("INSERT INTO journeys (id, key, version, is_current, name, trigger, anchor, "
                                  "exit_events, active, created_at, created_by) VALUES (1, 'j', 1, true, 'J', "
                                  "'sale.completed', 'sale', '[]', true, '2026-01-01 00:00:00', 'test')"))
                for sid, script in ((1, "Say hello"), (2, "")):
                    conn.execute(text("INSERT INTO journey_steps (id, journey_id, key, position, title, day_offset, "
                                      "kind, window_start, window_end, business_days, script) VALUES "
                                      f"({sid}, 1, 's{sid}', {sid}, 'S', 1, 'call', '10:00', '18:00', true, "
                                      f"'{script}')"))
            upgrade(revision=CALLS)
            with db.engine.connect() as conn:
                rows = dict(conn.execute(text("SELECT id, scripts FROM journey_steps ORDER BY id")).all())
            import json
            loaded = {k: json.loads(v) if isinstance(v, str) else v for k, v in rows.items()}
            assert loaded == {1: {"en": "Say hello"}, 2: {}}
            with db.engine.begin() as conn:
                conn.execute(text("INSERT INTO customers (id, external_id, name, email, phone, locale, timezone, "
                                  "address_lines, city, region, postal_code, created_at, updated_at, search_text) "
                                  "VALUES (1, 'C1', 'A', '', '', 'en', 'UTC', '[]', '', '', '', "
                                  "'2026-01-01 00:00:00', '2026-01-01 00:00:00', '')"))
            adhoc = ("INSERT INTO touchpoints (customer_id, kind, due_at, status, attempts, purpose) "
                     "VALUES (1, 'call', '2026-01-02 00:00:00', '{status}', 0, 'follow_up')")
            with db.engine.begin() as conn:
                conn.execute(text(adhoc.format(status="open")))  # an ad-hoc call, open in its owner's list
            with pytest.raises(IntegrityError):  # the tick's hand-out never sees a step-less touchpoint
                with db.engine.begin() as conn:
                    conn.execute(text(adhoc.format(status="scheduled")))
            with db.engine.begin() as conn:
                conn.execute(text("DELETE FROM touchpoints"))
            downgrade(revision=BEFORE)
            with db.engine.connect() as conn:
                assert dict(conn.execute(text("SELECT id, script FROM journey_steps ORDER BY id")).all()) == {
                    1: "Say hello", 2: ""}
            db.engine.dispose()
    finally:
        drop()
