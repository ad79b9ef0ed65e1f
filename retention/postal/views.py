"""Pages: letter templates with a live PDF preview (marketing), queued letters and print batches (mail room)."""
from __future__ import annotations

import datetime as dt

from flask import (Blueprint, Response, abort, current_app, flash, jsonify, redirect, render_template, request,
                   send_file, url_for)
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select, update
from sqlalchemy.orm import joinedload

from retention.audit.service import actor_of
from retention.customers.models import Customer
from retention.extensions import db
from retention.errors import http_status
from retention.i18n import digits, number
from retention.postal import batches, labels, service
from retention.postal.models import BUILDING, FAILED, QUEUED, Letter, LetterTemplate, PrintBatch
from retention.request_input import page_arg
from retention.queue import QueueUnavailable, get_queue
from retention.staff.access import roles_required
from retention.staff.redirects import safe_referrer
from retention import clock

blueprint = Blueprint("letters", __name__, url_prefix="/letters")


# The seeded templates' names in the reader's language (a key marketing adds shows the name it was given).
TEMPLATE_KEY_NAMES = {"welcome": _l("Welcome letter"), "thank_you": _l("Thank-you letter (day 90)"),
                      "referral_offer": _l("Referral offer"), "apology": _l("Apology after a complaint")}
DIGIT_LABELS = {"latn": _l("Western (123)"), "arab": _l("Arabic-Indic (١٢٣)"), "arabext": _l("Persian (۱۲۳)")}
# The calendars of a template's dates (service.CALENDARS; Hijri ones for Arabic templates).
CALENDAR_LABELS = {"gregorian": _l("Gregorian"), "hijri": _l("Hijri (Umm al-Qura)"),
                   "both": _l("Hijri, then the Gregorian date")}
# What each variable a template can use holds (the list itself comes from the template context: service.variables).
VARIABLE_HELP = {
    "customer.id": _l("the customer's id"), "customer.name": _l("full name"),
    "customer.first_name": _l("first name (the first word of the name)"), "customer.city": _l("city"),
    "customer.country": _l("country code, e.g. IR"), "sale.id": _l("the sale's id"),
    "sale.product": _l("the product bought"), "sale.category": _l("product category"),
    "sale.amount": _l("price with its currency, in the letter's digits"), "sale.currency": _l("currency code, e.g. EUR"),
    "sale.date": _l("date of the sale, in the letter's language"), "owner.name": _l("the customer's contact person"),
    "owner.title": _l("their job title"), "owner.email": _l("their email"), "company.name": _l("our company's name"),
    "company.website": _l("our website"), "company.phone": _l("our phone number"),
    "greeting": _l("the salutation by the customer's form of address, e.g. “Dear Ms Jones,”, as the letter's "
                   "language writes it"),
    "today": _l("today's date, in the letter's language"), "language": _l("the letter's language code (en, ar, fa)"),
    # A referral offer's letter (retention/referrals/delivery.py); empty in other letters.
    "referral.code": _l("the customer's personal referral code"), "referral.url": _l("the code's link, for the QR code"),
    "referral.reward": _l("the customer's reward, in figures"), "referral.reward_words": _l("the reward in words"),
    "referral.reward_type": _l("how the reward is given, e.g. “as a gift card”"),
    "referral.friend_incentive": _l("what the friend gets off their first purchase"),
    "referral.expires": _l("the last day the code is valid"),
}


def template_display_name(key: str, names: dict[str, str]) -> str:
    """A template key's name for the reader: ours for the seeded ones, else the one given in their language
    (else English, else the key)."""
    if key in TEMPLATE_KEY_NAMES:
        return str(TEMPLATE_KEY_NAMES[key])
    return labels.template_name(names, key)


@blueprint.route("/templates/")
@roles_required("marketing")
def templates():
    """Every template with its name in the page's language and each letter language by name."""
    rows = db.session.scalars(select(LetterTemplate).where(LetterTemplate.is_current.is_(True))
                              .order_by(LetterTemplate.key, LetterTemplate.language)).all()
    grouped: dict[str, dict[str, LetterTemplate]] = {}
    for t in rows:
        grouped.setdefault(t.key, {})[t.language] = t
    names = labels.template_names(db.session, _viewer_language())
    ordered = sorted(grouped, key=lambda k: template_display_name(k, names).casefold())
    return render_template("letters/templates.html", grouped=grouped, keys=ordered, languages=service.LANGUAGES,
                           display_name=lambda k: template_display_name(k, names), language_labels=labels.LANGUAGE)


