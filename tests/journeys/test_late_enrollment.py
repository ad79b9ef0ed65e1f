"""Steps already past at enrollment (retention/journeys/planning.py): skipped, and why is kept as data."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from retention.extensions import db
from retention.journeys.models import ENROLLED_LATE, Touchpoint
from retention.tick import run as tick
from tests.factories import customer, sale_completed

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 3, 2, 6, 0, tzinfo=UTC)


def test_a_step_skipped_as_late_carries_its_reason_code_and_the_text_shown(client, signer, world):
    signer.post(client, sale_completed(cust=customer("C1"), occurred_at=T0 - dt.timedelta(days=40)))
    tick(T0)
    db.session.expire_all()
    tps = {tp.step.key: tp for tp in db.session.scalars(select(Touchpoint))}
    late = tps["check_in_call"]
    assert late.status == "skipped" and late.reason_code == ENROLLED_LATE
    assert late.reason == f"enrolled late: was due {late.due_at:%Y-%m-%d}"
    planned = tps["check_in_day_45"]
    assert planned.status == "scheduled" and planned.reason_code is None and planned.reason is None
