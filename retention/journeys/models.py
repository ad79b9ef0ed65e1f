"""Journeys (versioned playbooks), their steps, enrollments and the touchpoints they plan."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from retention.extensions import db
from retention.types import UTCDateTime

STEP_KINDS = ("call", "nps_survey", "letter", "referral_offer", "email")
# Kinds a step may name but nothing carries out yet: new steps refuse them, the hand-out skips stored ones.
# (Email steps are built: retention/postal/email_step.py sends a letter template as an email through retention/mail.)
NOT_BUILT_KINDS: tuple[str, ...] = ()
ANCHORS = ("sale", "delivery")

# Touchpoint statuses
SCHEDULED = "scheduled"    # planned, not yet due (or due and not yet handed out)
OPEN = "open"              # a call handed to its owner's queue, waiting for an outcome
HANDED = "handed"          # a survey/letter/offer/email work row was created for it
DONE = "done"              # a call with a final outcome
SKIPPED = "skipped"        # not done, with a reason (late enrollment, condition false, by staff)
CANCELLED = "cancelled"    # the journey was exited (refund, churn) or moved to a new version
PAUSED_TP = "paused"       # its enrollment is paused; resumes shifted by the pause length
CLAIMING = "claiming"      # being handed out by a tick (only inside that tick's transaction)
# Still to happen: keeps its enrollment from completing; staff may skip or reassign it.
PENDING = (SCHEDULED, OPEN, PAUSED_TP)
# Every status a touchpoint shows outside a tick (CLAIMING lives only inside one transaction).
STATUSES = (SCHEDULED, OPEN, HANDED, DONE, SKIPPED, CANCELLED, PAUSED_TP)

# Why a touchpoint was skipped, kept as data (its `reason` is the text shown, rendered from it)
ENROLLED_LATE = "enrolled_late"   # already past when the customer was enrolled (or the delivery re-anchored it)


def late_reason(due: dt.datetime) -> str:
    """The text shown for a step skipped because the customer was enrolled after it was due."""
    return f"enrolled late: was due {due:%Y-%m-%d}"


# Enrollment statuses
ACTIVE, PAUSED, COMPLETED, EXITED = "active", "paused", "completed", "exited"

# Why a new customer's owner does not speak their language (Enrollment.owner_fallback)
NO_SPEAKER = "no_speaker"   # no active onboarding person speaks it
NO_ROOM = "no_room"         # those who speak it were full on the day of the first call
NO_HOURS = "no_hours"       # the working hours of those who speak it never meet the customer's calling window
OWNER_FALLBACKS = (NO_SPEAKER, NO_ROOM, NO_HOURS)


class Journey(db.Model):
    """One version of a playbook; an edit writes a new row with the same key and version + 1."""

    __tablename__ = "journeys"
    __table_args__ = (UniqueConstraint("key", "version", name="uq_journeys_key_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(60))
    version: Mapped[int] = mapped_column(default=1)
    is_current: Mapped[bool] = mapped_column(default=True)
    name: Mapped[str] = mapped_column(String(200))
    trigger: Mapped[str] = mapped_column(String(40), default="sale.completed")
    anchor: Mapped[str] = mapped_column(String(20), default="sale")
    exit_events: Mapped[list] = mapped_column(JSON, default=lambda: ["sale.refunded", "customer.churned"])
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(120), default="system")
    # The staff member who saved this version (None: the seed, the system or an API client without a person).
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), nullable=True)

    author = relationship("StaffUser")
    steps: Mapped[list["JourneyStep"]] = relationship(back_populates="journey", order_by="JourneyStep.position",
                                                      cascade="all, delete-orphan")


class JourneyStep(db.Model):
    """A step: what to do (kind), when (day offset from the anchor, in a local window), and if (condition)."""

    __tablename__ = "journey_steps"
    __table_args__ = (UniqueConstraint("journey_id", "key", name="uq_journey_steps_journey_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    journey_id: Mapped[int] = mapped_column(ForeignKey("journeys.id"))
    key: Mapped[str] = mapped_column(String(60))
    position: Mapped[int] = mapped_column(default=0)
    title: Mapped[str] = mapped_column(String(200), default="")
    day_offset: Mapped[int] = mapped_column(default=0)
    kind: Mapped[str] = mapped_column(String(20))
    window_start: Mapped[str] = mapped_column(String(5), default="10:00")
    window_end: Mapped[str] = mapped_column(String(5), default="18:00")
    business_days: Mapped[bool] = mapped_column(default=True)
    condition: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    # What the caller says, per language read aloud ({"en": ..., "ar": ..., "fa": ...}); see script_for.
    scripts: Mapped[dict] = mapped_column(JSON, default=dict)
    template_key: Mapped[str | None] = mapped_column(String(60), nullable=True)
    # An NPS survey step's channel: auto (email when we may, else a letter), email or letter (surveys feature).
    channel: Mapped[str | None] = mapped_column(String(10), nullable=True)

    journey: Mapped[Journey] = relationship(back_populates="steps")

    @property
    def script(self) -> str:
        """The English script (the single `script` of old steps and API clients)."""
        return (self.scripts or {}).get("en", "")

    @script.setter
    def script(self, text: str) -> None:
        scripts = {k: v for k, v in (self.scripts or {}).items() if k != "en"}
        self.scripts = {"en": text, **scripts} if text else scripts

    def script_for(self, language: str | None) -> tuple[str, str]:
        """(language, script) to read to a customer speaking `language`: theirs, else English, else any."""
        scripts = {k: v for k, v in (self.scripts or {}).items() if isinstance(v, str) and v.strip()}
        language = (language or "en").replace("_", "-").split("-")[0].lower()
        for lang in (language, "en"):
            if lang in scripts:
                return lang, scripts[lang]
        for lang in sorted(scripts):
            return lang, scripts[lang]
        return "", ""


class Enrollment(db.Model):
    """A customer on a journey version, counted from an anchor (the sale or its delivery)."""

    __tablename__ = "enrollments"
    __table_args__ = (Index("ix_enrollments_customer_status", "customer_id", "status"),
                      Index("ix_enrollments_journey_status", "journey_id", "status"),
                      # the load report counts customers given to someone who does not speak their language
                      Index("ix_enrollments_owner_fallback", "owner_fallback", "assigned_owner_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    sale_id: Mapped[int | None] = mapped_column(ForeignKey("sales.id"), nullable=True, index=True)
    journey_id: Mapped[int] = mapped_column(ForeignKey("journeys.id"))
    status: Mapped[str] = mapped_column(String(12), default=ACTIVE)
    anchor_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    enrolled_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    paused_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    exit_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # Who was given the customer when this enrollment chose their owner (None: the customer had one already),
    # and, when that owner does not speak the customer's language, which language and why (OWNER_FALLBACKS).
    assigned_owner_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), nullable=True)
    owner_language: Mapped[str | None] = mapped_column(String(10), nullable=True)
    owner_fallback: Mapped[str | None] = mapped_column(String(12), nullable=True)

    journey: Mapped[Journey] = relationship()
    customer = relationship("Customer")
    sale = relationship("Sale")
    assigned_owner = relationship("StaffUser")
    touchpoints: Mapped[list["Touchpoint"]] = relationship(back_populates="enrollment",
                                                           order_by="Touchpoint.due_at")


class Touchpoint(db.Model):
    """One planned contact: a row per (enrollment, step), with when it is due and what became of it."""

    __tablename__ = "touchpoints"
    __table_args__ = (
        UniqueConstraint("enrollment_id", "step_id", name="uq_touchpoints_enrollment_step"),
        # A journey step's touchpoint, or an ad-hoc call a person opened (retention/calls/adhoc.py): no
        # enrollment or step, a purpose, and never "scheduled" (the tick's hand-out is for journey steps only).
        CheckConstraint("(enrollment_id IS NOT NULL AND step_id IS NOT NULL AND purpose IS NULL) OR "
                        "(enrollment_id IS NULL AND step_id IS NULL AND purpose IS NOT NULL AND kind = 'call' "
                        "AND status IN ('open', 'done', 'skipped'))",
                        name="step_or_adhoc"),
        Index("ix_touchpoints_due", "status", "due_at"),
        Index("ix_touchpoints_owner_due", "owner_id", "due_at"),
        Index("ix_touchpoints_customer", "customer_id", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Both empty for an ad-hoc call (see the check above); then `purpose` says why it exists.
    enrollment_id: Mapped[int | None] = mapped_column(ForeignKey("enrollments.id"), nullable=True)
    step_id: Mapped[int | None] = mapped_column(ForeignKey("journey_steps.id"), nullable=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    kind: Mapped[str] = mapped_column(String(20))
    purpose: Mapped[str | None] = mapped_column(String(40), nullable=True)  # ad-hoc calls: calls.adhoc.PURPOSES
    note: Mapped[str | None] = mapped_column(Text, nullable=True)  # ad-hoc calls: what the person who opened it wrote
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(12), default=SCHEDULED)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), nullable=True)
    attempts: Mapped[int] = mapped_column(default=0)
    outcome: Mapped[str | None] = mapped_column(String(20), nullable=True)
    reason: Mapped[str | None] = mapped_column(String(300), nullable=True)
    reason_code: Mapped[str | None] = mapped_column(String(20), nullable=True)  # ENROLLED_LATE, else None
    handed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # When a person set this call's time (a call-back the customer asked for, a snooze, a reschedule):
    # automated re-plans (journey edits, delivery re-anchor, resume) keep that time.
    held_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The status it had when its enrollment was paused, restored on resume (an open call goes back open).
    paused_from: Mapped[str | None] = mapped_column(String(12), nullable=True)
    # A call its owner could not take because they were away (retention/journeys/cover.py): the absent owner,
    # shown on the card and the timeline ("covering for ..."), and when a colleague took it over.
    covering_for_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), nullable=True)
    covered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)

    enrollment: Mapped[Enrollment | None] = relationship(back_populates="touchpoints")
    step: Mapped[JourneyStep | None] = relationship()
    customer = relationship("Customer")
    owner = relationship("StaffUser", foreign_keys=[owner_id])
    covering_for = relationship("StaffUser", foreign_keys=[covering_for_id])


class RoundRobin(db.Model):
    """Who got the last new customer, so the next goes to the next person."""

    __tablename__ = "round_robin"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_staff_id: Mapped[int] = mapped_column(default=0)


class HandedWork(db.Model):
    """A handed-out touchpoint whose work row (survey, letter, offer, email) is still to be written.

    The hand-out writes one of these in the transaction that sets the touchpoint `handed`, and
    `handout.write_handed_work` turns them into their kind's work rows in later, bounded transactions (the tick
    writes some, the `jobs.handout.write_work` job the rest), deleting each in the transaction that writes its
    work. A queue, not a record: a row lives until the next write, so it carries no foreign key (the check would
    cost the hand-out as much as the row itself; touchpoints are never deleted).
    """

    __tablename__ = "handed_work"

    touchpoint_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(20))
    handed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