def _sample_letter(language: str, customer_ref: str | None) -> Letter:
    """An unsaved letter to preview against a real customer (one of that language by default)."""
    customer = None
    if customer_ref and (len(customer_ref) > 200 or "\x00" in customer_ref):
        raise service.LetterError(service.N_("%(field)s: not a customer id"), service.FIELD, field="customer")
    if customer_ref:
        customer = db.session.scalar(select(Customer).where(Customer.external_id == customer_ref))
        if customer is None:
            raise service.LetterError(service.N_("%(field)s: no customer with the id %(id)s"), service.FIELD,
                                      field="customer", id=customer_ref)
    if customer is None:
        customer = db.session.scalar(select(Customer).where(Customer.locale == language)
                                     .order_by(Customer.id.desc())) or db.session.scalar(select(Customer))
    if customer is None:
        raise service.LetterError(service.N_("%(field)s: there is no customer to preview with yet"), service.FIELD,
                                  field="customer")
    sale = customer.sales[-1] if customer.sales else None
    letter = Letter(id=0, customer=customer, sale=sale, template_key="preview", language=language)
    return letter


def _check_template_url(key: str, language: str) -> None:
    if language not in service.LANGUAGES:
        abort(404, description="language: not a letter language")
    try:
        service.check_key(key)
    except service.LetterError as exc:
        abort(404, description=str(exc))


def _editor(key: str, language: str, template, version: int, error: str | None = None):
    names = labels.template_names(db.session, _viewer_language())
    return render_template(
        "letters/edit.html", key=key, language=language, template=template, version=version, error=error,
        display_name=template_display_name(key, names), language_labels=labels.LANGUAGE, digit_labels=DIGIT_LABELS,
        calendar_labels=CALENDAR_LABELS, hijri_languages=service.generator.HIJRI_LANGUAGES,
        variables=[(name, VARIABLE_HELP.get(name, "")) for name in service.variables()],
        reading=_reading_parts(template["body"] if isinstance(template, dict) else template.body))


def _reading_parts(body: str) -> list[tuple[bool, str]]:
    """The body cut into text and {{ }}/{% %} parts, so the page shows each placeholder isolated (left to
    right, whole) inside right-to-left text."""
    import re

    parts, pos = [], 0
    for found in re.finditer(r"\{\{.*?\}\}|\{%.*?%\}", body or "", re.S):
        if found.start() > pos:
            parts.append((False, body[pos:found.start()]))
        parts.append((True, found.group(0)))
        pos = found.end()
    if pos < len(body or ""):
        parts.append((False, body[pos:]))
    return parts


@blueprint.route("/templates/<key>/<language>", methods=["GET", "POST"])
@roles_required("marketing")
def edit_template(key: str, language: str):
    """Edit a template; saving writes a new version. A refused save shows what was typed, with the version
    it would have replaced."""
    _check_template_url(key, language)
    template = db.session.scalar(select(LetterTemplate).where(
        LetterTemplate.key == key, LetterTemplate.language == language, LetterTemplate.is_current.is_(True)))
    version = template.version if template is not None else 0
    if request.method == "POST":
        fields = _template_fields(language)
        try:
            saved = service.save_template(db.session, key, fields, actor=actor_of(current_user), now=clock.now())
        except service.LetterError as exc:
            db.session.rollback()
            return _editor(key, language, fields, version, exc.localized()), 422
        db.session.commit()
        flash(_("Saved version %(version)s of %(name)s (%(language)s).", version=number(saved.version),
                name=template_display_name(key, labels.template_names(db.session, _viewer_language())),
                language=labels.LANGUAGE[language]))
        return redirect(url_for("letters.edit_template", key=key, language=language))
    if template is None:
        template = {"body": "", "closing": "", "qr_url": "", "digits": "latn", "name": "",
                    "handwriting_signature": True, "calendar": "gregorian"}
    return _editor(key, language, template, version)


def _template_fields(language: str) -> dict:
    form = request.form
    return {"language": language, "name": form.get("name", ""), "body": form.get("body", ""),
            "closing": form.get("closing", ""), "qr_url": form.get("qr_url", ""), "digits": form.get("digits", "latn"),
            "handwriting_signature": form.get("handwriting_signature") == "on",
            "calendar": form.get("calendar", "gregorian")}


