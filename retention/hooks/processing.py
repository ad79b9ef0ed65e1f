"""What each event type does: the table from event type to the handlers that apply it, in order.

The inbox applies the customer and sale details itself (customers are below it); every feature above it
registers its own handlers (`on`) at app wiring time (retention/wiring.py), and the parts a batch of
events shares (e.g. the journeys' planner, `register_batch_part`). Nothing here imports a feature.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Callable

from sqlalchemy import or_, update
from sqlalchemy.orm import Session

from retention.customers import service as customers
from retention.customers.models import Customer, Sale
from retention.customers.service import Lookups
from retention.hooks.models import PENDING, WAITING, InboundEvent

Handler = Callable[["Batch", InboundEvent, dt.datetime], None]

# event type -> handlers applied in order (the inbox's own first, then each feature's, in wiring order)
HANDLERS: dict[str, list[Handler]] = {}
# name -> factory(session) of something one batch shares; it may have finish() (end of batch).
BATCH_PARTS: dict[str, Callable[[Session], object]] = {}
# Tables whose new rows a batch writes with one COPY per table on PostgreSQL (hooks.service.ids_from_sequences):
# plain rows, many of them per batch. Features add theirs (register_bulk_table).
BULK_TABLES: set[str] = {"customers", "sales"}


class Waiting(Exception):
    """The event refers to something not known yet; it waits until that arrives."""

    def __init__(self, message: str, customer_ref: str | None = None, sale_ref: str | None = None):
        super().__init__(message)
        self.customer_ref = customer_ref
        self.sale_ref = sale_ref


def on(event_type: str, handler: Handler) -> None:
    """Register `handler` for `event_type` (once; registering again is a no-op)."""
    handlers = HANDLERS.setdefault(event_type, [])
    if handler not in handlers:
        handlers.append(handler)


def register_batch_part(name: str, factory: Callable[[Session], object]) -> None:
    BATCH_PARTS[name] = factory


def register_bulk_table(name: str) -> None:
    BULK_TABLES.add(name)


@dataclass
class Batch:
    """What applying one batch of events shares: loaded customers and sales, and the features' parts."""

    session: Session
    lookups: Lookups = None
    parts: dict = field(default_factory=dict)
    # Event types whose waiting events this batch may have unblocked (e.g. a resolution before its complaint).
    release_types: set = field(default_factory=set)
    # What the handlers of the event being applied tell each other (e.g. {"new_sale": sale}).
    found: dict = field(default_factory=dict)

    def __post_init__(self):
        self.lookups = Lookups(self.session)
        self.parts = {name: factory(self.session) for name, factory in BATCH_PARTS.items()}

    def part(self, name: str):
        return self.parts[name]

    def preload(self, customer_refs, sale_refs) -> None:
        """Load the batch's customers and sales at once, then what each part wants of them."""
        self.lookups.preload(customer_refs, sale_refs)
        for part in self.parts.values():
            if hasattr(part, "preload"):
                part.preload(self.lookups)

    def finish(self) -> None:
        for part in self.parts.values():
            if hasattr(part, "finish"):
                part.finish()

    def forget(self) -> None:
        self.lookups.forget()
        self.parts = {name: factory(self.session) for name, factory in BATCH_PARTS.items()}


def require_customer(batch: Batch, ref: str) -> Customer:
    """The customer named by an event, or Waiting until the customer's own event arrives."""
    customer = batch.lookups.customer(ref)
    if customer is None:
        raise Waiting(f"customer {ref!r} is not known yet", customer_ref=ref)
    _written(batch, customer)
    return customer


def _written(batch: Batch, obj) -> None:
    """A customer or sale new in this batch is written before handlers use it: their queries name it by id
    (`Enrollment.sale_id == sale.id`), read off the object before autoflush would give it one."""
    if obj.id is None:
        batch.session.flush()


def require_sale(batch: Batch, event: InboundEvent) -> Sale:
    """The sale named by the event, or Waiting until its sale.completed arrives."""
    ref = event.data["sale_id"]
    sale = batch.lookups.sale(ref)
    if sale is None:
        raise Waiting(f"sale {ref!r} is not known yet", sale_ref=ref)
    _written(batch, sale)
    if event.customer_ref is None:
        event.customer_ref = sale.customer.external_id  # so it shows on the customer's timeline
    return sale


def _customer_upserted(batch: Batch, event: InboundEvent, now: dt.datetime) -> None:
    customers.upsert_customer(batch.lookups, event.data["customer"], event.occurred_at, now)


def _sale_completed(batch: Batch, event: InboundEvent, now: dt.datetime) -> None:
    sale, created = customers.record_sale(batch.lookups, event.data, event.occurred_at, now)
    batch.found["sale"] = sale
    if created:
        batch.found["new_sale"] = sale


def _sale_delivered(batch: Batch, event: InboundEvent, now: dt.datetime) -> None:
    batch.found["sale"] = require_sale(batch, event)


def _sale_refunded(batch: Batch, event: InboundEvent, now: dt.datetime) -> None:
    sale = batch.found["sale"] = require_sale(batch, event)
    sale.refunded_at = sale.refunded_at or event.occurred_at
    sale.refund_reason = event.data.get("reason")


def _customer_churned(batch: Batch, event: InboundEvent, now: dt.datetime) -> None:
    customer = batch.found["customer"] = require_customer(batch, event.data["customer_id"])
    customer.churned_at = customer.churned_at or event.occurred_at


for _type, _handler in (("customer.upserted", _customer_upserted), ("sale.completed", _sale_completed),
                        ("sale.delivered", _sale_delivered), ("sale.refunded", _sale_refunded),
                        ("customer.churned", _customer_churned)):
    on(_type, _handler)


def apply(batch: Batch, event: InboundEvent, now: dt.datetime) -> None:
    """Apply one event's effects in order; raises Waiting when it refers to something unknown."""
    batch.found = {}
    for handler in HANDLERS.get(event.type, ()):
        handler(batch, event, now)


def release_waiting(session: Session, batch: Batch, now: dt.datetime) -> int:
    """Put back in line the events that were waiting for customers or sales now known."""
    lookups = batch.lookups
    customer_refs = [ref for ref, c in lookups.customers.items() if c is not None]
    sale_refs = [ref for ref, s in lookups.sales.items() if s is not None]
    conditions = []
    if batch.release_types:
        conditions.append(InboundEvent.type.in_(sorted(batch.release_types)))
    if not customer_refs and not sale_refs and not conditions:
        return 0
    session.flush()
    if customer_refs:
        conditions.append(InboundEvent.customer_ref.in_(customer_refs))
    if sale_refs:
        conditions.append(InboundEvent.sale_ref.in_(sale_refs))
    result = session.execute(
        update(InboundEvent).where(InboundEvent.status == WAITING, or_(*conditions))
        .values(status=PENDING, next_attempt_at=None).execution_options(synchronize_session=False))
    return result.rowcount or 0
