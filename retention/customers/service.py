"""Rules about customers and sales: applying events, search, the timeline."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from retention.customers.folding import fold, phone_query, search_text
from retention.customers.models import Customer, Sale
from retention.validation import bad_character

CUSTOMER_FIELDS = ("name", "email", "phone", "locale", "timezone")


# A search is a few words of a name, an email, a phone number or an id: longer is not a search.
SEARCH_MAX_LENGTH = 200


class InvalidSearch(ValueError):
    """The search text cannot be searched for (too long, or a control character); the message names `q`."""


def like_pattern(text: str) -> str:
    """A LIKE pattern matching `text` anywhere, its own % _ and \\ taken literally (escape character \\)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@dataclass
class Lookups:
    """Customers and sales of one batch of events, loaded together to save round trips."""

    session: Session
    customers: dict[str, Customer] = field(default_factory=dict)
    sales: dict[str, Sale] = field(default_factory=dict)
    # refs looked up and not found: asking again would only cost a query (and an autoflush)
    missing_customers: set[str] = field(default_factory=set)
    missing_sales: set[str] = field(default_factory=set)

    def preload(self, customer_refs, sale_refs) -> None:
        """Load in two queries every customer and sale the batch mentions."""
        refs = [r for r in set(customer_refs) if r and r not in self.customers]
        if refs:
            for c in self.session.scalars(select(Customer).where(Customer.external_id.in_(refs))):
                self.customers[c.external_id] = c
            self.missing_customers.update(r for r in refs if r not in self.customers)
        srefs = [r for r in set(sale_refs) if r and r not in self.sales]
        if srefs:
            for s in self.session.scalars(select(Sale).where(Sale.external_id.in_(srefs))):
                self.sales[s.external_id] = s
            self.missing_sales.update(r for r in srefs if r not in self.sales)

    def customer(self, ref: str) -> Customer | None:
        if ref in self.missing_customers:
            return None
        if ref not in self.customers:
            found = self.session.scalar(select(Customer).where(Customer.external_id == ref))
            if found is None:
                return None
            self.customers[ref] = found
        return self.customers[ref]

    def sale(self, ref: str) -> Sale | None:
        if ref in self.missing_sales:
            return None
        if ref not in self.sales:
            found = self.session.scalar(select(Sale).where(Sale.external_id == ref))
            if found is None:
                return None
            self.sales[ref] = found
        return self.sales[ref]

    def forget(self) -> None:
        self.customers.clear()
        self.sales.clear()
        self.missing_customers.clear()
        self.missing_sales.clear()


def upsert_customer(lookups: Lookups, data: dict, occurred_at: dt.datetime, now: dt.datetime) -> tuple[Customer, bool]:
    """Create the customer or update it if this event is newer than the last one applied.

    Returns the customer and whether it was created. Events may arrive out of order: an older
    event arriving late never overwrites newer details.
    """
    customer = lookups.customer(data["id"])
    created = customer is None
    if created:
        customer = Customer(external_id=data["id"], created_at=now)
        lookups.session.add(customer)
        lookups.customers[data["id"]] = customer
        lookups.missing_customers.discard(data["id"])
    elif customer.source_updated_at is not None and occurred_at < customer.source_updated_at:
        return customer, False
    for name in CUSTOMER_FIELDS:
        value = data.get(name)
        if value is not None:  # an omitted field keeps what we know
            setattr(customer, name, value)
    address = data.get("address")
    if address:
        customer.address_lines = list(address.get("lines") or [])
        customer.city = address.get("city") or ""
        customer.region = address.get("region") or ""
        customer.postal_code = address.get("postal_code") or ""
        customer.country = address.get("country")
        customer.address_flagged_at = None  # a new address from the CRM clears a returned-mail flag
    customer.search_text = search_text(customer.name, customer.email, customer.external_id, customer.phone)
    customer.source_updated_at = occurred_at
    customer.updated_at = now
    return customer, created


def record_sale(lookups: Lookups, data: dict, occurred_at: dt.datetime, now: dt.datetime) -> tuple[Sale, bool]:
    """Record a completed sale once (the sale id is the key); returns the sale and whether it is new."""
    customer, _ = upsert_customer(lookups, data["customer"], occurred_at, now)
    sale = lookups.sale(data["sale_id"])
    if sale is not None:
        return sale, False
    sale = Sale(
        external_id=data["sale_id"], customer=customer, amount=Decimal(data["amount"]),
        currency=data["currency"], product=data["product"], category=data.get("category"),
        referral_code=data.get("referral_code"), sold_at=occurred_at, created_at=now,
    )
    lookups.session.add(sale)
    lookups.sales[sale.external_id] = sale
    lookups.missing_sales.discard(sale.external_id)
    return sale, True


def search(session: Session, query: str, page: int, per_page: int = 50, owner_id: int | None = None):
    """One page of customers matching a free-text query on name, email, phone or id, newest first.

    Spelling variants match (ي/ی, ك/ک, diacritics, ZWNJ, digits of any script: customers/folding.py), and a
    query that reads as a phone number matches the stored number whatever its layout or prefix.

    The text is matched literally (a % or _ in it is no wildcard); InvalidSearch when it is too long or
    holds a control character.
    """
    query = query.strip()
    if len(query) > SEARCH_MAX_LENGTH:
        raise InvalidSearch(f"q: at most {SEARCH_MAX_LENGTH} characters")
    problem = bad_character(query)
    if problem:
        raise InvalidSearch(f"q: {problem}")
    stmt = select(Customer)
    folded = fold(query)
    if folded:
        matches = [Customer.search_text.like(like_pattern(folded), escape="\\")]
        digits = phone_query(query)
        if digits:
            matches.append(Customer.search_text.like(like_pattern(digits), escape="\\"))
        stmt = stmt.where(or_(*matches))
    if owner_id is not None:
        stmt = stmt.where(Customer.owner_id == owner_id)
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = session.scalars(stmt.order_by(Customer.created_at.desc(), Customer.id.desc())
                           .limit(per_page).offset((page - 1) * per_page)).all()
    return rows, total
