"""Print batches: queued letters taken into a batch, one PDF and a manifest written as it goes, then
printed, mailed, or returned to sender.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
from pathlib import Path

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session, joinedload

import letters as generator
from retention.audit.service import record
from retention.customers.models import Customer
from retention.mail.models import CustomerOptOut
from retention.postal.labels import BATCH_STATUS, FIELD, LETTER_STATUS
from retention.postal.models import (
    BUILDING, CANCELLED, FAILED, MAILED, PRINTED, QUEUED, READY, RETURN_REASONS, RETURNED, Letter, LetterTemplate,
    PrintBatch, ReturnedMail,
)
from retention.postal.service import (
    N_, NothingToPrint,
    Company, LetterConflict, LetterError, current_limits, current_template, layout_error, letter_content,
    letter_links_for, template_source,
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


# The manifest's columns, as the build writes them (machine keys; the batch page's download shows them in the
# reader's words: labels.MANIFEST_HEADER). The download adds PULL_COLUMN at the end (manifest_download).
MANIFEST_COLUMNS = ("letter", "customer", "name", "template", "language", "paper", "sheets", "address", "country",
                    "postal_code", "first_page", "page_count")
PULL_COLUMN = "pull"
# Why a letter laid out in a batch is cancelled since: the one reason there is (cancel_unposted_letters).
OPTED_OUT = "opted_out"
_MANIFEST_CHUNK = 500   # lines written to the download at a time


class ManifestDownload:
    """The manifest as downloaded: the file written when the batch was laid out, read line by line, with PULL_COLUMN
    added at the end of each line (empty, or why the letter's sheet is to be pulled: it was cancelled after the
    layout). A response body: iterate for the bytes (UTF-8 with a BOM, as the file), `close()` at the end."""

    def __init__(self, path: str, pulls: dict[int, str], headers: dict | None, reasons: dict | None):
        self._file = open(path, encoding="utf-8-sig", newline="")   # opened now: a missing file fails before the answer
        self._pulls, self._headers, self._reasons = pulls, headers, reasons

    def __iter__(self):
        buffer = io.StringIO()
        out = csv.writer(buffer)
        yield "\ufeff".encode()
        for number, row in enumerate(csv.reader(self._file)):
            if number == 0:
                names = [*row, PULL_COLUMN]
                out.writerow([manifest_cell(self._headers.get(name, name)) for name in names] if self._headers
                             else names)
            else:
                reason = self._pulls.get(_letter_number(row[0] if row else ""))
                text = (self._reasons or {}).get(reason, reason) if reason else ""
                out.writerow([*row, manifest_cell(text)])
            if number % _MANIFEST_CHUNK == 0:
                yield buffer.getvalue().encode()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue().encode()
        self.close()

    def close(self) -> None:
        self._file.close()


def _letter_number(reference: str) -> int | None:
    """The letter id of a manifest reference ("L-000123")."""
    digits = reference[2:] if reference.startswith("L-") else ""
    return int(digits) if digits.isdigit() else None


def _laid_out_and_cancelled(batch_id: int) -> tuple:
    """The letters laid out in the batch's files and cancelled since: their sheets are not to be posted."""
    return Letter.batch_id == batch_id, Letter.status == CANCELLED, Letter.first_page.is_not(None)


def sheets_cancelled(session: Session, batch: PrintBatch) -> dict[int, str]:
    """Letter id -> why, for each letter laid out in the batch's file and cancelled since (its sheet is not to be
    posted); one query."""
    return {letter_id: OPTED_OUT
            for letter_id in session.scalars(select(Letter.id).where(*_laid_out_and_cancelled(batch.id)))}


def manifest_download(session: Session, batch: PrintBatch, *, headers: dict | None = None,
                      reasons: dict | None = None) -> ManifestDownload:
    """The batch's manifest with the sheets to pull marked on their lines (PULL_COLUMN). `headers`: the column keys
    in the reader's words (None: the keys, as the API gives them); `reasons`: a reason key in the reader's words
    (None: the key, e.g. "opted_out"). The letters are read now; the file as the answer is sent. A file no longer
    on disk: BatchFileMissing (missing_file)."""
    pulls = sheets_cancelled(session, batch)
    try:
        return ManifestDownload(batch.manifest_path, pulls, headers, reasons)
    except MISSING_ON_DISK:
        raise missing_file(batch, "manifest") from None


