"""Customer and sale records."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from retention.extensions import db
from retention.types import Money, UTCDateTime, utcnow


# Forms of address a letter's greeting follows (letters/l10n.py greeting has a pattern for each); "neutral":
# greet by the full name, no title.
FORMS_OF_ADDRESS = ("mr", "ms", "neutral")


class Customer(db.Model):
    """A customer, keyed by the sender's id (`external_id`)."""

    __tablename__ = "customers"
    __table_args__ = (Index("ix_customers_name", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(120), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    # Name, email, id and phone digits folded for search (customers/folding.py): written with the details.
    search_text: Mapped[str] = mapped_column(String(700), default="", server_default="")
    email: Mapped[str | None] = mapped_column(String(254), nullable=True, index=True)
    phone: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    locale: Mapped[str] = mapped_column(String(10), default="en")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    address_lines: Mapped[list] = mapped_column(JSON, default=list)
    city: Mapped[str] = mapped_column(String(120), default="")
    region: Mapped[str] = mapped_column(String(120), default="")
    postal_code: Mapped[str] = mapped_column(String(20), default="")
    country: Mapped[str | None] = mapped_column(String(2), nullable=True)
    # How letters greet the customer: FORMS_OF_ADDRESS ("mr", "ms", "neutral"); None = not known (the neutral
    # greeting with the full name). From events' customer object or staff on the customer page.
    form_of_address: Mapped[str | None] = mapped_column(String(10), nullable=True)
    # occurred_at of the newest event applied to these fields: an older event arriving late loses.
    source_updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    address_flagged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # A call ended "wrong number": the phone needs correcting (customers/service.py correct_contact clears it).
    phone_flagged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Fields staff corrected: {"phone" | "address" | "locale" | "timezone" | "form_of_address": {"at", "by",
    # "replaced"}}. An inbound event older than the correction, or repeating the value it replaced, leaves the
    # field alone (upsert_customer).
    corrections: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    churned_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Never reached by phone and never answered a survey: silence is not satisfaction.
    silent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), nullable=True, index=True)
    # Complaints step 2: the type staff set (complaints.models.CUSTOMER_TYPES), the `customer_type` fact.
    customer_type: Mapped[str | None] = mapped_column(String(20), nullable=True)
    customer_type_set_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    customer_type_set_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    sales: Mapped[list["Sale"]] = relationship(back_populates="customer", order_by="Sale.sold_at")
    owner = relationship("StaffUser", foreign_keys=[owner_id])


class Sale(db.Model):
    """A completed sale, keyed by the sender's sale id."""

    __tablename__ = "sales"
    # Where a purchase stands among the business's sales in its currency (complaints/types.py: top tenth): the
    # counts read this index alone, not the table.
    __table_args__ = (Index("ix_sales_currency_amount", "currency", "amount"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(120), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    product: Mapped[str] = mapped_column(String(200))
    category: Mapped[str | None] = mapped_column(String(120), nullable=True)
    referral_code: Mapped[str | None] = mapped_column(String(40), nullable=True)
    sold_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    refunded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    refund_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    customer: Mapped[Customer] = relationship(back_populates="sales")
