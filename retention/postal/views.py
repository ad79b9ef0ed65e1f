"""Pages: letter templates with a live PDF preview (marketing), queued letters and print batches (mail room)."""
from __future__ import annotations

from flask import (Blueprint, Response, abort, current_app, flash, jsonify, redirect, render_template, request,
                   send_file, url_for)
from flask_login import current_user
from sqlalchemy import func, select

from retention.audit.service import actor_of
from retention.customers.models import Customer
from retention.extensions import db
from retention.postal import batches, service
from retention.postal.models import BUILDING, QUEUED, Letter, LetterTemplate, PrintBatch
from retention.queue import QueueUnavailable, get_queue
from retention.staff.access import roles_required
from retention.staff.redirects import safe_referrer
from retention import clock

blueprint = Blueprint("letters", __name__, url_prefix="/letters")


@blueprint.route("/templates/")
@roles_required("marketing")
def templates():
    """Every template key with its languages and current versions."""
    rows = db.session.scalars(select(LetterTemplate).where(LetterTemplate.is_current.is_(True))
                              .order_by(LetterTemplate.key, LetterTemplate.language)).all()
    grouped: dict[str, list[LetterTemplate]] = {}
    for t in rows:
        grouped.setdefault(t.key, []).append(t)
    return render_template("letters/templates.html", grouped=grouped)


def _sample_letter(language: str, customer_ref: str | None) -> Letter:
    """An unsaved letter to preview against a real customer (one of that language by default)."""
    customer = None
    if customer_ref and (len(customer_ref) > 200 or "\x00" in customer_ref):
        raise service.LetterError("customer: not a customer id")
    if customer_ref:
        customer = db.session.scalar(select(Customer).where(Customer.external_id == customer_ref))
        if customer is None:
            raise service.LetterError(f"customer: no customer {customer_ref!r}")
    if customer is None:
        customer = db.session.scalar(select(Customer).where(Customer.locale == language)
                                     .order_by(Customer.id.desc())) or db.session.scalar(select(Customer))
    if customer is None:
        raise service.LetterError("customer: there is no customer to preview with yet")
    sale = customer.sales[-1] if customer.sales else None
    letter = Letter(id=0, customer=customer, sale=sale, template_key="preview", language=language)
    return letter


@blueprint.route("/templates/<key>/<language>", methods=["GET", "POST"])
@roles_required("marketing")
def edit_template(key: str, language: str):
    """Edit a template; saving writes a new version."""
    if language not in service.LANGUAGES:
        abort(404, description="language: not a letter language")
    try:
        service.check_key(key)
    except service.LetterError as exc:
        abort(404, description=str(exc))
    template = db.session.scalar(select(LetterTemplate).where(
        LetterTemplate.key == key, LetterTemplate.language == language, LetterTemplate.is_current.is_(True)))
    if request.method == "POST":
        fields = _template_fields(language)
        try:
            saved = service.save_template(db.session, key, fields, actor=actor_of(current_user), now=clock.now())
        except service.LetterError as exc:
            db.session.rollback()
            return render_template("letters/edit.html", key=key, language=language, template=fields,
                                   error=str(exc)), 422
        db.session.commit()
        flash(f"Saved {key} ({language}) version {saved.version}.")
        return redirect(url_for("letters.edit_template", key=key, language=language))
    if template is None:
        template = {"body": "", "closing": "", "qr_url": "", "digits": "latn", "name": key,
                    "handwriting_signature": True, "version": 0}
    return render_template("letters/edit.html", key=key, language=language, template=template, error=None)


def _template_fields(language: str) -> dict:
    form = request.form
    return {"language": language, "name": form.get("name", ""), "body": form.get("body", ""),
            "closing": form.get("closing", ""), "qr_url": form.get("qr_url", ""), "digits": form.get("digits", "latn"),
            "handwriting_signature": form.get("handwriting_signature") == "on"}


@blueprint.route("/templates/<key>/<language>/preview", methods=["POST"])
@roles_required("marketing")
def preview(key: str, language: str):
    """The PDF the form's current text gives for a real customer; 422 with the reason when it cannot."""
    fields = _template_fields(language)
    try:
        service.check_key(key)
        clean = service.validate_template(fields)
        letter = _sample_letter(language, request.form.get("customer") or None)
        draft = LetterTemplate(key=key, version=0, **clean)
        pdf = service.render_one(db.session, letter, service.company_from(current_app.config), clock.now().date(), draft)
    except service.LetterError as exc:
        db.session.rollback()
        return jsonify(status="invalid", message=str(exc)), 422
    finally:
        db.session.rollback()  # the sample letter is never saved
    return Response(pdf, mimetype="application/pdf")