# --- The files of a laid-out batch, gone from disk ---------------------------------------------------------

# What opening a batch's file raises when it is not where the build wrote it (the disk cleaned, the files left on
# another machine): every door that sends one answers with missing_file's message instead of an error page.
MISSING_ON_DISK = (FileNotFoundError, NotADirectoryError, IsADirectoryError)


class BatchFileMissing(LetterConflict):
    """The batch's PDF or manifest is no longer on disk (409; the message names the file: "pdf" or "manifest")."""

    def __init__(self, message: str, kind: str, **params):
        super().__init__(message, **params)
        self.kind = kind


_MISSING = {  # (file, whether the batch may be laid out again) -> what to do
    ("pdf", True): N_("pdf: the PDF of this batch is no longer on disk; lay the batch out again"),
    ("manifest", True): N_("manifest: the manifest of this batch is no longer on disk; lay the batch out again"),
    ("pdf", False): N_("pdf: the PDF of this batch is no longer on disk; the batch has been printed, so it is not "
                       "laid out again: reprint a spoiled sheet from its letter's row"),
    ("manifest", False): N_("manifest: the manifest of this batch is no longer on disk; the batch has been printed, "
                            "so it is not laid out again: its letters are listed on the batch's page"),
}


def missing_file(batch: PrintBatch, kind: str) -> BatchFileMissing:
    """The refusal for a batch whose PDF or manifest (`kind`) is gone: lay the batch out again where its state allows
    it (a ready batch: the rebuild action writes both files again), else what to do without the file."""
    return BatchFileMissing(_MISSING[kind, batch.status in REBUILDABLE], kind)


def _queued(filters: dict):
    # Never a letter to a customer who opted out of letters (those are cancelled when they opt out: a guard).
    opted_out = select(CustomerOptOut.id).where(CustomerOptOut.customer_id == Letter.customer_id,
                                                CustomerOptOut.channel == "letter").exists()
    stmt = select(Letter.id).join(Customer, Customer.id == Letter.customer_id).where(
        Letter.status == QUEUED, Letter.batch_id.is_(None), ~opted_out)
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
        raise LetterError(N_("%(field)s: not a date (YYYY-MM-DD)"), labels={"field": FIELD},
                          field=name) from None
    return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)


def check_filters(filters: dict) -> dict:
    """The filters of a new batch, checked field by field; LetterError naming the field."""
    from retention.postal.service import LANGUAGES, check_key

    clean = {k: v for k, v in filters.items() if v}
    if "template_key" in clean:
        try:
            check_key(clean["template_key"])
        except LetterError:
            raise LetterError(N_("template_key: at most 60 characters, no NUL")) from None
    if "country" in clean:
        if not isinstance(clean["country"], str) or not _COUNTRY.fullmatch(clean["country"]):
            raise LetterError(N_("country: two letters (ISO 3166-1 alpha-2)"))
        clean["country"] = clean["country"].upper()
    if "language" in clean and clean["language"] not in LANGUAGES:
        raise LetterError(N_("language: one of %(languages)s"), languages=", ".join(LANGUAGES))
    for name in ("since", "until"):
        if name not in clean:
            continue
        if not isinstance(clean[name], dt.datetime) or clean[name].tzinfo is None:
            raise LetterError(N_("%(field)s: must be a date"), labels={"field": FIELD}, field=name)
        if not FILTER_DATES[0] <= clean[name] < FILTER_DATES[1]:
            raise LetterError(N_("%(field)s: must be between %(first)d and %(last)d"),
                              labels={"field": FIELD}, field=name,
                              first=FILTER_DATES[0].year, last=FILTER_DATES[1].year - 1)
    return clean


def queued_count(session: Session, filters: dict) -> int:
    return session.scalar(select(func.count()).select_from(_queued(filters).subquery()))


def create_batch(session: Session, *, filters: dict, duplex: bool, actor: str, now: dt.datetime) -> PrintBatch:
    """Take the queued letters matching the filters into a new batch (each letter into one batch only)."""
    clean = check_filters(filters)
    ids = session.scalars(_queued(clean)).all()
    if not ids:
        raise NothingToPrint(N_("filters: no queued letter matches"))
    stored_filters = {k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in clean.items()}
    batch = PrintBatch(status=BUILDING, filters=stored_filters, duplex=duplex, total=0, created_by=actor,
                       created_at=now, build_requested_at=now)
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
        raise LetterConflict(N_("filters: those letters were just taken by another batch"))
    batch.total = taken
    record(session, actor=actor, action="batch.created", entity_type="print_batch", entity_id=batch.id, now=now,
           changes={"letters": taken, "filters": stored_filters, "duplex": duplex})
    return batch


