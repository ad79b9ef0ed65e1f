"""Print batches: queued letters taken into a batch, one PDF and a manifest written as it goes, then
printed, mailed, or returned to sender.
"""
from __future__ import annotations

import csv
import datetime as dt
import os
from pathlib import Path

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, joinedload

import letters as generator
from retention.customers.models import Customer
from retention.letters_admin.models import (
    BUILDING, FAILED, MAILED, PRINTED, QUEUED, READY, RETURNED, Letter, LetterTemplate, PrintBatch,
)
from retention.letters_admin.service import Company, LetterError, current_template, letter_content

def _queued(filters: dict):
    stmt = select(Letter.id).join(Customer, Customer.id == Letter.customer_id).where(
        Letter.status == QUEUED, Letter.batch_id.is_(None))
    if filters.get("template_key"):
        stmt = stmt.where(Letter.template_key == filters["template_key"])
    if filters.get("country"):
        stmt = stmt.where(Customer.country == filters["country"].upper())
    if filters.get("language"):
        stmt = stmt.where(Letter.language == filters["language"])
    if filters.get("since"):
        stmt = stmt.where(Letter.created_at >= filters["since"])
    if filters.get("until"):
        stmt = stmt.where(Letter.created_at < filters["until"])
    return stmt


def queued_count(session: Session, filters: dict) -> int:
    return session.scalar(select(func.count()).select_from(_queued(filters).subquery()))


def create_batch(session: Session, *, filters: dict, duplex: bool, actor: str, now: dt.datetime) -> PrintBatch:
    """Take the queued letters matching the filters into a new batch (each letter into one batch only)."""
    clean = {k: v for k, v in filters.items() if v}
    for name in ("since", "until"):
        if name in clean and not isinstance(clean[name], dt.datetime):
            raise LetterError(f"{name}: must be a date")
    ids = session.scalars(_queued(clean)).all()
    if not ids:
        raise LetterError("filters: no queued letter matches")
    stored_filters = {k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in clean.items()}
    batch = PrintBatch(status=BUILDING, filters=stored_filters, duplex=duplex, total=0, created_by=actor,
                       created_at=now)
    session.add(batch)
    session.flush()
    taken = 0
    for start in range(0, len(ids), 1000):
        # Conditional: a letter another batch took a moment ago stays there.
        taken += session.execute(update(Letter).where(Letter.id.in_(ids[start:start + 1000]), Letter.batch_id.is_(None),
                                                      Letter.status == QUEUED)
                                 .values(batch_id=batch.id, error=None)
                                 .execution_options(synchronize_session=False)).rowcount
    if taken == 0:
        raise LetterError("filters: those letters were just taken by another batch")
    batch.total = taken
    return batch


def _mailing_order(session: Session, batch_id: int) -> list[int]:
    return session.scalars(select(Letter.id).join(Customer, Customer.id == Letter.customer_id)
                           .where(Letter.batch_id == batch_id)
                           .order_by(Customer.country, Customer.postal_code, Customer.name, Letter.id)).all()


def build_batch(session: Session, batch_id: int, *, out_dir: str | os.PathLike, company: Company, today: dt.date,
                now: dt.datetime, progress=None, progress_every: int = 50) -> PrintBatch:
    """Write the batch's PDF and manifest, letter after letter, in mailing order.

    Memory stays flat: letters are loaded a chunk at a time and the PDF is written as it goes. A letter
    whose template cannot render is taken out of the batch with the reason kept on it. Safe to run
    again (a reprint or a retried job): the files are rewritten from the same letters. Works in a
    session of its own, so the caller's objects are left alone.
    """
    caller = session
    caller.commit()
    session = Session(bind=caller.get_bind(), expire_on_commit=False)
    try:
        _build(session, batch_id, out_dir=out_dir, company=company, today=today, now=now, progress=progress,
               progress_every=progress_every)
    finally:
        session.close()
    batch = caller.get(PrintBatch, batch_id)
    caller.refresh(batch)
    return batch


