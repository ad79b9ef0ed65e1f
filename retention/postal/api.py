"""REST API: letter templates (marketing), letters and print batches (mail room)."""
from __future__ import annotations

from flask import Response, abort, current_app, g, send_file
from flask_smorest import Blueprint
from flask_smorest import abort as smorest_abort
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from retention.audit.service import actor_of
from retention.extensions import db
from retention.postal import batches as print_runs
from retention.postal import service
from retention.postal.models import BUILDING, Letter, LetterTemplate, PrintBatch
from retention.errors import refuse
from retention.postal.schemas import (
    BatchIn, BatchOut, LetterOut, LetterQuery, ReturnIn, ReturnOut, ReturnQuery, TemplateIn, TemplateOut,
)
from retention.queue import QueueUnavailable, get_queue
from retention.staff.access import api_roles
from retention import clock

templates = Blueprint("letter_templates_api", __name__, url_prefix="/api/v1/letter-templates",
                      description="Letter templates, versioned per language")
letters = Blueprint("letters_api", __name__, url_prefix="/api/v1/letters", description="Personalized letters")
batches = Blueprint("print_batches_api", __name__, url_prefix="/api/v1/print-batches",
                    description="Print batches: one PDF and a manifest")


@templates.route("/")
@api_roles("marketing")
@templates.response(200, TemplateOut(many=True))
def list_templates():
    """Current version of every template in every language."""
    return db.session.scalars(select(LetterTemplate).where(LetterTemplate.is_current.is_(True))
                              .order_by(LetterTemplate.key, LetterTemplate.language)).all()


@templates.route("/<key>/<language>")
@api_roles("marketing")
@templates.response(200, TemplateOut)
def get_template(key: str, language: str):
    """One template's current version."""
    if language not in service.LANGUAGES:
        abort(404, description="language: not a letter language")
    try:
        service.check_key(key)
    except service.LetterError as exc:
        abort(404, description=str(exc))
    found = db.session.scalar(select(LetterTemplate).where(LetterTemplate.key == key, LetterTemplate.language == language,
                                                           LetterTemplate.is_current.is_(True)))
    if found is None:
        abort(404, description=f"template: no {key!r} in {language!r}")
    return found


@templates.route("/<key>/<language>", methods=["PUT"])
@api_roles("marketing")
@templates.arguments(TemplateIn)
@templates.response(200, TemplateOut)
def put_template(args, key: str, language: str):
    """Save a new version; refused (422) when the text does not render in the sandbox."""
    if language not in service.LANGUAGES:
        abort(404, description="language: not a letter language")
    try:
        saved = service.save_template(db.session, key, {"language": language, **args}, actor=actor_of(g.api_user),
                                      now=clock.now())
    except service.LetterError as exc:
        db.session.rollback()
        smorest_abort(422, message=str(exc))
    db.session.commit()
    return saved


@letters.route("/")
@api_roles("print", "marketing")
@letters.arguments(LetterQuery, location="query")
@letters.response(200, LetterOut(many=True))
def list_letters(args):
    """Letters by status, oldest first."""
    return db.session.scalars(select(Letter).where(Letter.status == args["status"])
                              .options(joinedload(Letter.batch), joinedload(Letter.customer))
                              .order_by(Letter.created_at, Letter.id).limit(args["limit"])).all()


@letters.route("/<int:letter_id>/pdf")
@api_roles("print", "marketing")
@letters.response(200, description="the letter as a PDF")
def letter_pdf(letter_id: int):
    """One letter as a PDF, as it prints today (a look; a reprint is POST .../reprint)."""
    letter = _letter(letter_id)
    try:
        pdf = service.render_one(db.session, letter, service.company_from(current_app.config), clock.now().date())
    except service.LetterError as exc:
        smorest_abort(422, message=str(exc))
    return Response(pdf, mimetype="application/pdf")


def _letter(letter_id: int) -> Letter:
    letter = db.session.get(Letter, letter_id)
    if letter is None:
        abort(404, description="letter: no such letter")
    return letter


@letters.route("/<int:letter_id>/reprint", methods=["POST"])
@api_roles("print")
@letters.response(200, description="a new PDF of the letter, to put back with its batch")
@letters.alt_response(409, description="the letter is not in a laid-out batch, or it came back")
def reprint_letter(letter_id: int):
    """Reprint one letter of a laid-out batch (a spoiled sheet); audited, on the customer's timeline."""
    letter = _letter(letter_id)
    now = clock.now()
    try:
        pdf = print_runs.reprint_letter(db.session, letter, company=service.company_from(current_app.config),
                                        today=now.date(), actor=actor_of(g.api_user), now=now)
    except service.LetterError as exc:
        refuse(exc)
    db.session.commit()
    return Response(pdf, mimetype="application/pdf")