# A batch is (re)built while building (a lost job), ready (a reprint) or failed; once printed its
# letters have left the queue, and single letters are reprinted instead (reprint_letter).
REBUILDABLE = (BUILDING, READY, FAILED)
# A build queued this long ago and still not finished is taken as lost (its worker died): it may be started
# again. A build that was never queued (the queue was unreachable) may be started at once.
BUILD_STALLED_AFTER = dt.timedelta(minutes=10)


def check_rebuildable(batch: PrintBatch) -> None:
    """LetterConflict unless the batch may be built again (the build job's own check)."""
    if batch.status not in REBUILDABLE:
        raise LetterConflict(N_("batch: a %(status)s batch is not built again; reprint single letters from "
                                "their rows instead"), labels={"status": BATCH_STATUS},
                             status=batch.status)


def is_stalled(batch: PrintBatch, now: dt.datetime) -> bool:
    """A building batch that nothing is building: never queued, or queued long ago."""
    if batch.status != BUILDING:
        return False
    return batch.build_requested_at is None or now - batch.build_requested_at >= BUILD_STALLED_AFTER


def batch_actions(batch: PrintBatch, now: dt.datetime) -> list[str]:
    """The actions that fit the batch's state, in the order a mail room does them: pages offer only these,
    and every door refuses the others (check_action)."""
    if batch.status == READY:
        return ["printed", "rebuild"]
    if batch.status == PRINTED:
        return ["mailed"]
    if batch.status == FAILED or is_stalled(batch, now):
        return ["rebuild"]
    return []   # building (in progress) or mailed: nothing to do on the batch (returns are per letter)


_REFUSALS = {
    "printed": N_("batch: only a batch ready to print can be marked printed; this one is %(status)s"),
    "mailed": N_("batch: only a printed batch can be marked mailed; this one is %(status)s"),
    "rebuild": N_("batch: a %(status)s batch is not built again; reprint single letters from their rows instead"),
}
_STILL_BUILDING = N_("batch: it is still being laid out; it can be started again only if it stops for "
                     "%(minutes)d minutes")


