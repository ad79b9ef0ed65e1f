"""Letter templates (versioned, per language), queued letters and print batches."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from retention.extensions import db
from retention.types import UTCDateTime

QUEUED, PRINTED, MAILED, RETURNED = "queued", "printed", "mailed", "returned"
# Never posted: the customer opted out of letters while it waited, or after it was printed in a batch not mailed yet
# (its sheets are pulled from the stack: batches.cancel_unposted_letters, sheets_to_pull).
CANCELLED = "cancelled"
BUILDING, READY, FAILED = "building", "ready", "failed"
# Why a letter came back (returned mail); "other" needs a note.
RETURN_REASONS = ("moved", "unknown_address", "refused", "incomplete_address", "other")


class LetterTemplate(db.Model):
    """One version of a letter template in one language; an edit writes version + 1."""

    __tablename__ = "letter_templates"
    __table_args__ = (UniqueConstraint("key", "language", "version", name="uq_letter_templates_key_lang_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(60))
    language: Mapped[str] = mapped_column(String(10))
    version: Mapped[int] = mapped_column(default=1)
    is_current: Mapped[bool] = mapped_column(default=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text)
    closing: Mapped[str] = mapped_column(String(200), default="")
    qr_url: Mapped[str] = mapped_column(String(500), default="")   # a Jinja expression text, may be empty
    digits: Mapped[str] = mapped_column(String(10), default="latn")
    handwriting_signature: Mapped[bool] = mapped_column(default=True)
    # The calendar of the letter's dates: "gregorian"; Arabic templates may choose "hijri" (Umm al-Qura) or
    # "both" (letters/l10n.py CALENDARS). Persian letters are dated Solar Hijri whatever this says.
    calendar: Mapped[str] = mapped_column(String(10), default="gregorian", server_default="gregorian")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(120), default="system")
    # The staff member who saved this version (None: the seed or the system).
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), nullable=True)

    author = relationship("StaffUser")


class Letter(db.Model):
    """One personalized letter to post: queued -> printed -> mailed (or returned); queued -> cancelled."""

    __tablename__ = "letters"
    # batch_id is indexed where set: a letter is queued without one (migration d9b9c0a1e019).
    __table_args__ = (Index("ix_letters_status_created", "status", "created_at"),
                      Index("ix_letters_batch_id", "batch_id", postgresql_where=text("batch_id IS NOT NULL"),
                            sqlite_where=text("batch_id IS NOT NULL")))

    id: Mapped[int] = mapped_column(primary_key=True)
    touchpoint_id: Mapped[int | None] = mapped_column(ForeignKey("touchpoints.id"), unique=True, nullable=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    sale_id: Mapped[int | None] = mapped_column(ForeignKey("sales.id"), nullable=True)
    template_key: Mapped[str] = mapped_column(String(60))
    language: Mapped[str] = mapped_column(String(10), default="en")
    status: Mapped[str] = mapped_column(String(12), default=QUEUED)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("print_batches.id"), nullable=True)
    first_page: Mapped[int | None] = mapped_column(nullable=True)
    page_count: Mapped[int | None] = mapped_column(nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)   # why the last batch skipped it
    printed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    mailed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    returned_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Single-letter reprints from its row (a jammed or spoiled sheet): how many, and the last one.
    reprint_count: Mapped[int] = mapped_column(default=0, server_default="0")
    reprinted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)

    customer = relationship("Customer")
    sale = relationship("Sale")
    batch = relationship("PrintBatch", back_populates="letters")


class PrintBatch(db.Model):
    """One print run: a single PDF and a manifest CSV of the letters it holds, in mailing order."""

    __tablename__ = "print_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(12), default=BUILDING)
    filters: Mapped[dict] = mapped_column(JSON, default=dict)
    duplex: Mapped[bool] = mapped_column(default=False)
    total: Mapped[int] = mapped_column(default=0)
    done: Mapped[int] = mapped_column(default=0)
    skipped: Mapped[int] = mapped_column(default=0)
    pages: Mapped[int] = mapped_column(default=0)
    pdf_path: Mapped[str | None] = mapped_column(String(500), nullable=True)
    # The paper the whole PDF is printed on ("A4" or "LETTER"): one size per file, the sender's setting.
    paper: Mapped[str | None] = mapped_column(String(10), nullable=True)
    manifest_path: Mapped[str | None] = mapped_column(String(500), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    built_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    printed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    mailed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # When its build was last queued (None: the queue could not be reached, so nothing is building it).
    build_requested_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)

    letters: Mapped[list[Letter]] = relationship(back_populates="batch", order_by="Letter.first_page")


class ReturnedMail(db.Model):
    """A letter that came back to sender: why, who recorded it, the owner's call to fix the address, and
    whether it was undone (a return recorded by mistake). A letter sent again may come back again."""

    __tablename__ = "returned_mail"
    __table_args__ = (Index("ix_returned_mail_returned_at", "returned_at"),
                      Index("ix_returned_mail_reason_returned_at", "reason", "returned_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    letter_id: Mapped[int] = mapped_column(ForeignKey("letters.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    reason: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    previous_status: Mapped[str] = mapped_column(String(12))   # printed or mailed: what an undo restores
    returned_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    recorded_by: Mapped[str] = mapped_column(String(120))
    call_id: Mapped[int | None] = mapped_column(ForeignKey("touchpoints.id"), nullable=True)  # the fix-address call
    undone_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    undone_by: Mapped[str | None] = mapped_column(String(120), nullable=True)

    letter = relationship("Letter")
    customer = relationship("Customer")
