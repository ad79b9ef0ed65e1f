"""Print batches: queued letters taken into a batch, one PDF and a manifest written as it goes, then
printed, mailed, or returned to sender.
"""
from __future__ import annotations

import csv
import datetime as dt
import os
import re
from pathlib import Path

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, joinedload

import letters as generator
from retention.audit.service import record
from retention.customers.models import Customer
from retention.postal.models import (
    BUILDING, FAILED, MAILED, PRINTED, QUEUED, READY, RETURNED, Letter, LetterTemplate, PrintBatch,
)
from retention.postal.service import (
    NothingToPrint,
    Company, LetterError, current_limits, current_template, layout_error, letter_content,
)

# --- The manifest: a CSV opened in spreadsheet programs -------------------------------------------

# Characters that make a spreadsheet read a cell as a formula (OWASP "CSV injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Control characters (C0, DEL, C1: NUL among them) never belong in a name or an address.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_LINE_BREAKS = re.compile(r"[\t\n\r]+")


def manifest_cell(value) -> str:
    """A text cell that a spreadsheet shows as text: control characters removed (tabs and line breaks
    become a space), and a cell that starts like a formula gets a leading apostrophe (OWASP's rule)."""
    text = _LINE_BREAKS.sub(" ", _CONTROL.sub("", "" if value is None else str(value)))
    if text.lstrip(" ").startswith(_FORMULA_START):   # some programs trim leading spaces on import
        text = "'" + text
    return text


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


# Dates a batch filter may name: letters exist from this century on; far-off years are typos (and
# year 1 or 9999 cannot be shifted to UTC).
FILTER_DATES = (dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc), dt.datetime(2100, 1, 1, tzinfo=dt.timezone.utc))
_COUNTRY = re.compile(r"[A-Za-z]{2}")


def parse_filter_date(name: str, value: str) -> dt.datetime:
    """A date (or date and time) typed into a filter, as an aware datetime (UTC unless it names an offset)."""
    try:
        when = dt.datetime.fromisoformat(value.strip())
    except (ValueError, TypeError, AttributeError):
        raise LetterError(f"{name}: not a date (YYYY-MM-DD)") from None
    return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)


def check_filters(filters: dict) -> dict:
    """The filters of a new batch, checked field by field; LetterError naming the field."""
    from retention.postal.service import LANGUAGES, check_key

    clean = {k: v for k, v in filters.items() if v}
    if "template_key" in clean:
        try:
            check_key(clean["template_key"])
        except LetterError:
            raise LetterError("template_key: at most 60 characters, no NUL") from None
    if "country" in clean:
        if not isinstance(clean["country"], str) or not _COUNTRY.fullmatch(clean["country"]):
            raise LetterError("country: two letters (ISO 3166-1 alpha-2)")
        clean["country"] = clean["country"].upper()
    if "language" in clean and clean["language"] not in LANGUAGES:
        raise LetterError(f"language: one of {', '.join(LANGUAGES)}")
    for name in ("since", "until"):
        if name not in clean:
            continue
        if not isinstance(clean[name], dt.datetime) or clean[name].tzinfo is None:
            raise LetterError(f"{name}: must be a date")
        if not FILTER_DATES[0] <= clean[name] < FILTER_DATES[1]:
            raise LetterError(f"{name}: must be between {FILTER_DATES[0]:%Y} and {FILTER_DATES[1].year - 1}")
    return clean


def queued_count(session: Session, filters: dict) -> int:
    return session.scalar(select(func.count()).select_from(_queued(filters).subquery()))


def create_batch(session: Session, *, filters: dict, duplex: bool, actor: str, now: dt.datetime) -> PrintBatch:
    """Take the queued letters matching the filters into a new batch (each letter into one batch only)."""
    clean = check_filters(filters)
    ids = session.scalars(_queued(clean)).all()
    if not ids:
        raise NothingToPrint("filters: no queued letter matches")
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
    record(session, actor=actor, action="batch.created", entity_type="print_batch", entity_id=batch.id, now=now,
           changes={"letters": taken, "filters": stored_filters, "duplex": duplex})
    return batch


# A batch is (re)built while building (a lost job), ready (a reprint) or failed; once printed its
# letters have left the queue, and single letters are reprinted instead.
REBUILDABLE = (BUILDING, READY, FAILED)


def check_rebuildable(batch: PrintBatch) -> None:
    """LetterError unless the batch may be built again."""
    if batch.status not in REBUILDABLE:
        raise LetterError(f"batch: a {batch.status} batch is not rebuilt; reprint single letters instead")


def request_rebuild(session: Session, batch: PrintBatch, *, actor: str, now: dt.datetime) -> int:
    """Put the batch back to building (the caller queues the build after the commit); its letter count."""
    check_rebuildable(batch)
    batch.status = BUILDING
    record(session, actor=actor, action="batch.rebuild", entity_type="print_batch", entity_id=batch.id, now=now,
           changes={"letters": batch.total})
    return batch.total


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


_MAX_REWRITES = 3   # letters whose drawing fails before the batch is given up


def _fail(session: Session, batch_id: int, exc: BaseException) -> None:
    session.rollback()
    session.execute(update(PrintBatch).where(PrintBatch.id == batch_id).values(status=FAILED, error=str(exc)[:2000]))
    session.commit()