def check_action(batch: PrintBatch, action: str, now: dt.datetime) -> None:
    """LetterConflict (409) naming the state when the action does not fit the batch now."""
    if action in batch_actions(batch, now):
        return
    if action == "rebuild" and batch.status == BUILDING:
        raise LetterConflict(_STILL_BUILDING, minutes=int(BUILD_STALLED_AFTER.total_seconds() // 60))
    raise LetterConflict(_REFUSALS[action], labels={"status": BATCH_STATUS}, status=batch.status)


def request_rebuild(session: Session, batch: PrintBatch, *, actor: str, now: dt.datetime) -> int:
    """Put the batch back to building (the caller queues the build after the commit); its letter count."""
    check_action(batch, "rebuild", now)
    batch.status, batch.build_requested_at = BUILDING, now
    record(session, actor=actor, action="batch.rebuild", entity_type="print_batch", entity_id=batch.id, now=now,
           changes={"letters": batch.total})
    return batch.total


def _mailing_order(session: Session, batch_id: int, sender_country: str = "") -> list[int]:
    """Domestic mail first (by postal code: the sort the post office rewards), then international mail
    grouped by country (a bag per country), each by postal code."""
    domestic = case((Customer.country == (sender_country or "").upper(), 0), else_=1)
    return session.scalars(select(Letter.id).join(Customer, Customer.id == Letter.customer_id)
                           .where(Letter.batch_id == batch_id, Letter.status == QUEUED)
                           .order_by(domestic, Customer.country, Customer.postal_code, Customer.name,
                                     Letter.id)).all()


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
    order = _mailing_order(session, batch_id, company.country)
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

        sources: dict = {}  # (template key, language) -> the template's text, for the link variables it names

        def contents():
            for start in range(0, len(order), 200):
                chunk_ids = order[start:start + 200]
                rows = {l.id: l for l in session.scalars(
                    select(Letter).where(Letter.id.in_(chunk_ids)).options(
                        joinedload(Letter.customer).joinedload(Customer.owner), joinedload(Letter.sale)))}
                templates.clear()  # the last chunk's were expunged with it: each chunk loads its own
                sources.clear()
                for letter in rows.values():
                    key = (letter.template_key, letter.language)
                    if key not in templates:
                        templates[key] = current_template(session, *key)
                        sources[key] = template_source(templates[key])
                links = letter_links_for(session, list(rows.values()), sources)
                for letter_id in chunk_ids:
                    letter = rows[letter_id]
                    key = (letter.template_key, letter.language)
                    try:
                        if templates[key] is None:
                            raise LetterError(f"template: no template {letter.template_key!r}")
                        content = letter_content(letter, templates[key], company, today, limits, links[letter_id])
                    except Exception as exc:  # noqa: BLE001 - one letter's failure takes out that letter only
                        skipped.append({"id": letter_id, "error": str(layout_error(exc))})
                        continue
                    c = letter.customer
                    drawn.append((letter_id, c.external_id, c.name, letter.template_key, letter.language,
                                  c.country or "", c.postal_code or ""))
                    yield content
                rows.clear()
                session.expunge_all()  # the chunk's objects go: memory stays flat

        # UTF-8 with a byte order mark: spreadsheet programs then read Arabic and Persian names correctly.
        with open(manifest_path, "w", newline="", encoding="utf-8-sig") as manifest_file:
            manifest = csv.writer(manifest_file)
            # What the mail room works from: which template and language, the paper and sheets it takes,
            # and the address exactly as printed in the window (its lines joined by " / ").
            manifest.writerow(MANIFEST_COLUMNS)

            def on_letter(index: int, entry) -> None:
                letter_id, external_id, name, template_key, language, country, postal_code = drawn[index]
                drawn[index] = None  # used once: memory stays flat over tens of thousands of letters
                manifest.writerow([f"L-{letter_id:06d}", *map(manifest_cell, (external_id, name, template_key,
                                                                               language)),
                                   entry.paper, entry.sheets, manifest_cell(" / ".join(entry.address)),
                                   manifest_cell(country), manifest_cell(postal_code), entry.first_page,
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
    # A letter cancelled since an earlier layout is not in this file: its old pages name nobody's sheet now.
    drawn_ids = {p["id"] for p in pages}
    gone = [i for i in session.scalars(select(Letter.id).where(*_laid_out_and_cancelled(batch_id)))
            if i not in drawn_ids]
    if gone:
        session.execute(update(Letter).where(Letter.id.in_(gone)).values(first_page=None, page_count=None)
                        .execution_options(synchronize_session=False))
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
    batch.paper = entries[0].paper if entries else company.letter_paper   # one paper per file (write_batch)
    session.commit()
    if progress:
        progress(total, total)


def mark_printed(session: Session, batch: PrintBatch, now: dt.datetime, *, actor: str) -> int:
    """The mail room printed the batch: its letters move queued -> printed."""
    check_action(batch, "printed", now)
    batch.status, batch.printed_at = PRINTED, now
    n = session.execute(update(Letter).where(Letter.batch_id == batch.id, Letter.status == QUEUED)
                        .values(status=PRINTED, printed_at=now).execution_options(synchronize_session=False)).rowcount
    record(session, actor=actor, action="batch.printed", entity_type="print_batch", entity_id=batch.id, now=now,
           changes={"letters": n})
    return n


def mark_mailed(session: Session, batch: PrintBatch, now: dt.datetime, *, actor: str) -> int:
    """The batch went to the post: printed -> mailed."""
    check_action(batch, "mailed", now)
    batch.status, batch.mailed_at = MAILED, now
    n = session.execute(update(Letter).where(Letter.batch_id == batch.id, Letter.status == PRINTED)
                        .values(status=MAILED, mailed_at=now).execution_options(synchronize_session=False)).rowcount
    record(session, actor=actor, action="batch.mailed", entity_type="print_batch", entity_id=batch.id, now=now,
           changes={"letters": n})
    return n


# Batches whose sheets may be in the mail room's hands and not posted yet.
PULL_STATES = (READY, PRINTED)
PULL_SHOWN = 200


def sheets_to_pull(session: Session, batch: PrintBatch) -> tuple[list[Letter], int]:
    """Letters laid out in the batch's PDF and cancelled since (the customer opted out of letters), while the
    batch is ready or printed: their sheets are printed (or will be) and must not be posted. The first PULL_SHOWN
    in page order, and how many there are."""
    if batch.status not in PULL_STATES:
        return [], 0
    where = _laid_out_and_cancelled(batch.id)
    rows = session.scalars(select(Letter).where(*where).order_by(Letter.first_page, Letter.id)
                           .limit(PULL_SHOWN)).all()
    count = len(rows) if len(rows) < PULL_SHOWN else session.scalar(select(func.count()).select_from(Letter).where(*where))
    return list(rows), count


# What features do when letters are cancelled before posting (a survey not sent after all, an offer not made):
# handler(session, letter_ids, now), in the transaction that cancelled them (on_letters_cancelled; postal imports no
# feature).
ON_LETTERS_CANCELLED: list = []


def on_letters_cancelled(handler) -> None:
    if handler not in ON_LETTERS_CANCELLED:
        ON_LETTERS_CANCELLED.append(handler)


def cancel_unposted_letters(session: Session, customer_id: int, now: dt.datetime, actor: str) -> int:
    """The customer opted out of letters: their letters not posted yet are cancelled (mail.optouts.on_opt_out).

    That is every letter still queued, and every letter printed in a batch not marked mailed yet (its sheets are in
    the mail room's stack). A cancelled letter keeps its batch, so the mail room sees it there ("not sent"): marking
    the batch printed or mailed leaves it out, and a rebuild of the batch drops it. One already laid out in a ready
    or printed batch is a sheet to pull before posting (`sheets_to_pull`: the batch page says so with its pages, the
    manifest download marks its line). Letters mailed are history and stay as they are. What the cancelled letters
    carried is undone by the features that registered `on_letters_cancelled`. Returns how many."""
    not_mailed = select(PrintBatch.id).where(PrintBatch.status != MAILED)
    ids = session.scalars(select(Letter.id).where(
        Letter.customer_id == customer_id,
        (Letter.status == QUEUED) | ((Letter.status == PRINTED) & Letter.batch_id.in_(not_mailed)))).all()
    if ids:  # conditional: a letter whose batch was marked mailed a moment ago stays mailed
        ids = session.scalars(update(Letter).where(Letter.id.in_(ids), Letter.status.in_((QUEUED, PRINTED)))
                              .values(status=CANCELLED).returning(Letter.id)
                              .execution_options(synchronize_session="fetch")).all()
    if ids:
        record(session, actor=actor, action="letter.cancelled", entity_type="customer", entity_id=customer_id,
               now=now, changes={"letters": list(ids), "why": "opted_out"})
        for handler in ON_LETTERS_CANCELLED:
            handler(session, list(ids), now)
    return len(ids)


# --- One letter: reprint, returned mail and its undo ---------------------------------------------------

def letter_actions(letter: Letter) -> list[str]:
    """What may be done to one letter from its row: reprint a sheet of a laid-out batch (not a cancelled letter's:
    that sheet is to be pulled), record it returned once it has left (printed or mailed), undo a return."""
    actions = []
    batch = letter.batch
    if batch is not None and batch.status in (READY, PRINTED, MAILED) and letter.status not in (RETURNED, CANCELLED) \
            and letter.first_page is not None:
        actions.append("reprint")
    if letter.status in (PRINTED, MAILED):
        actions.append("returned")
    if letter.status == RETURNED:
        actions.append("undo_return")
    return actions


def reprint_letter(session: Session, letter: Letter, *, company: Company, today: dt.date, actor: str,
                   now: dt.datetime) -> bytes:
    """A new PDF of one letter of a laid-out batch (a jammed, smudged or lost sheet), to print now and put
    back with its batch: it keeps its batch, place and status. Audited and on the customer's timeline.

    Why a PDF now rather than a place in the next batch: the mail room reprints a sheet while it is
    folding and stuffing that batch; the next batch may be days away and would mail the letter apart from
    its batch (and list it in two manifests). A letter not yet in a laid-out batch simply prints with it.
    """
    if "reprint" not in letter_actions(letter):
        if letter.status == CANCELLED:
            raise LetterConflict(N_("letter: the customer opted out of letters; it is not printed again (a sheet "
                                    "already printed is pulled from the stack)"))
        if letter.batch is None or letter.first_page is None:
            raise LetterConflict(N_("letter: it is not in a laid-out batch yet; it prints with its batch"))
        raise LetterConflict(N_("letter: a %(status)s letter is not reprinted; undo the return first if it "
                                "came back by mistake"), labels={"status": LETTER_STATUS},
                             status=letter.status)
    from retention.postal.service import render_one

    pdf = render_one(session, letter, company, today)
    letter.reprint_count = (letter.reprint_count or 0) + 1
    letter.reprinted_at = now
    record(session, actor=actor, action="letter.reprinted", entity_type="letter", entity_id=letter.id, now=now,
           changes={"batch": letter.batch_id, "reprints": letter.reprint_count})
    return pdf


NOTE_CHARS = 500


def check_return(reason, note) -> tuple[str, str]:
    """A return's reason (one of RETURN_REASONS) and note (text; required for "other"); LetterError naming the field."""
    if reason not in RETURN_REASONS:
        raise LetterError(N_("reason: choose why the letter came back"))
    if note is None:
        note = ""
    if not isinstance(note, str):
        raise LetterError(N_("note: must be text"))
    note = note.strip()
    if _CONTROL.search(note) or any(0xD800 <= ord(ch) <= 0xDFFF for ch in note):
        raise LetterError(N_("note: contains characters that cannot be stored"))
    if len(note) > NOTE_CHARS:
        raise LetterError(N_("note: at most %(num)d characters"), num=NOTE_CHARS)
    if reason == "other" and not note:
        raise LetterError(N_("note: say why the letter came back (the reason is \"other\")"))
    return reason, note


def active_return(session: Session, letter: Letter) -> ReturnedMail | None:
    return session.scalar(select(ReturnedMail).where(ReturnedMail.letter_id == letter.id,
                                                     ReturnedMail.undone_at.is_(None))
                          .order_by(ReturnedMail.id.desc()).limit(1))


def _fix_address_note(session: Session, letter: Letter, reason: str, note: str, language: str) -> str:
    """What the owner reads on the call card, in their own language: which letter, why it came back, the note."""
    from flask_babel import force_locale, gettext

    from retention.postal.labels import RETURN_REASON, template_name, template_names

    with force_locale(language or "en"):
        text = gettext("Letter %(ref)s (“%(name)s”) came back: %(reason)s.", ref=f"L-{letter.id:06d}",
                       name=template_name(template_names(session, language or "en"), letter.template_key),
                       reason=str(RETURN_REASON[reason]))
        if note:
            text += "\n" + gettext("Mail room: %(note)s", note=note)
    return text


def _open_fix_address_call(session: Session, letter: Letter, reason: str, note: str, *, now: dt.datetime,
                           actor: str) -> int | None:
    """The customer's owner (else whoever calls.adhoc picks) gets a call to correct the address; None when
    nobody makes calls yet (the return is kept all the same, and the address stays flagged)."""
    from retention.calls import adhoc
    from retention.calls.service import CallError

    try:  # due at the first moment inside the customer's and the owner's hours (calls.adhoc.reachable_due)
        with session.begin_nested():
            call = adhoc.open_call(letter.customer, purpose="fix_address", reachable=True, now=now, actor=actor,
                                   session=session)
    except CallError:
        return None
    call.note = _fix_address_note(session, letter, reason, note, getattr(call.owner, "locale", None) or "en")
    return call.id


# Why the fix-address call of a return undone was closed (English on the call, for the API); the timeline and the
# customer's plan say it in words: registration.py registers RETURN_UNDONE_PATTERN with labels.return_undone_words.
RETURN_UNDONE = "returned mail undone: the address was not wrong"
RETURN_UNDONE_PATTERN = re.compile(re.escape(RETURN_UNDONE) + r"\Z")


def _cancel_fix_address_call(session: Session, call_id: int | None, *, now: dt.datetime, actor: str) -> bool:
    """Cancel the fix-address call of a return undone, if it is still open (a call already ended stays)."""
    from retention.journeys.models import OPEN, SKIPPED, Touchpoint

    call = session.get(Touchpoint, call_id) if call_id else None
    if call is None or call.status != OPEN:
        return False
    call.status, call.completed_at = SKIPPED, now
    call.reason = RETURN_UNDONE
    record(session, actor=actor, action="call.cancelled", entity_type="touchpoint", entity_id=call.id, now=now,
           changes={"purpose": call.purpose, "why": "return_undone"})
    return True


def record_returned(session: Session, letter: Letter, now: dt.datetime, *, actor: str, reason: str,
                    note: str = "") -> ReturnedMail:
    """Returned mail: the letter is marked with why, the customer's address flagged for correction, and the
    customer's owner gets a call to fix the address (retention/calls/adhoc.py, purpose "fix_address")."""
    reason, note = check_return(reason, note)
    if letter.status not in (MAILED, PRINTED):
        raise LetterConflict(N_("letter: only a printed or mailed letter can come back; this one is %(status)s"),
                             labels={"status": LETTER_STATUS}, status=letter.status)
    returned = ReturnedMail(letter_id=letter.id, customer_id=letter.customer_id, reason=reason, note=note,
                            previous_status=letter.status, returned_at=now, recorded_by=actor)
    letter.status, letter.returned_at = RETURNED, now
    letter.customer.address_flagged_at = now
    returned.call_id = _open_fix_address_call(session, letter, reason, note, now=now, actor=actor)
    session.add(returned)
    session.flush()
    record(session, actor=actor, action="letter.returned", entity_type="letter", entity_id=letter.id, now=now,
           changes={"reason": reason, "note": note, "return": returned.id, "call": returned.call_id})
    return returned


def undo_return(session: Session, letter: Letter, now: dt.datetime, *, actor: str) -> ReturnedMail:
    """A return recorded by mistake: the letter goes back to printed or mailed, the address flag goes when no
    other return holds it, and the fix-address call is cancelled if it is still open."""
    returned = active_return(session, letter) if letter.status == RETURNED else None
    if returned is None:
        raise LetterConflict(N_("letter: only a returned letter can have its return undone; this one is "
                                "%(status)s"), labels={"status": LETTER_STATUS}, status=letter.status)
    # Back to where it stood; a letter returned while printed whose batch has gone to the post since is mailed.
    mailed_since = letter.batch is not None and letter.batch.status == MAILED
    letter.status, letter.returned_at = (MAILED if mailed_since else returned.previous_status), None
    returned.undone_at, returned.undone_by = now, actor
    session.flush()
    others = session.scalar(select(func.count()).select_from(ReturnedMail).where(
        ReturnedMail.customer_id == letter.customer_id, ReturnedMail.undone_at.is_(None)))
    if not others:
        letter.customer.address_flagged_at = None
    cancelled = _cancel_fix_address_call(session, returned.call_id, now=now, actor=actor)
    record(session, actor=actor, action="letter.return_undone", entity_type="letter", entity_id=letter.id, now=now,
           changes={"return": returned.id, "status": letter.status, "call": returned.call_id,
                    "call_cancelled": cancelled})
    return returned


RETURNS_PER_PAGE = 50


def returns_query(*, reason: str | None = None, since: dt.datetime | None = None, until: dt.datetime | None = None):
    """Returned mail still standing (not undone), newest first, by reason and the time it came back."""
    stmt = select(ReturnedMail).where(ReturnedMail.undone_at.is_(None))
    if reason:
        stmt = stmt.where(ReturnedMail.reason == reason)
    if since:
        stmt = stmt.where(ReturnedMail.returned_at >= since)
    if until:
        stmt = stmt.where(ReturnedMail.returned_at < until)
    return stmt


def list_returns(session: Session, *, reason=None, since=None, until=None, page: int = 1,
                 per_page: int = RETURNS_PER_PAGE) -> tuple[list[ReturnedMail], int]:
    """One page of returned mail and the total; at most per_page rows, the letter, batch and customer loaded."""
    if reason is not None and reason not in RETURN_REASONS:
        raise LetterError(N_("reason: choose why the letter came back"))
    stmt = returns_query(reason=reason, since=since, until=until)
    total = session.scalar(select(func.count()).select_from(stmt.subquery()))
    rows = session.scalars(stmt.options(joinedload(ReturnedMail.letter).joinedload(Letter.batch),
                                        joinedload(ReturnedMail.customer))
                           .order_by(ReturnedMail.returned_at.desc(), ReturnedMail.id.desc())
                           .offset((page - 1) * per_page).limit(per_page)).all()
    return rows, total