@blueprint.route("/templates/<key>/<language>/preview", methods=["POST"])
@roles_required("marketing")
def preview(key: str, language: str):
    """The PDF the form's current text gives for a real customer; 422 with the reason (in the reader's
    language) when it cannot."""
    fields = _template_fields(language)
    try:
        service.check_key(key)
        clean = service.validate_template(fields)
        letter = _sample_letter(language, request.form.get("customer") or None)
        draft = LetterTemplate(key=key, version=0, **clean)
        pdf = service.render_one(db.session, letter, service.company_from(current_app.config), clock.now().date(), draft)
    except service.LetterError as exc:
        db.session.rollback()
        return jsonify(status="invalid", message=exc.localized()), 422
    finally:
        db.session.rollback()  # the sample letter is never saved
    return Response(pdf, mimetype="application/pdf")


@blueprint.route("/templates/<key>/<language>/versions")
@roles_required("marketing")
def template_versions(key: str, language: str):
    """Every version of a template in one language: who, when, what changed; a line diff of any two; restore."""
    _check_template_url(key, language)
    history = service.template_versions(db.session, key, language)
    if not history:
        abort(404, description="template: no such template")
    by_number = {t.version: t for t in history}
    newer = _whole(request.args.get("b")) or history[0].version
    older = _whole(request.args.get("a"))
    if newer not in by_number or (older is not None and older not in by_number):
        abort(404, description="version: no such version")
    if older is None:
        older = next((t.version for t in history if t.version < newer), newer)
    changes = {t.version: service.changed_fields(next((o for o in history if o.version < t.version), None), t)
               for t in history}
    a, b = by_number[older], by_number[newer]
    names = labels.template_names(db.session, _viewer_language())
    return render_template(
        "letters/versions.html", key=key, language=language, history=history, changes=changes, older=older,
        newer=newer, body_diff=service.line_diff(a.body, b.body), closing_diff=service.line_diff(a.closing, b.closing),
        other_fields=[(f, getattr(a, f), getattr(b, f))
                      for f in ("name", "qr_url", "digits", "handwriting_signature", "calendar")
                      if getattr(a, f) != getattr(b, f)],
        display_name=template_display_name(key, names), language_labels=labels.LANGUAGE,
        field_labels=service.TEMPLATE_FIELD_LABELS, digit_labels=DIGIT_LABELS, calendar_labels=CALENDAR_LABELS,
        parts=_reading_parts)


