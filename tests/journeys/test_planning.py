"""The batch planner: touchpoints planned in bulk are never missed by a later reader in the same batch."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from retention.customers.models import Customer
from retention.extensions import db
from retention.hooks import processing, service
from retention.journeys import planning
from retention.journeys.models import Touchpoint
from tests.factories import event, sale_completed

T0 = dt.datetime(2026, 3, 2, 6, 0, tzinfo=dt.timezone.utc)


def test_a_handler_reading_touchpoints_sees_those_planned_earlier_in_its_batch(client, signer, world, monkeypatch):
    """A new handler that never calls flush_touchpoints still sees the rows the sale planned a moment before."""
    seen = []

    def count_planned(batch, ev, now):  # reads touchpoints, flushes nothing itself
        customer = processing.require_customer(batch, ev.data["customer_id"])
        seen.append(batch.session.scalar(select(func.count()).select_from(Touchpoint)
                                         .where(Touchpoint.customer_id == customer.id)))

    monkeypatch.setitem(processing.HANDLERS, "nps.response", [*processing.HANDLERS["nps.response"], count_planned])
    signer.post(client, sale_completed("S1", occurred_at=T0))
    signer.post(client, event("nps.response", {"customer_id": "C1", "score": 9}, occurred_at=T0))
    assert service.process_due(db.session, T0, 500) == 2  # one batch: the sale, then the answer
    steps = len(world["journey"].steps)
    assert seen == [steps]
    assert db.session.scalar(select(func.count()).select_from(Touchpoint)) == steps  # and nothing twice


def test_bulk_rows_wait_for_a_touchpoint_statement(app, world):
    """Statements that do not touch touchpoints leave the rows batched (one insert for the whole batch)."""
    from tests.factories import customer as customer_data
    from retention.customers.service import Lookups, record_sale

    planner = planning.Planner(db.session, bulk=True)
    lookups = Lookups(db.session)
    sale, _ = record_sale(lookups, sale_completed("S1", occurred_at=T0)["data"], T0, T0)
    planning.enroll_on_sale(planner, sale, T0)
    db.session.scalar(select(func.count()).select_from(Customer))  # not a touchpoint statement
    assert len(planner.pending_rows) == len(world["journey"].steps)
    rows = db.session.scalars(select(Touchpoint)).all()  # a touchpoint statement: flushed first
    assert len(rows) == len(world["journey"].steps) and planner.pending_rows == []
    assert customer_data()["id"] == "C1"
    db.session.rollback()
