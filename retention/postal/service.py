"""Rules about letters: sandboxed templates, personalising a letter, print batches and returned mail."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from jinja2 import TemplateSyntaxError, UndefinedError
from jinja2.exceptions import SecurityError, TemplateError as JinjaTemplateError
from sqlalchemy import select
from sqlalchemy.orm import Session

import letters as generator
from letters.l10n import is_rtl
from retention.audit.service import record
from retention.customers.models import Customer, Sale
from retention.postal import sandbox
from retention.postal.models import (
    Letter, LetterTemplate,
)
from retention.postal.sandbox import TemplateLimitError, TemplateLimits, current_limits

LANGUAGES = ("en", "ar", "fa")
DIGITS = ("latn", "arab", "arabext")
LETTER_PAPER_COUNTRIES = frozenset({"US", "CA", "MX", "PH"})


class LetterError(ValueError):
    """A template or letter problem, said so that a person can fix it (names the field)."""


class NothingToPrint(LetterError):
    """No queued letter matches a print batch's filters: a state of the queue, not bad input."""


class LetterLimitError(LetterError):
    """A template or letter went over a limit (render time, output size, pages, loop steps...)."""

    def __init__(self, message: str, limit: str):
        super().__init__(message)
        self.limit = limit


# --- Templates in a sandbox (retention/postal/sandbox.py) -------------------------------

# Why a computation failed, in words a template author can act on.
_CAUSES = {ZeroDivisionError: "division by zero", OverflowError: "a number too large",
           RecursionError: "nested too deeply", MemoryError: "too large to render"}