def _whole(text) -> int | None:
    text = (text or "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 9:
        return None
    return int(text)


@blueprint.route("/templates/<key>/<language>/versions/<int:version>/restore", methods=["POST"])
@roles_required("marketing")
def restore_template(key: str, language: str, version: int):
    """Save an older version again as the newest (history is kept)."""
    _check_template_url(key, language)
    try:
        saved = service.restore_template(db.session, key, language, version, actor=actor_of(current_user),
                                         now=clock.now())
    except service.LetterError as exc:
        db.session.rollback()
        if http_status(exc) == 404:
            abort(404, description=str(exc))
        flash(exc.localized())
        return redirect(url_for("letters.template_versions", key=key, language=language)), 303
    db.session.commit()
    flash(_("Version %(old)s restored as version %(new)s.", old=number(version), new=number(saved.version)))
    return redirect(url_for("letters.template_versions", key=key, language=language))


def _viewer_language() -> str:
    from retention.i18n import ui_language

    return ui_language()


def _country_options(language: str) -> list[tuple[str, str, int]]:
    """(code, name in the reader's language, queued letters) of every country with letters waiting, by name."""
    rows = db.session.execute(select(Customer.country, func.count())
                              .join(Letter, Letter.customer_id == Customer.id)
                              .where(Letter.status == QUEUED, Letter.batch_id.is_(None), Customer.country.is_not(None))
                              .group_by(Customer.country)).all()
    return sorted(((code, labels.country_name(code, language), n) for code, n in rows), key=lambda r: r[1])


@blueprint.route("/")
@roles_required("print")
def mail_room():
    """Queued letters by template and country, the batch form, and recent batches."""
    language = _viewer_language()
    counts = db.session.execute(select(Letter.template_key, Customer.country, func.count())
                                .join(Customer, Customer.id == Letter.customer_id)
                                .where(Letter.status == QUEUED, Letter.batch_id.is_(None))
                                .group_by(Letter.template_key, Customer.country)
                                .order_by(Letter.template_key, Customer.country)).all()
    skipped = db.session.scalars(select(Letter).where(Letter.status == QUEUED, Letter.batch_id.is_(None),
                                                      Letter.error.is_not(None))
                                 .options(joinedload(Letter.customer)).order_by(Letter.id).limit(50)).all()
    recent = db.session.scalars(select(PrintBatch).order_by(PrintBatch.id.desc()).limit(30)).all()
    names = labels.template_names(db.session, language)
    return render_template("letters/mail_room.html", counts=counts, batches=recent, skipped=skipped,
                           names=names, template_name=labels.template_name, countries=_country_options(language),
                           country_name=lambda code: labels.country_name(code, language),
                           keys=sorted({key for key, _, _ in counts}, key=lambda k: labels.template_name(names, k)),
                           form=request.args, now=clock.now(), **_label_dicts())


def _label_dicts() -> dict:
    return {"batch_status": labels.BATCH_STATUS, "letter_stage": labels.LETTER_STAGE, "stage_of": labels.letter_stage,
            "reasons": labels.RETURN_REASON, "language_name": labels.LANGUAGE, "batch_actions": batches.batch_actions,
            "letter_actions": batches.letter_actions}


def _filters_from(form) -> dict:
    filters = {"template_key": form.get("template_key") or None, "country": (form.get("country") or "").upper() or None,
               "language": form.get("language") or None}
    for name in ("since", "until"):
        if form.get(name):
            filters[name] = batches.parse_filter_date(name, form[name])
    return filters


def start_build(batch_id: int) -> None:
    """Queue the build after the batch row is committed; with Redis down the page says so and offers Rebuild."""
    try:
        get_queue().enqueue("jobs.letters.build_print_batch", batch_id)
    except QueueUnavailable:
        db.session.execute(update(PrintBatch).where(PrintBatch.id == batch_id).values(build_requested_at=None))
        db.session.commit()
        flash(_("The job queue cannot be reached; press \u201cBuild again\u201d in a moment to lay out the batch."))


@blueprint.route("/batches", methods=["POST"])
@roles_required("print")
def create_batch():
    """Take the matching queued letters into a batch and start building its PDF."""
    try:
        batch = batches.create_batch(db.session, filters=_filters_from(request.form),
                                     duplex=request.form.get("duplex") == "on", actor=actor_of(current_user),
                                     now=clock.now())
    except service.LetterError as exc:
        db.session.rollback()
        flash(exc.localized())
        # Back to the form with what was chosen (the form reads it from the query string).
        kept = {k: v for k, v in request.form.items() if k in ("template_key", "country", "since", "until", "duplex")
                and isinstance(v, str) and len(v) <= 60 and "\x00" not in v}
        return redirect(url_for("letters.mail_room", **kept)), 303
    db.session.commit()
    start_build(batch.id)
    return redirect(url_for("letters.batch", batch_id=batch.id))


def _batch(batch_id: int) -> PrintBatch:
    return db.session.get(PrintBatch, batch_id) or abort(404, description=_("batch: no such batch"))


def _letter(letter_id: int) -> Letter:
    return db.session.get(Letter, letter_id) or abort(404, description=_("letter: no such letter"))


BATCH_PAGE_LETTERS = 500


def _render_batch(b: PrintBatch, error: str | None = None, code: int = 200):
    language = _viewer_language()
    rows = db.session.scalars(select(Letter).where(Letter.batch_id == b.id).options(joinedload(Letter.customer))
                              .order_by(Letter.first_page, Letter.id).limit(BATCH_PAGE_LETTERS)).all()
    pulls, pull_count = batches.sheets_to_pull(db.session, b)  # cancelled since laid out: not to be posted
    return render_template("letters/batch.html", batch=b, letters=rows, error=error, now=clock.now(),
                           pulls=pulls, pull_count=pull_count, pull_ids={l.id for l in pulls},
                           names=labels.template_names(db.session, language), template_name=labels.template_name,
                           country_name=lambda code: labels.country_name(code, language),
                           shown_max=BATCH_PAGE_LETTERS, **_label_dicts()), code


@blueprint.route("/batches/<int:batch_id>")
@roles_required("print")
def batch(batch_id: int):
    """One batch: progress while it builds, then downloads and only the actions its state allows."""
    return _render_batch(_batch(batch_id))


@blueprint.route("/batches/<int:batch_id>/status")
@roles_required("print")
def batch_status(batch_id: int):
    """Progress as JSON, polled by the batch page."""
    b = _batch(batch_id)
    return jsonify(status=b.status, done=b.done, total=b.total, skipped=b.skipped, pages=b.pages)


@blueprint.route("/batches/<int:batch_id>/<any(pdf, manifest):kind>")
@roles_required("print")
def download(batch_id: int, kind: str):
    """The batch's PDF or manifest CSV (its column names in the reader's language, and a last column marking the
    sheets to pull before posting: batches.manifest_download). A file no longer on disk: the batch page with what to
    do (409), e.g. lay the batch out again."""
    b = _batch(batch_id)
    path = b.pdf_path if kind == "pdf" else b.manifest_path
    if b.status in (BUILDING, FAILED) or not path:
        abort(409, description=_("batch: still being laid out"))
    try:
        if kind == "pdf":
            return send_file(path, as_attachment=True, download_name=f"batch-{b.id}.pdf")
        body = batches.manifest_download(db.session, b, headers={k: str(v) for k, v in labels.MANIFEST_HEADER.items()},
                                         reasons={k: str(v) for k, v in labels.PULL_REASON.items()})
    except batches.MISSING_ON_DISK:
        return _missing_file(b, batches.missing_file(b, kind))
    except batches.BatchFileMissing as exc:
        return _missing_file(b, exc)
    return Response(body, mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename=batch-{b.id}.csv"})


def _missing_file(b: PrintBatch, exc: batches.BatchFileMissing):
    """The batch page saying which file is gone and what to do (its actions: lay out again where the state allows)."""
    db.session.rollback()
    return _render_batch(b, error=exc.localized(), code=http_status(exc))


ACTION_DONE = {
    "printed": _l("Batch %(id)s marked printed (%(num)s letters)."),
    "mailed": _l("Batch %(id)s marked mailed (%(num)s letters)."),
    "rebuild": _l("Batch %(id)s is being laid out again (%(num)s letters)."),
}


@blueprint.route("/batches/<int:batch_id>/<any(printed, mailed, rebuild):action>", methods=["POST"])
@roles_required("print")
def batch_action(batch_id: int, action: str):
    """Mark printed, mark mailed, or rebuild (reprint) the batch; an action its state does not allow: 409."""
    b = _batch(batch_id)
    now = clock.now()
    try:
        if action == "printed":
            n = batches.mark_printed(db.session, b, now, actor=actor_of(current_user))
        elif action == "mailed":
            n = batches.mark_mailed(db.session, b, now, actor=actor_of(current_user))
        else:
            n = batches.request_rebuild(db.session, b, actor=actor_of(current_user), now=now)
    except service.LetterError as exc:
        db.session.rollback()
        return _render_batch(_batch(batch_id), error=exc.localized(), code=http_status(exc))
    db.session.commit()
    if action == "rebuild":
        start_build(batch_id)
    flash(str(ACTION_DONE[action]) % {"id": digits(b.id), "num": number(n)})
    return redirect(url_for("letters.batch", batch_id=batch_id))


@blueprint.route("/<int:letter_id>.pdf")
@roles_required("print", "marketing", "onboarding")
def letter_pdf(letter_id: int):
    """Look at one letter as it prints today."""
    letter = _letter(letter_id)
    try:
        pdf = service.render_one(db.session, letter, service.company_from(current_app.config), clock.now().date())
    except service.LetterError as exc:
        abort(422, description=exc.localized())
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f"inline; filename=letter-{letter_id}.pdf"})


