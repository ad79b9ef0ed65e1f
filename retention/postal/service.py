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
from retention.errors import Conflict, NotFound
from flask_babel import lazy_gettext as _l

from retention.postal import sandbox
from retention.postal.models import (
    Letter, LetterTemplate,
)
from retention.postal.sandbox import TemplateLimitError, TemplateLimits, current_limits

LANGUAGES = ("en", "ar", "fa")
DIGITS = ("latn", "arab", "arabext")
# The calendar of a template's dates (letters/l10n.py); "hijri" and "both" for Arabic templates only.
CALENDARS = generator.CALENDARS


def N_(message: str) -> str:
    """Marks a message for extraction (babel.cfg); it is translated where it is shown (LetterError.localized)."""
    return message


class LetterError(ValueError):
    """A template or letter problem, said so that a person can fix it (names the field).

    `message` is English with named placeholders, filled from `params`: str(exc) is the English text
    (API, logs); `localized()` is the same message in the reader's language, for pages. A param listed
    in `labels` is a machine key (a status) shown through that label dict.
    """

    def __init__(self, message: str, labels: dict | None = None, **params):
        self.msgid, self.params, self.labels = message, params, labels or {}
        super().__init__(message % params if params else message)

    def localized(self) -> str:
        from flask_babel import gettext

        params = {k: (self.labels[k].get(v, v) if k in self.labels else v) for k, v in self.params.items()}
        return gettext(self.msgid, **params) if params else gettext(self.msgid)


class LetterConflict(LetterError, Conflict):
    """The action does not fit the batch's or letter's current state (409)."""


class LetterNotFound(LetterError, NotFound):
    """No such letter, batch or return (404)."""


class NothingToPrint(LetterConflict):
    """No queued letter matches a print batch's filters: a state of the queue, not bad input."""


class LetterLimitError(LetterError):
    """A template or letter went over a limit (render time, output size, pages, loop steps...)."""

    def __init__(self, message: str, limit: str, labels: dict | None = None, **params):
        super().__init__(message, labels, **params)
        self.limit = limit


# The fields of a template as a person reads them (errors on pages name the field by its label).
TEMPLATE_FIELD_LABELS = {"body": _l("Letter text"), "closing": _l("Closing"), "qr_url": _l("QR code link"),
                         "name": _l("Name"), "digits": _l("Digits"), "language": _l("Language"), "key": _l("Key"),
                         "customer": _l("Preview for customer"), "letter": _l("Letter"), "pages": _l("Pages"),
                         "template": _l("Template"), "version": _l("Version"),
                         "calendar": _l("Calendar")}
FIELD = {"field": TEMPLATE_FIELD_LABELS}
# Each sandbox limit in words, with the setting's value (LETTER_MAX_*).
_LIMIT_WORDS = {
    "render time": N_("%(field)s: the letter took longer than %(seconds)s seconds to write; loops may be too long"),
    "output size": N_("%(field)s: the letter would be longer than %(chars)s characters"),
    "loop steps": N_("%(field)s: loops repeat more than %(steps)s times in one letter"),
    "number size": N_("%(field)s: a number of more than %(digits)s digits"),
    "template size": N_("%(field)s: at most %(chars)s characters"),
    "macro depth": N_("%(field)s: macros call each other more than 50 deep"),
}


# A filter given a value it cannot use (sandbox.BadFilterArgument), by kind: the filter, the value and what it takes.
_FILTER_WORDS = {
    "range": N_("%(field)s: in the filter %(filter)s, %(argument)s must be a whole number from %(low)s to %(high)s "
                "(it is %(value)s)"),
    "choice": N_("%(field)s: in the filter %(filter)s, %(argument)s must be one of %(choices)s (it is %(value)s)"),
    "text": N_("%(field)s: in the filter %(filter)s, %(argument)s must be text in quotes (it is %(value)s)"),
    "usage": N_("%(field)s: the filter %(filter)s was given values it does not take; it is written %(usage)s"),
    "format": N_("%(field)s: the filter format needs one value in brackets for each placeholder of the text, "
                 "such as %%s or %%d, and of the right kind"),
}