def render_text(source: str, context: dict, field: str = "body", limits: TemplateLimits | None = None) -> str:
    """Render template text in the sandbox, within the limits; LetterError with the line and cause when
    it cannot (any failure of the template, never an unexplained crash)."""
    limits = limits or current_limits()
    try:
        return sandbox.render(source, context, limits)
    except TemplateLimitError as exc:
        raise LetterLimitError(f"{field}: over the limit on {exc.limit}: {exc}", exc.limit) from None
    except TemplateSyntaxError as exc:
        raise LetterError(f"{field}: line {exc.lineno}: {exc.message}") from None
    except UndefinedError as exc:
        raise LetterError(f"{field}: unknown variable: {exc.message}") from None
    except SecurityError as exc:
        raise LetterError(f"{field}: not allowed in a letter template: {exc}") from None
    except JinjaTemplateError as exc:
        # e.g. {% include %}: there is no loader, so no file can be read
        raise LetterError(f"{field}: not allowed in a letter template: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - any failure of one template is that template's error
        cause = next((text for kind, text in _CAUSES.items() if isinstance(exc, kind)), None)
        detail = f"{cause} ({exc})" if cause else f"{type(exc).__name__}: {exc}"
        raise LetterError(f"{field}: cannot render: {detail}"[:500]) from None


def current_template(session: Session, key: str, language: str) -> LetterTemplate | None:
    """The current version of a template in a language, falling back to English."""
    found = session.scalar(select(LetterTemplate).where(LetterTemplate.key == key, LetterTemplate.language == language,
                                                        LetterTemplate.is_current.is_(True)))
    if found is None and language != "en":
        found = current_template(session, key, "en")
    return found


# Stored lengths of the short fields (the columns' sizes).
FIELD_CHARS = {"name": 200, "closing": 200, "qr_url": 500}


def _text_field(fields: dict, name: str, max_chars: int) -> str:
    """A text field of a template edit: a string, no control characters that cannot be stored, not too long."""
    value = fields.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise LetterError(f"{name}: must be text")
    if "\x00" in value:
        raise LetterError(f"{name}: contains a NUL character")
    if len(value) > max_chars:
        raise LetterLimitError(f"{name}: at most {max_chars:,} characters", "template size")
    return value


def check_key(key) -> str:
    """A template key: 1-60 characters, no NUL."""
    if not isinstance(key, str) or not key or len(key) > 60 or "\x00" in key:
        raise LetterError("key: required, at most 60 characters, no NUL")
    return key


def validate_template(fields: dict, limits: TemplateLimits | None = None) -> dict:
    """Check an edit before saving: known language and digits, a body, and text that renders within the
    limits for a sample customer (size, time, loops, pages, a QR link that fits a code)."""
    limits = limits or current_limits()
    language = fields.get("language")
    if language not in LANGUAGES:
        raise LetterError(f"language: must be one of {', '.join(LANGUAGES)}")
    if fields.get("digits", "latn") not in DIGITS:
        raise LetterError(f"digits: must be one of {', '.join(DIGITS)}")
    body = _text_field(fields, "body", limits.template_chars).strip()
    if not body:
        raise LetterError("body: a letter needs a body")
    short = {name: _text_field(fields, name, n).strip() for name, n in FIELD_CHARS.items()}
    sample = sample_context(language)
    rendered = {name: render_text(text, sample, name, limits)
                for name, text in (("body", body), ("closing", short["closing"]), ("qr_url", short["qr_url"]))}
    # The sample letter is laid out too: pages and the QR code are limits of the printed letter.
    _layout_checked(generator.LetterContent(
        language=language, paper="A4", recipient_name="Sample Customer", address=generator.Address(lines=[]),
        return_address=[], letter_date=dt.date(2026, 1, 2), body=rendered["body"], closing=rendered["closing"],
        signer_name="Sample Owner", signer_title="Customer care", qr_url=rendered["qr_url"].strip() or None,
        digits=fields.get("digits", "latn")), limits, draw=False)
    fields = {**fields, **short}
    return {"language": language, "body": body, "closing": (fields.get("closing") or "").strip(),
            "qr_url": (fields.get("qr_url") or "").strip(), "digits": fields.get("digits", "latn"),
            "name": (fields.get("name") or "").strip(), "handwriting_signature": bool(fields.get("handwriting_signature",
                                                                                                 True))}


def save_template(session: Session, key: str, fields: dict, *, actor: str, now: dt.datetime) -> LetterTemplate:
    """Save an edit as a new version (the old one stays for the record)."""
    check_key(key)
    clean = validate_template(fields)
    old = session.scalar(select(LetterTemplate).where(LetterTemplate.key == key,
                                                      LetterTemplate.language == clean["language"],
                                                      LetterTemplate.is_current.is_(True)))
    if old is not None:
        old.is_current = False
    new = LetterTemplate(key=key, version=(old.version + 1) if old else 1, is_current=True, created_at=now,
                         created_by=actor, **{**clean, "name": clean["name"] or (old.name if old else key)})
    session.add(new)
    record(session, actor=actor, action="letter_template.saved", entity_type="letter_template",
           entity_id=f"{key}/{clean['language']}", now=now, changes={"version": new.version})
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
    phone = f"\u2066{company.phone}\u2069" if is_rtl(language) and company.phone else company.phone
    return {"customer": customer, "sale": sale_ctx, "owner": owner,
            "company": {"name": company.name, "website": company.website, "phone": phone},
            "today": generator.format_letter_date(today, language, digits), "language": language}


def letter_content(letter: Letter, template: LetterTemplate, company: Company, today: dt.date,
                   limits: TemplateLimits | None = None) -> generator.LetterContent:
    """Everything the printed letter shows, rendered from the template for this customer; LetterError
    (with the field and reason) for anything that goes wrong personalising it."""
    try:
        return _letter_content(letter, template, company, today, limits or current_limits())
    except LetterError:
        raise
    except Exception as exc:  # noqa: BLE001 - e.g. a value the formatting of money or dates cannot take
        raise LetterError(f"letter: cannot be personalised: {type(exc).__name__}: {exc}"[:500]) from None


def _letter_content(letter: Letter, template: LetterTemplate, company: Company, today: dt.date,
                    limits: TemplateLimits) -> generator.LetterContent:
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
    body = render_text(template.body, ctx, "body", limits)
    closing = render_text(template.closing or "", ctx, "closing", limits)
    qr = render_text(template.qr_url, ctx, "qr_url", limits).strip() if template.qr_url else None
    return generator.LetterContent(
        language=language, paper="LETTER" if (customer.country or "") in LETTER_PAPER_COUNTRIES else "A4",
        recipient_name=customer.name, address=generator.Address(
            lines=list(customer.address_lines or []), city=customer.city or "", region=customer.region or "",
            postal_code=customer.postal_code or "", country=customer.country or ""),
        return_address=[company.name, *company.address], letter_date=today, body=body, closing=closing,
        signer_name=ctx["owner"]["name"], signer_title=ctx["owner"]["title"],
        handwriting_signature=template.handwriting_signature, qr_url=qr or None, digits=digits,
        reference=f"L-{letter.id:06d}" if letter.id else "")


def layout_error(exc: Exception) -> LetterError:
    """Why the generator could not lay out a letter, as a LetterError naming the limit or field."""
    if isinstance(exc, LetterError):
        return exc
    if isinstance(exc, generator.LetterTooLong):
        return LetterLimitError(f"pages: over the limit on pages: {exc}", "pages")
    if isinstance(exc, generator.QrTooLong):
        return LetterError(f"qr_url: {exc}")
    return LetterError(f"letter: cannot be laid out: {type(exc).__name__}: {exc}"[:500])


def _layout_checked(content: generator.LetterContent, limits: TemplateLimits, *, draw: bool = True):
    try:
        if draw:
            return generator.render_letter(content, max_pages=limits.pages)
        return generator.compose(content, max_pages=limits.pages)
    except Exception as exc:  # noqa: BLE001 - any failure of one letter is that letter's error
        raise layout_error(exc) from None


def render_one(session: Session, letter: Letter, company: Company, today: dt.date,
               template: LetterTemplate | None = None) -> bytes:
    """One letter as a PDF (preview or reprint); LetterError with the reason when it cannot be made."""
    template = template or current_template(session, letter.template_key, letter.language)
    if template is None:
        raise LetterError(f"template: no template {letter.template_key!r}")
    limits = current_limits()
    return _layout_checked(letter_content(letter, template, company, today, limits), limits)


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