def _build(session: Session, batch_id: int, *, out_dir, company: Company, today: dt.date, now: dt.datetime,
           progress, progress_every: int) -> None:
    batch = session.get(PrintBatch, batch_id)
    if batch is None:
        raise LetterError("batch: no such batch")
    if batch.status not in (BUILDING, READY, FAILED):
        raise LetterError(f"batch: a {batch.status} batch is not rebuilt")
    batch.status, batch.done, batch.skipped, batch.error = BUILDING, 0, 0, None
    duplex = batch.duplex
    session.commit()
    engine = session.get_bind()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    pdf_path, manifest_path = out / f"batch-{batch_id:05d}.pdf", out / f"batch-{batch_id:05d}.csv"
    order = _mailing_order(session, batch_id)
    total = len(order)
    templates: dict[tuple[str, str], LetterTemplate | None] = {}
    drawn: list[tuple] = []          # manifest facts of each letter drawn, by draw index
    pages: list[dict] = []           # first page and page count, written at the end
    skipped: list[dict] = []         # letters taken out, with why
    counters = {"done": 0}

    def report():
        # A connection of its own: progress is visible to the page while the build goes on.
        with engine.begin() as conn:
            conn.execute(update(PrintBatch).where(PrintBatch.id == batch_id).values(
                done=counters["done"], skipped=len(skipped)))

    def contents():
        for start in range(0, total, 200):
            chunk_ids = order[start:start + 200]
            rows = {l.id: l for l in session.scalars(
                select(Letter).where(Letter.id.in_(chunk_ids)).options(
                    joinedload(Letter.customer).joinedload(Customer.owner), joinedload(Letter.sale)))}
            for letter_id in chunk_ids:
                letter = rows[letter_id]
                key = (letter.template_key, letter.language)
                if key not in templates:
                    templates[key] = current_template(session, *key)
                try:
                    if templates[key] is None:
                        raise LetterError(f"template: no template {letter.template_key!r}")
                    content = letter_content(letter, templates[key], company, today)
                except LetterError as exc:
                    skipped.append({"id": letter_id, "error": str(exc)})
                    continue
                c = letter.customer
                drawn.append((letter_id, c.external_id, c.name,
                              " / ".join([*(c.address_lines or []), f"{c.postal_code} {c.city}".strip()]),
                              c.country or "", c.postal_code or ""))
                yield content
            rows.clear()
            session.expunge_all()  # the chunk's objects go: memory stays flat

    with open(manifest_path, "w", newline="", encoding="utf-8") as manifest_file:
        manifest = csv.writer(manifest_file)
        manifest.writerow(["letter", "customer", "name", "address", "country", "postal_code", "first_page",
                           "page_count"])

        def on_letter(index: int, entry) -> None:
            letter_id, *facts = drawn[index]
            drawn[index] = None  # used once: memory stays flat over tens of thousands of letters
            manifest.writerow([f"L-{letter_id:06d}", *facts, entry.first_page, entry.page_count])
            pages.append({"id": letter_id, "first_page": entry.first_page, "page_count": entry.page_count})
            counters["done"] += 1
            if counters["done"] % progress_every == 0:
                report()
            if progress:
                progress(counters["done"] + len(skipped), total)

        try:
            entries = generator.write_batch(contents(), pdf_path, duplex=duplex, total=total, on_letter=on_letter)
        except Exception as exc:
            session.rollback()
            session.execute(update(PrintBatch).where(PrintBatch.id == batch_id).values(status=FAILED, error=str(exc)))
            session.commit()
            raise
    session.rollback()  # end the long read; the writes below start fresh
    for start in range(0, len(pages), 1000):
        session.execute(update(Letter), pages[start:start + 1000])
    for item in skipped:  # back in the queue, with the reason
        session.execute(update(Letter).where(Letter.id == item["id"]).values(error=item["error"], batch_id=None))
    batch = session.get(PrintBatch, batch_id)
    batch.status, batch.done, batch.skipped = READY, counters["done"], len(skipped)
    batch.total = counters["done"]
    batch.pages = (entries[-1].first_page + entries[-1].page_count - 1 + int(entries[-1].blank_back_added)
                   if entries else 0)
    batch.pdf_path, batch.manifest_path, batch.built_at = str(pdf_path), str(manifest_path), now
    session.commit()
    if progress:
        progress(total, total)


def mark_printed(session: Session, batch: PrintBatch, now: dt.datetime) -> int:
    """The mail room printed the batch: its letters move queued -> printed."""
    if batch.status != READY:
        raise LetterError(f"batch: only a ready batch can be marked printed (it is {batch.status})")
    batch.status, batch.printed_at = PRINTED, now
    return session.execute(update(Letter).where(Letter.batch_id == batch.id, Letter.status == QUEUED)
                           .values(status=PRINTED, printed_at=now).execution_options(synchronize_session=False)).rowcount


def mark_mailed(session: Session, batch: PrintBatch, now: dt.datetime) -> int:
    """The batch went to the post: printed -> mailed."""
    if batch.status != PRINTED:
        raise LetterError(f"batch: only a printed batch can be marked mailed (it is {batch.status})")
    batch.status, batch.mailed_at = MAILED, now
    return session.execute(update(Letter).where(Letter.batch_id == batch.id, Letter.status == PRINTED)
                           .values(status=MAILED, mailed_at=now).execution_options(synchronize_session=False)).rowcount


def record_returned(session: Session, letter: Letter, now: dt.datetime) -> None:
    """Returned mail: the letter is marked, and the customer's address flagged for correction."""
    if letter.status not in (MAILED, PRINTED):
        raise LetterError(f"letter: only a mailed letter can come back (it is {letter.status})")
    letter.status, letter.returned_at = RETURNED, now
    letter.customer.address_flagged_at = now
