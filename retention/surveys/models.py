"""Surveys sent to customers (by email or on paper) and the NPS answers they give."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from retention.extensions import db
from retention.types import UTCDateTime

# A survey's life: to_send (a journey step asked for it) -> sent (email queued, or letter queued) -> answered
# (a score came in; it may change until the survey closes) -> closed (SURVEY_OPEN_DAYS after sending, or at
# once when it is skipped). skipped: not sent, with `reason` (cooldown, opted out of every channel, no address).
TO_SEND, SENT, ANSWERED, CLOSED, SKIPPED = "to_send", "sent", "answered", "closed", "skipped"
STATUSES = (TO_SEND, SENT, ANSWERED, CLOSED, SKIPPED)
OPEN_STATUSES = (SENT, ANSWERED)  # the link works (until closes_at)
CHANNELS = ("email", "letter")
STEP_CHANNELS = ("auto", "email", "letter")  # a survey step's choice; auto: email when we may, else a letter


class Survey(db.Model):
    """An NPS survey a touchpoint asked for, sent by email or on a letter; answered through its own link.

    The link's token is never stored: `token_hash` is its sha256 (looked up on each visit) and `token_nonce` the
    random 128 bits it is derived from with the app's secret (surveys/tokens.py), so a letter printed later, or
    reprinted, carries the same link without the token being kept anywhere.
    """

    __tablename__ = "surveys"
    # ix_surveys_customer_sent also serves lookups by customer alone; letter_id is indexed where set (most surveys
    # go by email): fewer index entries for each survey the tick hands out (migration d9b9c0a1e019).
    __table_args__ = (Index("ix_surveys_status_closes", "status", "closes_at"),
                      Index("ix_surveys_customer_sent", "customer_id", "sent_at"),
                      Index("ix_surveys_letter_id", "letter_id", postgresql_where=text("letter_id IS NOT NULL"),
                            sqlite_where=text("letter_id IS NOT NULL")))

    id: Mapped[int] = mapped_column(primary_key=True)
    touchpoint_id: Mapped[int | None] = mapped_column(ForeignKey("touchpoints.id"), unique=True, nullable=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    status: Mapped[str] = mapped_column(String(12), default=TO_SEND)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    sale_id: Mapped[int | None] = mapped_column(ForeignKey("sales.id"), nullable=True)
    # The step's choice (auto/email/letter) and the channel it went by.
    wanted_channel: Mapped[str] = mapped_column(String(10), default="auto", server_default="auto")
    channel: Mapped[str | None] = mapped_column(String(10), nullable=True)
    token_nonce: Mapped[str | None] = mapped_column(String(64), nullable=True)
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closes_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reason: Mapped[str | None] = mapped_column(String(40), nullable=True)  # why skipped (REASONS in labels.py)
    email_id: Mapped[int | None] = mapped_column(ForeignKey("outbound_emails.id"), nullable=True)
    letter_id: Mapped[int | None] = mapped_column(ForeignKey("letters.id"), nullable=True)
    letter_template: Mapped[str | None] = mapped_column(String(60), nullable=True)

    customer = relationship("Customer")
    sale = relationship("Sale")


class NpsAnswer(db.Model):
    """A score from 0 to 10 a customer gave, by survey link, letter QR code or another system.

    One answer per survey (`survey_id` unique): answering again before the survey closes updates it, so the last
    answer stands. `followed_up_at`: when the loop was closed for it (recovery case, call); `follow_up_due_at`: a
    score recorded by a link click alone is followed up once it has settled (a mail scanner opening every link
    must not open cases), a score sent with the form at once.
    """

    __tablename__ = "nps_answers"
    __table_args__ = (Index("ix_nps_answers_customer_at", "customer_id", "answered_at"),
                      Index("ix_nps_answers_follow_up", "followed_up_at", "follow_up_due_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    score: Mapped[int]
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    answered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(20), default="event")
    event_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_events.id"), unique=True, nullable=True)
    survey_id: Mapped[int | None] = mapped_column(ForeignKey("surveys.id"), unique=True, nullable=True)
    first_answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    follow_up_due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    followed_up_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    call_id: Mapped[int | None] = mapped_column(ForeignKey("touchpoints.id"), nullable=True)

    customer = relationship("Customer")
    survey = relationship("Survey")


def nps_category(score: int | None) -> str | None:
    """9-10 promoter, 7-8 passive, 0-6 detractor."""
    if score is None:
        return None
    return "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"