def _back(letter: Letter) -> str:
    """The page the return was recorded from (its batch when that was the letter's own form)."""
    fallback = url_for("letters.batch", batch_id=letter.batch_id) if letter.batch_id else url_for("letters.returned_mail")
    back = safe_referrer(fallback)
    return fallback if back.split("?")[0].endswith(url_for("letters.return_form", letter_id=letter.id)) else back


@blueprint.route("/<int:letter_id>/reprint", methods=["POST"])
@roles_required("print")
def reprint(letter_id: int):
    """A new PDF of one letter of a laid-out batch, to print now and put back with its batch (audited)."""
    letter = _letter(letter_id)
    now = clock.now()
    try:
        pdf = batches.reprint_letter(db.session, letter, company=service.company_from(current_app.config),
                                     today=now.date(), actor=actor_of(current_user), now=now)
    except service.LetterError as exc:
        db.session.rollback()
        if letter.batch_id:
            return _render_batch(_batch(letter.batch_id), error=exc.localized(), code=http_status(exc))
        abort(http_status(exc), description=exc.localized())
    db.session.commit()
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f"attachment; filename=letter-{letter_id}-reprint-{letter.reprint_count}.pdf"})


def _render_return_form(letter: Letter, error: str | None = None, code: int = 200, reason: str = "", note: str = ""):
    language = _viewer_language()
    return render_template("letters/return.html", letter=letter, error=error, reason=reason, note=note,
                           names=labels.template_names(db.session, language), template_name=labels.template_name,
                           country_name=lambda c: labels.country_name(c, language), note_chars=batches.NOTE_CHARS,
                           **_label_dicts()), code


