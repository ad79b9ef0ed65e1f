"""Complaint cases and what the five-step practice keeps about them.

A case moves new -> acknowledged -> investigating -> solution_offered -> verified -> closed; a case can be
reopened from solution_offered, verified or closed (back to investigating). Every change is a CaseChange row
(the customer's timeline) and an audit-log entry. Open means: not closed (OPEN_STATUSES). A case whose
solution is offered but whose verification call is still pending keeps survey and referral steps waiting.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from retention.extensions import db
from retention.types import Money, UTCDateTime

# Case statuses, in order.
NEW, ACKNOWLEDGED, INVESTIGATING, SOLUTION_OFFERED, VERIFIED, CLOSED = (
    "new", "acknowledged", "investigating", "solution_offered", "verified", "closed")
STATUSES = (NEW, ACKNOWLEDGED, INVESTIGATING, SOLUTION_OFFERED, VERIFIED, CLOSED)
OPEN_STATUSES = (NEW, ACKNOWLEDGED, INVESTIGATING, SOLUTION_OFFERED, VERIFIED)

CHANNELS = ("phone", "email", "social", "letter", "in_person", "chat")
SEVERITIES = ("low", "medium", "high", "critical")
# Where a case came from.
SOURCES = ("event", "staff", "call", "nps")  # helpdesk event, customer-page form, unhappy call, detractor answer
# Step 2: the customer types staff may set (customers.customer_type), the `customer_type` condition fact.
CUSTOMER_TYPES = ("meek", "aggressive", "high_roller", "rip_off", "chronic")
CONCESSION_KINDS = ("credit", "refund", "replacement")
CONCESSION_STATUSES = ("pending", "approved", "rejected")  # pending: above the requester's limit, an admin decides


class ComplaintCategory(db.Model):
    """A category admins edit, with its name and intake questions per staff language.

    names: {"en": "Delivery", "ar": "...", "fa": "..."}; questions: [{"key": "when", "text": {"en": ..., ...}}].
    """

    __tablename__ = "complaint_categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(60), unique=True)
    names: Mapped[dict] = mapped_column(JSON, default=dict)
    questions: Mapped[list] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(default=0)


class Complaint(db.Model):
    """A complaint case, from a helpdesk event, a person on the customer page, an unhappy call or a detractor."""

    __tablename__ = "complaints"
    __table_args__ = (Index("ix_complaints_customer_status", "customer_id", "status"),
                      Index("ix_complaints_status_due", "status", "resolution_due_at"),
                      Index("ix_complaints_category_opened", "category", "opened_at"),
                      # A verification call's outcome finds its case (complaints/resolution.py; migration d9b3).
                      Index("ix_complaints_verification", "verification_touchpoint_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    # The helpdesk's complaint id; cases opened here get "case-<uuid>" so the column stays unique.
    external_id: Mapped[str] = mapped_column(String(120), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    sale_id: Mapped[int | None] = mapped_column(ForeignKey("sales.id"), nullable=True)
    status: Mapped[str] = mapped_column(String(20), default=NEW)
    source: Mapped[str] = mapped_column(String(12), default="event")
    channel: Mapped[str] = mapped_column(String(20))
    category: Mapped[str] = mapped_column(String(120))  # ComplaintCategory.key (an unknown helpdesk key is kept)
    summary: Mapped[str] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(String(10), default="medium")
    public_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    # Step 1: {question key: answer} for the category's intake questions.
    answers: Mapped[dict] = mapped_column(JSON, default=dict)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), nullable=True, index=True)
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # Step 3: targets (business hours of the owner's calendar) and when they were met or breached.
    first_response_due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    resolution_due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    first_response_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    escalated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Step 4: the solution offered, and the verification call (an ad-hoc call touchpoint) that checks it.
    resolution: Mapped[str | None] = mapped_column(Text, nullable=True)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    verification_touchpoint_id: Mapped[int | None] = mapped_column(ForeignKey("touchpoints.id"), nullable=True)
    verified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reopened_count: Mapped[int] = mapped_column(default=0)
    # The touchpoint (call) this case was opened from, or the NPS answer for a recovery case.
    from_touchpoint_id: Mapped[int | None] = mapped_column(ForeignKey("touchpoints.id"), nullable=True)
    nps_answer_id: Mapped[int | None] = mapped_column(ForeignKey("nps_answers.id"), nullable=True)

    customer = relationship("Customer")
    owner = relationship("StaffUser")
    sale = relationship("Sale")
    changes: Mapped[list["CaseChange"]] = relationship(back_populates="case", order_by="CaseChange.at")
    concessions: Mapped[list["Concession"]] = relationship(back_populates="case", order_by="Concession.id")

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class CaseChange(db.Model):
    """One change of a case (status, owner, type, answers, solution...), shown on the customer's timeline."""

    __tablename__ = "complaint_changes"
    __table_args__ = (Index("ix_complaint_changes_case_at", "case_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(120))  # "staff:3", "event:42", "system"
    action: Mapped[str] = mapped_column(String(40))  # "status", "owner", "answers", "solution", "escalated", ...
    from_status: Mapped[str | None] = mapped_column(String(20), nullable=True)
    to_status: Mapped[str | None] = mapped_column(String(20), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)

    case: Mapped[Complaint] = relationship(back_populates="changes")


class Concession(db.Model):
    """A goodwill concession on a case, in the sale's currency; above the requester's limit an admin approves."""

    __tablename__ = "concessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(10))
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), nullable=True)
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), nullable=True)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)

    case: Mapped[Complaint] = relationship(back_populates="concessions")
    requested_by = relationship("StaffUser", foreign_keys=[requested_by_id])
    decided_by = relationship("StaffUser", foreign_keys=[decided_by_id])


class ComplaintNotice(db.Model):
    """An in-app notice to one person about a case (its owner and each admin when a target is missed), shown on
    My calls and the complaint queue until they mark it seen (retention/complaints/escalation.py)."""

    __tablename__ = "complaint_notices"
    __table_args__ = (Index("ix_complaint_notices_staff_seen", "staff_id", "seen_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    kind: Mapped[str] = mapped_column(String(20))  # "breach"
    target: Mapped[str] = mapped_column(String(20))  # "first_response" | "resolution": the target that was missed
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    seen_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)

    case: Mapped[Complaint] = relationship()
