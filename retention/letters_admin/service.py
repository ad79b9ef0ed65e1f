"""Rules about letters: sandboxed templates, personalising a letter, print batches and returned mail."""
from __future__ import annotations

import csv
import datetime as dt
import os
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError
from jinja2.exceptions import SecurityError, TemplateError as JinjaTemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, joinedload

import letters as generator
from retention.customers.models import Customer, Sale
from retention.letters_admin.models import (
    BUILDING, FAILED, MAILED, PRINTED, QUEUED, READY, RETURNED, Letter, LetterTemplate, PrintBatch,
)

LANGUAGES = ("en", "ar", "fa")
DIGITS = ("latn", "arab", "arabext")
LETTER_PAPER_COUNTRIES = frozenset({"US", "CA", "MX", "PH"})


class LetterError(ValueError):
    """A template or letter problem, said so that a person can fix it (names the field)."""


# --- Templates in a sandbox --------------------------------------------------------------------

class _Sandbox(ImmutableSandboxedEnvironment):
    """No attribute access to internals, no loader (so no files), and unknown names are errors."""

    def __init__(self):
        super().__init__(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)


_SANDBOX = _Sandbox()
_COMPILED: dict[str, object] = {}


def render_text(source: str, context: dict, field: str = "body") -> str:
    """Render template text in the sandbox; LetterError with the line and cause when it cannot."""
    try:
        template = _COMPILED.get(source)
        if template is None:
            template = _SANDBOX.from_string(source)
            if len(_COMPILED) > 500:
                _COMPILED.clear()
            _COMPILED[source] = template
        return template.render(context)
    except TemplateSyntaxError as exc:
        raise LetterError(f"{field}: line {exc.lineno}: {exc.message}") from None
    except UndefinedError as exc:
        raise LetterError(f"{field}: unknown variable: {exc.message}") from None
    except SecurityError as exc:
        raise LetterError(f"{field}: not allowed in a letter template: {exc}") from None
    except (JinjaTemplateError, TypeError) as exc:
        # e.g. {% include %}: there is no loader, so no file can be read
        raise LetterError(f"{field}: not allowed in a letter template: {exc}") from None


def current_template(session: Session, key: str, language: str) -> LetterTemplate | None:
    """The current version of a template in a language, falling back to English."""
    found = session.scalar(select(LetterTemplate).where(LetterTemplate.key == key, LetterTemplate.language == language,
                                                        LetterTemplate.is_current.is_(True)))
    if found is None and language != "en":
        found = current_template(session, key, "en")
    return found


def validate_template(fields: dict) -> dict:
    """Check an edit before saving: known language and digits, a body, and text that renders."""
    language = fields.get("language")
    if language not in LANGUAGES:
        raise LetterError(f"language: must be one of {', '.join(LANGUAGES)}")
    if fields.get("digits", "latn") not in DIGITS:
        raise LetterError(f"digits: must be one of {', '.join(DIGITS)}")
    body = (fields.get("body") or "").strip()
    if not body:
        raise LetterError("body: a letter needs a body")
    if len(body) > 20000:
        raise LetterError("body: at most 20,000 characters")
    sample = sample_context(language)
    for name in ("body", "closing", "qr_url"):
        render_text(fields.get(name) or "", sample, name)
    return {"language": language, "body": body, "closing": (fields.get("closing") or "").strip(),
            "qr_url": (fields.get("qr_url") or "").strip(), "digits": fields.get("digits", "latn"),
            "name": (fields.get("name") or "").strip(), "handwriting_signature": bool(fields.get("handwriting_signature",
                                                                                                 True))}


def save_template(session: Session, key: str, fields: dict, *, actor: str, now: dt.datetime) -> LetterTemplate:
    """Save an edit as a new version (the old one stays for the record)."""
    clean = validate_template(fields)
    if not key or len(key) > 60:
        raise LetterError("key: required, at most 60 characters")
    old = session.scalar(select(LetterTemplate).where(LetterTemplate.key == key,
                                                      LetterTemplate.language == clean["language"],
                                                      LetterTemplate.is_current.is_(True)))
    if old is not None:
        old.is_current = False
    new = LetterTemplate(key=key, version=(old.version + 1) if old else 1, is_current=True, created_at=now,
                         created_by=actor, **{**clean, "name": clean["name"] or (old.name if old else key)})
    session.add(new)
    return new


# --- Personalising one letter ------------------------------------------------------------------

@dataclass
class Company:
    """The sender, from settings."""

    name: str
    website: str
    phone: str
    address: list[str]


