"""Helpers of the complaint-case tests (H1): a sold customer, the default categories, signed-in staff, cases."""
from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select

from retention.complaints import service
from retention.complaints.categories import ensure_default_categories
from retention.complaints.models import Complaint
from retention.customers.models import Customer
from retention.extensions import db
from retention.tick import run as tick
from tests.factories import customer as customer_data, sale_completed

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 3, 2, 6, 0, tzinfo=UTC)  # Monday 10:00 in Dubai


def sold(client, signer, queue, cid="C1", sale_id="S1", amount="649.00", currency="USD", occurred_at=T0,
         **details) -> Customer:
    """A customer who bought something (through the real inbound event), the default categories in place."""
    response = signer.post(client, sale_completed(sale_id, cust=customer_data(cid, **details), amount=amount,
                                                  currency=currency, occurred_at=occurred_at))
    assert response.status_code in (200, 202)
    tick(occurred_at)  # applied at the time of the sale (not late)
    ensure_default_categories(db.session, T0)
    db.session.commit()
    return db.session.scalar(select(Customer).where(Customer.external_id == cid))


def open_case(customer: Customer, now=T0, **fields) -> Complaint:
    values = {"channel": "phone", "category": "delivery", "summary": "The box arrived crushed.", **fields}
    case = service.open_case(db.session, customer, now=now, actor="staff:1", **values)
    db.session.commit()
    return case


def csrf_of(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "no CSRF token on the page"
    return match.group(1)


def cases() -> list[Complaint]:
    db.session.expire_all()
    return db.session.scalars(select(Complaint).order_by(Complaint.id)).all()