def _build(session: Session, batch_id: int, *, out_dir, company: Company, today: dt.date, now: dt.datetime,
           progress, progress_every: int) -> None:
    batch = session.get(PrintBatch, batch_id)
    if batch is None:
        raise LetterError("batch: no such batch")
    check_rebuildable(batch)
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
    limits = current_limits()
    left_out: list[dict] = []        # letters whose drawing failed: the file is written again without them
    for attempt in range(_MAX_REWRITES + 1):
        drawn: list[tuple | None] = []   # manifest facts of each letter drawn, by draw index
        pages: list[dict] = []           # first page and page count, written at the end
        skipped: list[dict] = list(left_out)   # letters taken out, with why
        counters = {"done": 0}

        def report():
            # A connection of its own: progress is visible to the page while the build goes on.
            with engine.begin() as conn:
                conn.execute(update(PrintBatch).where(PrintBatch.id == batch_id).values(
                    done=counters["done"], skipped=len(skipped)))

        def contents():
            for start in range(0, len(order), 200):
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
                        content = letter_content(letter, templates[key], company, today, limits)
                    except Exception as exc:  # noqa: BLE001 - one letter's failure takes out that letter only
                        skipped.append({"id": letter_id, "error": str(layout_error(exc))})
                        continue
                    c = letter.customer
                    drawn.append((letter_id, c.external_id, c.name,
                                  " / ".join([*(c.address_lines or []), f"{c.postal_code} {c.city}".strip()]),
                                  c.country or "", c.postal_code or ""))
                    yield content
                rows.clear()
                session.expunge_all()  # the chunk's objects go: memory stays flat

        # UTF-8 with a byte order mark: spreadsheet programs then read Arabic and Persian names correctly.
        with open(manifest_path, "w", newline="", encoding="utf-8-sig") as manifest_file:
            manifest = csv.writer(manifest_file)
            manifest.writerow(["letter", "customer", "name", "address", "country", "postal_code", "first_page",
                               "page_count"])

            def on_letter(index: int, entry) -> None:
                letter_id, *facts = drawn[index]
                drawn[index] = None  # used once: memory stays flat over tens of thousands of letters
                manifest.writerow([f"L-{letter_id:06d}", *map(manifest_cell, facts), entry.first_page,
                                   entry.page_count])
                pages.append({"id": letter_id, "first_page": entry.first_page, "page_count": entry.page_count})
                counters["done"] += 1
                if counters["done"] % progress_every == 0:
                    report()
                if progress:
                    progress(counters["done"] + len(skipped), total)

            def on_error(index: int, exc: Exception) -> None:
                # Laid out to more pages than allowed, or a QR link no code holds: out, with the reason.
                letter_id = drawn[index][0]
                drawn[index] = None
                skipped.append({"id": letter_id, "error": str(layout_error(exc))})
                if progress:
                    progress(counters["done"] + len(skipped), total)

            try:
                entries = generator.write_batch(contents(), pdf_path, duplex=duplex, total=total,
                                                on_letter=on_letter, on_error=on_error, max_pages=limits.pages)
                break
            except generator.LetterRenderError as exc:
                # Drawing failed half-way through a letter (layout succeeded): its pages cannot be taken
                # back out of the file, so the file is written again without that letter.
                failed = drawn[exc.index] if exc.index < len(drawn) else None
                if failed is None or attempt == _MAX_REWRITES:
                    _fail(session, batch_id, exc)
                    raise
                left_out.append({"id": failed[0], "error": str(layout_error(exc.__cause__ or exc))})
                order = [i for i in order if i != failed[0]]
                session.rollback()
                session.expunge_all()
            except Exception as exc:
                _fail(session, batch_id, exc)
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


def mark_printed(session: Session, batch: PrintBatch, now: dt.datetime, *, actor: str) -> int:
    """The mail room printed the batch: its letters move queued -> printed."""
    if batch.status != READY:
        raise LetterError(f"batch: only a ready batch can be marked printed (it is {batch.status})")
    batch.status, batch.printed_at = PRINTED, now
    n = session.execute(update(Letter).where(Letter.batch_id == batch.id, Letter.status == QUEUED)
                        .values(status=PRINTED, printed_at=now).execution_options(synchronize_session=False)).rowcount
    record(session, actor=actor, action="batch.printed", entity_type="print_batch", entity_id=batch.id, now=now,
           changes={"letters": n})
    return n


def mark_mailed(session: Session, batch: PrintBatch, now: dt.datetime, *, actor: str) -> int:
    """The batch went to the post: printed -> mailed."""
    if batch.status != PRINTED:
        raise LetterError(f"batch: only a printed batch can be marked mailed (it is {batch.status})")
    batch.status, batch.mailed_at = MAILED, now
    n = session.execute(update(Letter).where(Letter.batch_id == batch.id, Letter.status == PRINTED)
                        .values(status=MAILED, mailed_at=now).execution_options(synchronize_session=False)).rowcount
    record(session, actor=actor, action="batch.mailed", entity_type="print_batch", entity_id=batch.id, now=now,
           changes={"letters": n})
    return n


def record_returned(session: Session, letter: Letter, now: dt.datetime, *, actor: str) -> None:
    """Returned mail: the letter is marked, and the customer's address flagged for correction."""
    if letter.status not in (MAILED, PRINTED):
        raise LetterError(f"letter: only a mailed letter can come back (it is {letter.status})")
    letter.status, letter.returned_at = RETURNED, now
    letter.customer.address_flagged_at = now
    record(session, actor=actor, action="letter.returned", entity_type="letter", entity_id=letter.id, now=now)