@letters.route("/<int:letter_id>/returned", methods=["POST"])
@api_roles("print")
@letters.arguments(ReturnIn)
@letters.response(201, ReturnOut)
@letters.alt_response(409, description="only a printed or mailed letter can come back")
def record_returned(args, letter_id: int):
    """Returned mail, with its reason: the address is flagged and the customer's owner gets a call to fix it."""
    letter = _letter(letter_id)
    try:
        returned = print_runs.record_returned(db.session, letter, clock.now(), actor=actor_of(g.api_user), **args)
    except service.LetterError as exc:
        refuse(exc)
    db.session.commit()
    return returned


@letters.route("/<int:letter_id>/undo-return", methods=["POST"])
@api_roles("print")
@letters.response(200, ReturnOut)
@letters.alt_response(409, description="the letter is not recorded as returned")
def undo_return(letter_id: int):
    """Undo a return recorded by mistake; the fix-address call is cancelled if still open."""
    letter = _letter(letter_id)
    try:
        returned = print_runs.undo_return(db.session, letter, clock.now(), actor=actor_of(g.api_user))
    except service.LetterError as exc:
        refuse(exc)
    db.session.commit()
    return returned


@letters.route("/returned")
@api_roles("print")
@letters.arguments(ReturnQuery, location="query")
@letters.response(200, ReturnOut(many=True))
def list_returned(args):
    """Returned mail still standing (not undone), newest first; by reason and the time it came back."""
    try:
        rows, _total = print_runs.list_returns(db.session, reason=args["reason"], since=args["since"],
                                               until=args["until"], page=args["page"], per_page=args["limit"])
    except service.LetterError as exc:
        refuse(exc)
    return rows


def _batch(batch_id: int) -> PrintBatch:
    batch = db.session.get(PrintBatch, batch_id)
    if batch is None:
        abort(404, description="batch: no such batch")
    return batch


@batches.route("/", methods=["POST"])
@api_roles("print")
@batches.arguments(BatchIn)
@batches.response(202, BatchOut)
@batches.alt_response(409, description="no queued letter matches the filters")
def create_batch(args):
    """Take matching queued letters into a batch and queue its build (409 when none is queued)."""
    duplex = args.pop("duplex")
    try:
        batch = print_runs.create_batch(db.session, filters=args, duplex=duplex, actor=actor_of(g.api_user), now=clock.now())
    except service.LetterError as exc:
        refuse(exc)
    db.session.commit()
    try:
        get_queue().enqueue("jobs.letters.build_print_batch", batch.id)
    except QueueUnavailable:
        batch.build_requested_at = None   # nothing builds it: POST .../rebuild may start it at once
        db.session.commit()
    return batch


@batches.route("/<int:batch_id>")
@api_roles("print")
@batches.response(200, BatchOut)
def get_batch(batch_id: int):
    """A batch and its progress."""
    return _batch(batch_id)


@batches.route("/<int:batch_id>/<any(pdf, manifest):kind>")
@api_roles("print")
@batches.response(200, description="the batch PDF or manifest CSV")
@batches.alt_response(409, description="the batch is still being laid out, or the file is no longer on disk (the "
                                       "message starts with the file: pdf or manifest)")
def download(batch_id: int, kind: str):
    """Download the batch's PDF or manifest (409 while it builds). The manifest's last column, `pull`, names why a
    letter's sheet is to be pulled before posting (`opted_out`: cancelled after the layout), else is empty. A file no
    longer on disk: 409 whose message starts with the file ("pdf: ..." or "manifest: ...") and says what to do (a
    ready batch: POST .../rebuild)."""
    batch = _batch(batch_id)
    path = batch.pdf_path if kind == "pdf" else batch.manifest_path
    if batch.status == BUILDING or not path:
        abort(409, description="batch: still building")
    try:
        if kind == "pdf":
            return send_file(path, mimetype="application/pdf")
        return Response(print_runs.manifest_download(db.session, batch), mimetype="text/csv")
    except print_runs.MISSING_ON_DISK:
        refuse(print_runs.missing_file(batch, kind))
    except service.LetterError as exc:
        refuse(exc)


@batches.route("/<int:batch_id>/<any(printed, mailed, rebuild):action>", methods=["POST"])
@api_roles("print")
@batches.response(200, BatchOut)
@batches.alt_response(409, description="the action does not fit the batch's state (see its actions)")
def batch_action(batch_id: int, action: str):
    """Mark printed (ready batches), mark mailed (printed ones), or rebuild (ready, failed or stalled ones)."""
    batch = _batch(batch_id)
    now = clock.now()
    try:
        if action == "printed":
            print_runs.mark_printed(db.session, batch, now, actor=actor_of(g.api_user))
        elif action == "mailed":
            print_runs.mark_mailed(db.session, batch, now, actor=actor_of(g.api_user))
        else:
            print_runs.request_rebuild(db.session, batch, actor=actor_of(g.api_user), now=now)
    except service.LetterError as exc:
        refuse(exc)
    db.session.commit()
    if action == "rebuild":
        try:
            get_queue().enqueue("jobs.letters.build_print_batch", batch_id)
        except QueueUnavailable:
            batch.build_requested_at = None
            db.session.commit()
    return batch