def filter_error(field: str, exc: sandbox.BadFilterArgument) -> LetterError:
    """The plain-language refusal of a filter's value (the field, the filter, what it was given, what it takes)."""
    return LetterError(_FILTER_WORDS[exc.kind], FIELD, field=field, filter=exc.filter, argument=exc.argument,
                       value=exc.shown, low=f"{exc.low:,}", high=f"{exc.high:,}", choices=", ".join(exc.choices),
                       usage=exc.usage)


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
        words = _LIMIT_WORDS.get(exc.limit)
        if words is None:
            raise LetterLimitError(N_("%(field)s: over the limit on %(limit)s: %(detail)s"), exc.limit, FIELD,
                                   field=field, limit=exc.limit, detail=str(exc)) from None
        raise LetterLimitError(words, exc.limit, FIELD, field=field, seconds=f"{limits.render_seconds:g}",
                               chars=f"{limits.output_chars if exc.limit == 'output size' else limits.template_chars:,}",
                               steps=f"{limits.loop_steps:,}", digits=f"{limits.number_bits * 3 // 10:,}") from None
    except sandbox.BadFilterArgument as exc:
        raise filter_error(field, exc) from None
    except TemplateSyntaxError as exc:
        raise LetterError(N_("%(field)s: line %(line)s cannot be read: %(detail)s"), FIELD, field=field,
                          line=exc.lineno, detail=exc.message) from None
    except sandbox.UnknownName as exc:
        raise unknown_variable(field, context, exc) from None
    except UndefinedError as exc:
        raise LetterError(N_("%(field)s: unknown variable: %(detail)s"), FIELD, field=field,
                          detail=exc.message) from None
    except SecurityError as exc:
        raise LetterError(N_("%(field)s: not allowed in a letter template: %(detail)s"), FIELD, field=field,
                          detail=str(exc)) from None
    except JinjaTemplateError as exc:
        # e.g. {% include %}: there is no loader, so no file can be read
        raise LetterError(N_("%(field)s: not allowed in a letter template: %(detail)s"), FIELD, field=field,
                          detail=str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - any failure of one template is that template's error
        cause = next((text for kind, text in _CAUSES.items() if isinstance(exc, kind)), None)
        detail = (f"{cause} ({exc})" if cause else f"{type(exc).__name__}: {exc}")[:400]
        raise LetterError(N_("%(field)s: cannot be written: %(detail)s"), FIELD, field=field, detail=detail) from None


def variables(context: dict | None = None) -> list[str]:
    """Every variable a template can use ("customer.name", "today"...), read from the template context
    itself (the sample one by default), so the list cannot go stale."""
    context = context if context is not None else sample_context("en")
    names = []
    for name, value in context.items():
        if isinstance(value, dict):
            names += [f"{name}.{field}" for field in value]
        else:
            names.append(name)
    return names


def _path_of(context: dict, obj) -> str | None:
    for name, value in context.items():
        if value is obj and isinstance(value, dict):
            return name
    return None


def unknown_variable(field: str, context: dict, exc) -> LetterError:
    """A name the template uses that does not exist, with the ones that do: the fields of the same
    variable ("customer.nickname does not exist; you can use: customer.id, customer.name, ..."), else
    every variable."""
    from jinja2.utils import missing

    if exc.name is None:  # no name looked up: a filter's empty answer, e.g. `[]|first` ("No first item, ...")
        return LetterError(N_("%(field)s: cannot be written: %(detail)s"), FIELD, field=field,
                           detail=str(exc.message or exc)[:400])
    if exc.obj is missing:
        name, usable = str(exc.name), variables()
    else:
        parent = _path_of(context, exc.obj)
        name = f"{parent}.{exc.name}" if parent else str(exc.name)
        usable = [v for v in variables() if parent and v.startswith(parent + ".")] or variables()
        if exc.obj is None:  # e.g. sale.product for a customer without a sale
            return LetterError(N_("%(field)s: this letter has no %(name)s value to fill in"), FIELD, field=field,
                               name=str(exc.name))
    return LetterError(N_("%(field)s: %(name)s does not exist; you can use: %(names)s"), FIELD, field=field,
                       name=name, names=", ".join(usable))


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
        raise LetterError(N_("%(field)s: must be text"), FIELD, field=name)
    if "\x00" in value:
        raise LetterError(N_("%(field)s: contains a NUL character"), FIELD, field=name)
    if len(value) > max_chars:
        raise LetterLimitError(N_("%(field)s: at most %(chars)s characters"), "template size", FIELD, field=name,
                               chars=f"{max_chars:,}")
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
        raise LetterError(N_("language: must be one of %(languages)s"), languages=", ".join(LANGUAGES))
    if fields.get("digits", "latn") not in DIGITS:
        raise LetterError(N_("digits: must be one of %(digits)s"), digits=", ".join(DIGITS))
    calendar = check_template_calendar(fields.get("calendar") or "gregorian", language)
    body = _text_field(fields, "body", limits.template_chars).strip()
    if not body:
        raise LetterError(N_("%(field)s: a letter needs some text"), FIELD, field="body")
    short = {name: _text_field(fields, name, n).strip() for name, n in FIELD_CHARS.items()}
    sample = sample_context(language)
    rendered = {name: render_text(text, sample, name, limits)
                for name, text in (("body", body), ("closing", short["closing"]), ("qr_url", short["qr_url"]))}
    # The sample letter is laid out too: pages and the QR code are limits of the printed letter.
    _layout_checked(generator.LetterContent(
        language=language, paper="A4", recipient_name="Sample Customer", address=generator.Address(lines=[]),
        return_address=[], letter_date=dt.date(2026, 1, 2), body=rendered["body"], closing=rendered["closing"],
        signer_name="Sample Owner", signer_title="Customer care", qr_url=rendered["qr_url"].strip() or None,
        digits=fields.get("digits", "latn"), calendar=calendar), limits, draw=False)
    fields = {**fields, **short}
    return {"language": language, "body": body, "closing": (fields.get("closing") or "").strip(),
            "qr_url": (fields.get("qr_url") or "").strip(), "digits": fields.get("digits", "latn"),
            "name": (fields.get("name") or "").strip(), "handwriting_signature": bool(fields.get("handwriting_signature",
                                                                                                 True)),
            "calendar": calendar}


def check_template_calendar(calendar, language: str) -> str:
    """A template's calendar: Gregorian, or for an Arabic template Hijri (Umm al-Qura) or both; LetterError
    naming the field otherwise."""
    if calendar not in CALENDARS:
        raise LetterError(N_("%(field)s: must be one of %(calendars)s"), FIELD, field="calendar",
                          calendars=", ".join(CALENDARS))
    if calendar != "gregorian" and language not in generator.HIJRI_LANGUAGES:
        raise LetterError(N_("%(field)s: the Hijri calendar is for Arabic letters; Persian letters are dated in the "
                             "Solar Hijri calendar, English ones in the Gregorian calendar"), FIELD, field="calendar")
    return calendar


def save_template(session: Session, key: str, fields: dict, *, actor: str, now: dt.datetime,
                  restored_from: int | None = None) -> LetterTemplate:
    """Save an edit as a new version (the old one stays for the record); `restored_from` when it is an
    older version saved again (restore_template)."""
    check_key(key)
    clean = validate_template(fields)
    old = session.scalar(select(LetterTemplate).where(LetterTemplate.key == key,
                                                      LetterTemplate.language == clean["language"],
                                                      LetterTemplate.is_current.is_(True)))
    if old is not None:
        old.is_current = False
    new = LetterTemplate(key=key, version=(old.version + 1) if old else 1, is_current=True, created_at=now,
                         created_by=actor, created_by_id=_staff_id(actor),
                         **{**clean, "name": clean["name"] or (old.name if old else key)})
    session.add(new)
    if restored_from is None:
        record(session, actor=actor, action="letter_template.saved", entity_type="letter_template",
               entity_id=f"{key}/{clean['language']}", now=now, changes={"version": new.version})
    else:
        record(session, actor=actor, action="letter_template.restored", entity_type="letter_template",
               entity_id=f"{key}/{clean['language']}", now=now,
               changes={"version": new.version, "restored_from": restored_from})
    return new


def _staff_id(actor: str) -> int | None:
    """The staff id in an audit actor ("staff:12" -> 12); None for the seed, the system, tests."""
    if isinstance(actor, str) and actor.startswith("staff:") and actor[6:].isdigit():
        return int(actor[6:])
    return None


# --- Version history of a template: who, when, what changed, restore ------------------------------

TEMPLATE_FIELDS = ("name", "body", "closing", "qr_url", "digits", "handwriting_signature", "calendar")


def template_versions(session: Session, key: str, language: str) -> list[LetterTemplate]:
    """Every version of a template in one language, newest first."""
    return list(session.scalars(select(LetterTemplate).where(LetterTemplate.key == key,
                                                             LetterTemplate.language == language)
                                .order_by(LetterTemplate.version.desc())))


def changed_fields(old: LetterTemplate | None, new: LetterTemplate) -> list[str]:
    """The fields a version changed from the one before (none before: the first version)."""
    if old is None:
        return []
    return [name for name in TEMPLATE_FIELDS if getattr(old, name) != getattr(new, name)]


@dataclass
class DiffLine:
    kind: str    # "same", "added", "removed"
    old: int | None
    new: int | None
    text: str


def line_diff(old: str, new: str) -> list[DiffLine]:
    """A line-by-line diff of two texts (difflib), each line numbered in its version."""
    import difflib

    a, b = (old or "").splitlines(), (new or "").splitlines()
    lines = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            lines += [DiffLine("same", i1 + k + 1, j1 + k + 1, a[i1 + k]) for k in range(i2 - i1)]
            continue
        lines += [DiffLine("removed", i + 1, None, a[i]) for i in range(i1, i2)]
        lines += [DiffLine("added", None, j + 1, b[j]) for j in range(j1, j2)]
    return lines


def restore_template(session: Session, key: str, language: str, version: int, *, actor: str,
                     now: dt.datetime) -> LetterTemplate:
    """Save an older version again as a new version (history is never rewritten)."""
    old = session.scalar(select(LetterTemplate).where(LetterTemplate.key == key, LetterTemplate.language == language,
                                                      LetterTemplate.version == version))
    if old is None:
        raise LetterNotFound(N_("version: no version %(version)s of this template"), version=version)
    if old.is_current:
        raise LetterConflict(N_("version: version %(version)s is already the current one"), version=version)
    fields = {name: getattr(old, name) for name in TEMPLATE_FIELDS}
    return save_template(session, key, {"language": language, **fields}, actor=actor, now=now,
                         restored_from=version)


# --- Personalising one letter ------------------------------------------------------------------

@dataclass
class Company:
    """The sender, from settings."""

    name: str
    website: str
    phone: str
    address: list[str]
    # Where the letters are posted from (ISO 3166-1 alpha-2): mail within it prints no country line.
    country: str = "GB"
    # The paper the sender's printer holds ("A4" or "LETTER"); "" = the usual one in the sender's country.
    paper: str = ""

    @property
    def letter_paper(self) -> str:
        """The paper every letter of this sender prints on (the sender's setting, not the recipient's)."""
        return generator.get_layout(self.paper).name if self.paper else generator.default_paper(self.country)


def company_from(config) -> Company:
    return Company(name=config.get("COMPANY_NAME", "Demo Shop"),
                   website=config.get("COMPANY_WEBSITE", "https://shop.example.com"),
                   phone=config.get("COMPANY_PHONE", "+44 20 7946 0000"),
                   address=list(config.get("COMPANY_ADDRESS", ["1 Market Street", "London EC1A 1AA",
                                                               "United Kingdom"])),
                   country=(config.get("COMPANY_COUNTRY") or "GB").upper(),
                   paper=config.get("LETTER_PAPER") or "")


def sample_context(language: str) -> dict:
    """A made-up customer, to check that a template renders before it is saved."""
    return _context(language, "latn", _customer_values("C0", "Sample Customer", "", ""),
                    {"id": "S0", "product": "Sample product", "category": "", "amount": Decimal("100"),
                     "currency": "USD", "sold_at": dt.date(2026, 1, 1)},
                    _owner_values("Sample Owner", "Customer care", "owner@example.com"),
                    Company("Demo Shop", "https://shop.example.com", "", []), dt.date(2026, 1, 2))


def _customer_values(external_id: str, name: str | None, city: str | None, country: str | None) -> dict:
    """What a template knows of the customer (the sample and every real letter alike)."""
    return {"id": external_id, "name": name, "first_name": (name or "").split(" ")[0], "city": city,
            "country": country or ""}


def _owner_values(name: str, title: str, email: str) -> dict:
    return {"name": name, "title": title, "email": email}


# Links other features give a letter (surveys: `survey_url`, the letter's own survey link, for its QR code;
# referrals: `referral`, the offer's code and link). A provider is called once for a whole chunk of letters,
# provider(session, letters) -> {letter id: {variable: value}}, and only when the template names one of the
# variables it gives: a print batch costs one query per chunk, not one per letter. Links carry a random token,
# never a customer number.
LETTER_LINKS: list[tuple] = []  # (provider, variables it gives)
LINK_VARIABLES = {"survey_url": "https://shop.example.com/s/SAMPLE-TOKEN"}  # the preview's made-up values


def register_letter_links(provider, variables: tuple[str, ...]) -> None:
    if all(p is not provider for p, _ in LETTER_LINKS):
        LETTER_LINKS.append((provider, tuple(variables)))


def template_source(template) -> str:
    """The template's text (body, closing, QR link), to see which link variables it names."""
    return "" if template is None else " ".join(t or "" for t in (template.body, template.closing, template.qr_url))


def letter_links_for(session: Session, letters: list, sources: dict) -> dict[int, dict]:
    """{letter id: {variable: value}} for these letters, each provider asked once for the letters whose
    template's text (sources[(template_key, language)], see template_source) names one of its variables."""
    found: dict[int, dict] = {letter.id: {name: "" for name in LINK_VARIABLES} for letter in letters}
    for provider, variables in LETTER_LINKS:
        wanted = [letter for letter in letters
                  if any(v in sources.get((letter.template_key, letter.language), "") for v in variables)]
        if wanted:
            for letter_id, values in (provider(session, wanted) or {}).items():
                found[letter_id].update(values)
    return found


def _letter_links(letter, template) -> dict:
    from sqlalchemy.orm import object_session

    session = object_session(letter)
    if session is None or letter.id is None:
        return {name: "" for name in LINK_VARIABLES}
    return letter_links_for(session, [letter],
                            {(letter.template_key, letter.language): template_source(template)})[letter.id]


def _context(language, digits, customer, sale, owner, company: Company, today: dt.date,
             locale: str = "", form_of_address: str = "", calendar: str = "", links: dict | None = None) -> dict:
    """Plain values only: a template never sees a database object.

    Values a reader must not lose across a line end (product and company names, amounts, dates, the
    phone number) are single units: their spaces are no-break spaces. Dates and amounts follow the
    letter's locale (language + the recipient's country: en_GB, en_US, ar_EG, fa_IR...); dates the template's
    calendar (Hijri, or Hijri and Gregorian, for Arabic templates that ask).
    """
    nb = generator.nobreak
    where = locale or language
    sale_ctx = None
    if sale:
        sale_ctx = {"id": sale["id"], "product": nb(sale["product"] or ""), "category": sale["category"] or "",
                    "amount": generator.format_money(sale["amount"], sale["currency"], where, digits),
                    "currency": sale["currency"],
                    "date": generator.format_letter_date(sale["sold_at"], where, digits, calendar)}
    # A phone number inside a right-to-left sentence keeps its left-to-right order only when isolated.
    phone = nb(company.phone)
    phone = f"\u2066{phone}\u2069" if is_rtl(language) and phone else phone
    return {"customer": customer, "sale": sale_ctx, "owner": owner,
            "company": {"name": nb(company.name), "website": company.website, "phone": phone},
            "greeting": generator.greeting(language, customer.get("name") or "", customer.get("first_name") or "",
                                           form_of_address, where),
            "today": generator.format_letter_date(today, where, digits, calendar), "language": language,
            **(links if links is not None else LINK_VARIABLES)}


def letter_content(letter: Letter, template: LetterTemplate, company: Company, today: dt.date,
                   limits: TemplateLimits | None = None, links: dict | None = None) -> generator.LetterContent:
    """Everything the printed letter shows, rendered from the template for this customer; LetterError
    (with the field and reason) for anything that goes wrong personalising it."""
    try:
        return _letter_content(letter, template, company, today, limits or current_limits(), links)
    except LetterError:
        raise
    except Exception as exc:  # noqa: BLE001 - e.g. a value the formatting of money or dates cannot take
        raise LetterError(f"letter: cannot be personalised: {type(exc).__name__}: {exc}"[:500]) from None


def _letter_content(letter: Letter, template: LetterTemplate, company: Company, today: dt.date,
                    limits: TemplateLimits, links: dict | None = None) -> generator.LetterContent:
    customer: Customer = letter.customer
    sale: Sale | None = letter.sale
    owner = customer.owner
    language = template.language
    digits = template.digits
    locale = generator.letter_locale(language, customer.country or "")
    # The signer in the reader's script: the owner's name and title for the letter's language, if set.
    signer_name, signer_title = (owner.signature_for(language) if owner and hasattr(owner, "signature_for")
                                 else (owner.display_name if owner else company.name, owner.title if owner else ""))
    ctx = _context(
        language, digits,
        _customer_values(customer.external_id, customer.name, customer.city, customer.country),
        {"id": sale.external_id, "product": sale.product, "category": sale.category, "amount": sale.amount,
         "currency": sale.currency, "sold_at": sale.sold_at.date()} if sale else None,
        _owner_values(signer_name, signer_title, owner.email if owner else ""),
        company, today, locale, customer.form_of_address or "", template.calendar or "",
        links if links is not None else _letter_links(letter, template))
    body = render_text(template.body, ctx, "body", limits)
    closing = render_text(template.closing or "", ctx, "closing", limits)
    qr = render_text(template.qr_url, ctx, "qr_url", limits).strip() if template.qr_url else None
    return generator.LetterContent(
        language=language, paper=company.letter_paper, sender_country=company.country, locale=locale,
        recipient_name=customer.name, address=generator.Address(
            lines=list(customer.address_lines or []), city=customer.city or "", region=customer.region or "",
            postal_code=customer.postal_code or "", country=customer.country or ""),
        return_address=[company.name, *company.address], letter_date=today, body=body, closing=closing,
        signer_name=ctx["owner"]["name"], signer_title=ctx["owner"]["title"],
        handwriting_signature=template.handwriting_signature, qr_url=qr or None, digits=digits,
        calendar=template.calendar or "",
        reference=f"L-{letter.id:06d}" if letter.id else "")


def layout_error(exc: Exception) -> LetterError:
    """Why the generator could not lay out a letter, as a LetterError naming the limit or field."""
    if isinstance(exc, LetterError):
        return exc
    if isinstance(exc, generator.LetterTooLong):
        from retention.postal.sandbox import current_limits as _limits

        return LetterLimitError(N_("%(field)s: the letter would be longer than %(pages)s pages"), "pages", FIELD,
                                field="pages", pages=_limits().pages)
    if isinstance(exc, generator.QrTooLong):
        return LetterError(f"qr_url: {exc}")
    if isinstance(exc, generator.AddressDoesNotFit):
        return LetterError(N_("address: it does not fit the envelope window at 8 pt, even wrapped; shorten it "
                              "on the customer's record"))
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