@blueprint.route("/find")
@roles_required("print")
def find_letter():
    """The reference printed on a returned envelope (L-000123, or just 123) opens that letter's return form."""
    ref = (request.args.get("ref") or "").strip()
    folded = ref.translate(_DIGITS).upper().removeprefix("L-").removeprefix("L").lstrip("0")
    if not (folded.isascii() and folded.isdigit()) or len(folded) > 10 or int(folded) > 2**31 - 1:
        flash(_("reference: type the letter reference printed on the envelope, e.g. L-000123"))
        return redirect(url_for("letters.returned_mail")), 303
    letter = db.session.get(Letter, int(folded))
    if letter is None:
        flash(_("reference: no letter %(ref)s", ref=ref))
        return redirect(url_for("letters.returned_mail")), 303
    return redirect(url_for("letters.return_form", letter_id=letter.id))


# Persian and Arabic-Indic digits typed into the reference box read as 0-9.
_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")


@blueprint.route("/<int:letter_id>/return")
@roles_required("print")
def return_form(letter_id: int):
    """Record a returned letter: why it came back, and a note for the customer's owner."""
    return _render_return_form(_letter(letter_id))


@blueprint.route("/<int:letter_id>/returned", methods=["POST"])
@roles_required("print")
def returned(letter_id: int):
    """Record returned mail with its reason; the address is flagged and the owner gets a call to fix it."""
    letter = _letter(letter_id)
    reason, note = request.form.get("reason", ""), request.form.get("note", "")
    try:
        record = batches.record_returned(db.session, letter, clock.now(), actor=actor_of(current_user),
                                         reason=reason, note=note)
    except service.LetterError as exc:
        db.session.rollback()
        return _render_return_form(_letter(letter_id), error=exc.localized(), code=http_status(exc), reason=reason,
                                   note=note)
    db.session.commit()
    if record.call_id:
        flash(_("Letter %(ref)s recorded as returned; %(name)s's owner has a call to fix the address.",
                ref=letter_ref(letter.id), name=letter.customer.name))
    else:
        flash(_("Letter %(ref)s recorded as returned and the address flagged; nobody makes calls yet, so no call "
                "was opened to fix it.", ref=letter_ref(letter.id)))
    return redirect(_back(letter))


@blueprint.route("/<int:letter_id>/undo-return", methods=["POST"])
@roles_required("print")
def undo_return(letter_id: int):
    """A return recorded by mistake: the letter goes back to mailed (or printed); the fix-address call is cancelled."""
    letter = _letter(letter_id)
    try:
        batches.undo_return(db.session, letter, clock.now(), actor=actor_of(current_user))
    except service.LetterError as exc:
        db.session.rollback()
        abort(http_status(exc), description=exc.localized())
    db.session.commit()
    flash(_("Return of letter %(ref)s undone.", ref=letter_ref(letter.id)))
    return redirect(safe_referrer(url_for("letters.returned_mail")))


def _date_arg(name: str):
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    when = batches.parse_filter_date(name, raw)
    batches.check_filters({name: when})
    return when


@blueprint.route("/returned")
@roles_required("print")
def returned_mail():
    """Returned mail still standing, newest first: by reason and date, 50 a page."""
    page = page_arg(request.args)
    reason = request.args.get("reason") or None
    error = None
    try:
        since = _date_arg("since")
        until = _date_arg("until")
        if until is not None and not request.args.get("until", "").strip()[10:]:
            until += dt.timedelta(days=1)   # "until 5 March" takes in the whole day
        rows, total = batches.list_returns(db.session, reason=reason, since=since, until=until, page=page,
                                           per_page=batches.RETURNS_PER_PAGE)
    except service.LetterError as exc:
        rows, total, error = [], 0, exc.localized()
    language = _viewer_language()
    pages = max(1, (total + batches.RETURNS_PER_PAGE - 1) // batches.RETURNS_PER_PAGE)
    return render_template("letters/returned.html", rows=rows, total=total, page=page, pages=pages, error=error,
                           form=request.args, names=labels.template_names(db.session, language),
                           template_name=labels.template_name, **_label_dicts()), (400 if error else 200)


def letter_ref(letter_id: int) -> str:
    """The reference printed on a letter (and its envelope window): L-000123."""
    return f"L-{letter_id:06d}"
