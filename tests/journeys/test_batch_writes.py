"""A batch of sale events written in bulk (on PostgreSQL one COPY per table for the batch's new customers, sales,
enrollments and touchpoints): every row as applying the events one by one writes it, later events of the batch
see the earlier ones, and an event failing after the batch wrote its rows loses and doubles nothing."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import func, select

from retention.customers.models import Customer, Sale
from retention.extensions import db
from retention.hooks import processing, service
from retention.hooks.models import InboundEvent
from retention.journeys.models import Enrollment, Touchpoint
from tests.factories import customer, event, sale_completed

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
STEPS = 10  # the default journey


def count(model, *where) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def statuses() -> dict[str, str]:
    db.session.expire_all()
    return dict(db.session.execute(select(InboundEvent.webhook_id, InboundEvent.status)).all())


def post_sales(client, signer, n: int) -> None:
    for i in range(n):
        body = sale_completed(f"S{i}", cust=customer(f"C{i}", name=f"Customer {i}"),
                              amount=f"{100 + i}.50", occurred_at=T0 + dt.timedelta(minutes=i))
        assert signer.post(client, body, msg_id=f"msg_sale_{i}").status_code == 202


def test_a_batch_of_sales_enrolls_every_customer_with_its_whole_plan(client, signer, world):
    post_sales(client, signer, 6)
    delivered = T0 + dt.timedelta(days=4)
    signer.post(client, event("sale.delivered", {"sale_id": "S1", "delivered_at": delivered.isoformat()},
                              occurred_at=delivered), msg_id="msg_delivered")
    signer.post(client, event("sale.refunded", {"sale_id": "S2", "reason": "changed mind"},
                              occurred_at=T0 + dt.timedelta(hours=1)), msg_id="msg_refunded")

    assert service.process_due(db.session, T0 + dt.timedelta(hours=2), 500) == 8  # one batch

    assert set(statuses().values()) == {"processed"}
    people = {c.external_id: c for c in db.session.scalars(select(Customer))}
    assert sorted(people) == [f"C{i}" for i in range(6)]
    for i in range(6):
        c = people[f"C{i}"]
        assert c.name == f"Customer {i}" and c.city == "Dubai" and c.address_lines == ["Sheikh Zayed Road 12"]
        assert c.phone == "+971501234567" and c.corrections is None and c.owner is not None
        assert f"customer {i}" in c.search_text and c.created_at == T0 + dt.timedelta(hours=2)
        [sale] = c.sales
        assert sale.external_id == f"S{i}" and sale.amount == Decimal(f"{100 + i}.50") and sale.currency == "USD"
        [enrollment] = db.session.scalars(select(Enrollment).where(Enrollment.customer_id == c.id)).all()
        assert enrollment.sale_id == sale.id and enrollment.assigned_owner_id == c.owner_id
        tps = db.session.scalars(select(Touchpoint).where(Touchpoint.enrollment_id == enrollment.id)).all()
        assert len(tps) == STEPS and {tp.customer_id for tp in tps} == {c.id}
        calls = [tp for tp in tps if tp.kind == "call"]
        assert calls and all(tp.owner_id == c.owner_id for tp in calls)
    # the later events of the batch found the sales the batch had just written
    assert db.session.scalar(select(Sale.delivered_at).where(Sale.external_id == "S1")) == delivered
    refunded = db.session.scalar(select(Enrollment).join(Sale).where(Sale.external_id == "S2"))
    assert refunded.status == "exited" and "changed mind" in refunded.exit_reason
    assert count(Touchpoint, Touchpoint.enrollment_id == refunded.id, Touchpoint.status == "cancelled") > 0


def test_an_event_failing_after_the_batch_wrote_its_rows_loses_and_doubles_nothing(client, signer, world,
                                                                                  monkeypatch):
    post_sales(client, signer, 5)

    def poison(batch, ev, now):
        if ev.data["sale_id"] == "S3":
            batch.session.flush()  # the batch's rows so far are in the database
            raise RuntimeError("CRM sent something we cannot apply")

    monkeypatch.setitem(processing.HANDLERS, "sale.completed", processing.HANDLERS["sale.completed"] + [poison])
    assert service.process_due(db.session, T0 + dt.timedelta(hours=1), 500) == 5

    assert statuses() == {"msg_sale_0": "processed", "msg_sale_1": "processed", "msg_sale_2": "processed",
                          "msg_sale_3": "failed", "msg_sale_4": "processed"}
    assert count(Customer) == count(Sale) == count(Enrollment) == 4
    assert count(Sale, Sale.external_id == "S3") == 0
    assert count(Touchpoint) == 4 * STEPS

    monkeypatch.setitem(processing.HANDLERS, "sale.completed",
                        [h for h in processing.HANDLERS["sale.completed"] if h is not poison])
    assert service.process_due(db.session, T0 + dt.timedelta(hours=2), 500) == 1
    assert set(statuses().values()) == {"processed"}
    assert count(Customer) == count(Sale) == count(Enrollment) == 5
    assert count(Touchpoint) == 5 * STEPS