@blueprint.route("/")
@roles_required("print")
def mail_room():
    """Queued letters by template and country, the batch form, and recent batches."""
    counts = db.session.execute(select(Letter.template_key, Customer.country, func.count())
                                .join(Customer, Customer.id == Letter.customer_id)
                                .where(Letter.status == QUEUED, Letter.batch_id.is_(None))
                                .group_by(Letter.template_key, Customer.country)
                                .order_by(Letter.template_key, Customer.country)).all()
    skipped = db.session.scalars(select(Letter).where(Letter.status == QUEUED, Letter.error.is_not(None))
                                 .limit(50)).all()
    batches = db.session.scalars(select(PrintBatch).order_by(PrintBatch.id.desc()).limit(30)).all()
    return render_template("letters/mail_room.html", counts=counts, batches=batches, skipped=skipped)


def _filters_from(form) -> dict:
    filters = {"template_key": form.get("template_key") or None, "country": (form.get("country") or "").upper() or None,
               "language": form.get("language") or None}
    for name in ("since", "until"):
        if form.get(name):
            filters[name] = batches.parse_filter_date(name, form[name])
    return filters


def start_build(batch_id: int) -> None:
    """Queue the build after the batch row is committed; with Redis down the page says so."""
    try:
        get_queue().enqueue("jobs.letters.build_print_batch", batch_id)
    except QueueUnavailable:
        flash("The job queue is unreachable; the batch will be built when you press Rebuild.")


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
        flash(str(exc))
        return redirect(url_for("letters.mail_room")), 303
    db.session.commit()
    start_build(batch.id)
    return redirect(url_for("letters.batch", batch_id=batch.id))


def _batch(batch_id: int) -> PrintBatch:
    return db.session.get(PrintBatch, batch_id) or abort(404, description="batch: no such batch")


@blueprint.route("/batches/<int:batch_id>")
@roles_required("print")
def batch(batch_id: int):
    """One batch: progress while it builds, then downloads and the printed/mailed buttons."""
    b = _batch(batch_id)
    return render_template("letters/batch.html", batch=b,
                           letters=db.session.scalars(select(Letter).where(Letter.batch_id == b.id)
                                                      .order_by(Letter.first_page).limit(500)).all())


@blueprint.route("/batches/<int:batch_id>/status")
@roles_required("print")
def batch_status(batch_id: int):
    """Progress as JSON, polled by the batch page."""
    b = _batch(batch_id)
    return jsonify(status=b.status, done=b.done, total=b.total, skipped=b.skipped, pages=b.pages)


@blueprint.route("/batches/<int:batch_id>/<any(pdf, manifest):kind>")
@roles_required("print")
def download(batch_id: int, kind: str):
    """The batch's PDF or manifest CSV."""
    b = _batch(batch_id)
    path = b.pdf_path if kind == "pdf" else b.manifest_path
    if b.status == BUILDING or not path:
        abort(409, description="batch: still building")
    return send_file(path, as_attachment=True,
                     download_name=f"batch-{b.id}.{'pdf' if kind == 'pdf' else 'csv'}")


@blueprint.route("/batches/<int:batch_id>/<any(printed, mailed, rebuild):action>", methods=["POST"])
@roles_required("print")
def batch_action(batch_id: int, action: str):
    """Mark printed, mark mailed, or rebuild (reprint) the batch."""
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
        flash(str(exc))
        return redirect(url_for("letters.batch", batch_id=batch_id)), 303
    db.session.commit()
    if action == "rebuild":
        start_build(batch_id)
    flash(f"Batch {batch_id}: {action} ({n} letters).")
    return redirect(url_for("letters.batch", batch_id=batch_id))


@blueprint.route("/<int:letter_id>.pdf")
@roles_required("print", "marketing", "onboarding")
def letter_pdf(letter_id: int):
    """Reprint (or look at) one letter."""
    letter = db.session.get(Letter, letter_id) or abort(404, description="letter: no such letter")
    try:
        pdf = service.render_one(db.session, letter, service.company_from(current_app.config), clock.now().date())
    except service.LetterError as exc:
        abort(422, description=str(exc))
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f"inline; filename=letter-{letter_id}.pdf"})


@blueprint.route("/<int:letter_id>/returned", methods=["POST"])
@roles_required("print")
def returned(letter_id: int):
    """Record returned mail; the customer's address is flagged for correction."""
    letter = db.session.get(Letter, letter_id) or abort(404, description="letter: no such letter")
    try:
        batches.record_returned(db.session, letter, clock.now(), actor=actor_of(current_user))
    except service.LetterError as exc:
        db.session.rollback()
        flash(str(exc))
        return redirect(safe_referrer(url_for("letters.mail_room"))), 303
    db.session.commit()
    flash(f"Letter {letter_id} returned; {letter.customer.name}'s address is flagged.")
    return redirect(safe_referrer(url_for("letters.mail_room")))