def company_from(config) -> Company:
    return Company(name=config.get("COMPANY_NAME", "Demo Shop"),
                   website=config.get("COMPANY_WEBSITE", "https://shop.example.com"),
                   phone=config.get("COMPANY_PHONE", "+44 20 7946 0000"),
                   address=list(config.get("COMPANY_ADDRESS", ["1 Market Street", "London EC1A 1AA",
                                                               "United Kingdom"])))


def sample_context(language: str) -> dict:
    """A made-up customer, to check that a template renders before it is saved."""
    return _context(language, "latn", {"id": "C0", "name": "Sample Customer", "first_name": "Sample", "city": "",
                                       "country": ""},
                    {"id": "S0", "product": "Sample product", "category": "", "amount": Decimal("100"),
                     "currency": "USD", "sold_at": dt.date(2026, 1, 1)},
                    {"name": "Sample Owner", "title": "Customer care", "email": "owner@example.com"},
                    Company("Demo Shop", "https://shop.example.com", "", []), dt.date(2026, 1, 2))


def _context(language, digits, customer, sale, owner, company: Company, today: dt.date) -> dict:
    """Plain values only: a template never sees a database object."""
    sale_ctx = None
    if sale:
        sale_ctx = {"id": sale["id"], "product": sale["product"], "category": sale["category"] or "",
                    "amount": generator.format_money(sale["amount"], sale["currency"], language, digits),
                    "currency": sale["currency"],
                    "date": generator.format_letter_date(sale["sold_at"], language, digits)}
    # A phone number inside a right-to-left sentence keeps its left-to-right order only when isolated.
    phone = f"\u2066{company.phone}\u2069" if language in ("ar", "fa") and company.phone else company.phone
    return {"customer": customer, "sale": sale_ctx, "owner": owner,
            "company": {"name": company.name, "website": company.website, "phone": phone},
            "today": generator.format_letter_date(today, language, digits), "language": language}


def letter_content(letter: Letter, template: LetterTemplate, company: Company, today: dt.date) -> generator.LetterContent:
    """Everything the printed letter shows, rendered from the template for this customer."""
    customer: Customer = letter.customer
    sale: Sale | None = letter.sale
    owner = customer.owner
    language = template.language
    digits = template.digits
    ctx = _context(
        language, digits,
        {"id": customer.external_id, "name": customer.name, "first_name": (customer.name or "").split(" ")[0],
         "city": customer.city, "country": customer.country or ""},
        {"id": sale.external_id, "product": sale.product, "category": sale.category, "amount": sale.amount,
         "currency": sale.currency, "sold_at": sale.sold_at.date()} if sale else None,
        {"name": owner.display_name if owner else company.name, "title": owner.title if owner else "",
         "email": owner.email if owner else ""},
        company, today)
    body = render_text(template.body, ctx, "body")
    closing = render_text(template.closing or "", ctx, "closing")
    qr = render_text(template.qr_url, ctx, "qr_url").strip() if template.qr_url else None
    return generator.LetterContent(
        language=language, paper="LETTER" if (customer.country or "") in LETTER_PAPER_COUNTRIES else "A4",
        recipient_name=customer.name, address=generator.Address(
            lines=list(customer.address_lines or []), city=customer.city or "", region=customer.region or "",
            postal_code=customer.postal_code or "", country=customer.country or ""),
        return_address=[company.name, *company.address], letter_date=today, body=body, closing=closing,
        signer_name=ctx["owner"]["name"], signer_title=ctx["owner"]["title"],
        handwriting_signature=template.handwriting_signature, qr_url=qr or None, digits=digits,
        reference=f"L-{letter.id:06d}" if letter.id else "")


def render_one(session: Session, letter: Letter, company: Company, today: dt.date,
               template: LetterTemplate | None = None) -> bytes:
    """One letter as a PDF (preview or reprint)."""
    template = template or current_template(session, letter.template_key, letter.language)
    if template is None:
        raise LetterError(f"template: no template {letter.template_key!r}")
    return generator.render_letter(letter_content(letter, template, company, today))


# --- Print batches -----------------------------------------------------------------------------

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


DEFAULTS_FILE = Path(generator.__file__).resolve().parent / "default_templates.json"


def ensure_default_templates(session: Session, now: dt.datetime) -> int:
    """Seed welcome, thank-you, referral offer and apology in English, Arabic and Persian (once)."""
    import json

    created = 0
    for key, by_language in json.loads(DEFAULTS_FILE.read_text(encoding="utf-8")).items():
        for language, spec in by_language.items():
            if session.scalar(select(LetterTemplate.id).where(LetterTemplate.key == key,
                                                              LetterTemplate.language == language)):
                continue
            save_template(session, key, {"language": language, **spec}, actor="seed", now=now)
            created += 1
    return created
