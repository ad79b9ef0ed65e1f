"""Complaint pages: the case list, opening a case (customer page, an unhappy call), the case page (moves,
reopen, assign / take over, intake answers, customer type and its advice), the customer page's complaints
part, and the categories admin.

A refused form comes back with the message in the reader's language next to its field and what was typed
kept (404/409/422 by the error's class); nothing is changed.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from retention import clock, i18n
from retention.audit.service import actor_of
from retention.complaints import categories, service, types
from retention.complaints.labels import (
    CHANNEL_LABELS, MOVE_LABELS, SEVERITY_LABELS, SOURCE_LABELS, STATUS_LABELS, TYPE_LABELS, label)
from retention.complaints.models import CHANNELS, CUSTOMER_TYPES, SEVERITIES, STATUSES, Complaint
from retention.complaints.timeline import case_entries
from retention.customers.models import Customer
from retention.errors import N_, http_status
from retention.extensions import db
from retention.journeys.models import Touchpoint
from retention.request_input import int_arg, page_arg
from retention.staff.access import roles_required
from retention.staff.models import StaffUser
from retention.staff.redirects import safe_next

blueprint = Blueprint("complaints", __name__, url_prefix="/complaints")
categories_blueprint = Blueprint("complaint_categories", __name__, url_prefix="/admin/complaint-categories")

PER_PAGE = 50
# How the list may be ordered: name -> order_by clauses. Another module may add one (e.g. "due" by SLA).
SORTS: dict = {"newest": lambda: (Complaint.opened_at.desc(), Complaint.id.desc())}


def _language() -> str:
    return i18n.ui_language()


def _handlers():
    """People who may handle a case: active onboarding staff and admins, by name."""
    return db.session.scalars(select(StaffUser).where(StaffUser.role.in_(("onboarding", "admin")),
                                                      StaffUser.active.is_(True)).order_by(StaffUser.name)).all()


def _category_choices(current: str | None = None) -> list[tuple[str, str]]:
    language = _language()
    found = [(c.key, categories.name_of(c, language)) for c in categories.active_categories(db.session)]
    if current and current not in dict(found):
        found.append((current, categories.name_of(categories.by_key(db.session, current), language, current)))
    return found


def _labelled(labels: dict, keys) -> list[tuple[str, str]]:
    return [(key, label(labels, key)) for key in keys]


# --- the list -------------------------------------------------------------------------------------------

@blueprint.route("/")
@roles_required("onboarding")
def index():
    """Cases, newest first, filtered by status, category, owner and customer type; 50 a page."""
    args = request.args
    status = args.get("status", "")
    if status and status not in STATUSES and status != "open":
        abort(400, description=_("Status (status): choose one from the list."))
    category = args.get("category", "")
    if len(category) > 120:
        abort(400, description=_("Category (category): choose one from the list."))
    owner = args.get("owner", "")
    owner_id = current_user.id if owner == "me" else (int_arg(args, "owner") if owner else None)
    kind = args.get("type", "")
    if kind and kind not in CUSTOMER_TYPES:
        abort(400, description=_("Customer type (type): choose one from the list."))
    sort = args.get("sort", "newest")
    if sort not in SORTS:
        abort(400, description=_("Order (sort): choose one from the list."))
    page = page_arg(args)
    query = select(Complaint).join(Customer, Complaint.customer_id == Customer.id)
    if status == "open":
        query = query.where(Complaint.status != "closed")
    elif status:
        query = query.where(Complaint.status == status)
    if category:
        query = query.where(Complaint.category == category)
    if owner_id is not None:
        query = query.where(Complaint.owner_id == owner_id)
    if kind:
        query = query.where(Customer.customer_type == kind)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    cases = db.session.scalars(query.order_by(*SORTS[sort]()).offset((page - 1) * PER_PAGE).limit(PER_PAGE)).all()
    pages = max(1, (total + PER_PAGE - 1) // PER_PAGE)
    language = _language()
    names = {c.key: categories.name_of(c, language) for c in categories.all_categories(db.session)}
    names.update({c.category: categories.case_category_name(names, c, SOURCE_LABELS) for c in cases})
    return render_template(
        "complaints/index.html", cases=cases, total=total, page=page, pages=pages,
        filters={"status": status, "category": category, "owner": owner, "type": kind, "sort": sort},
        statuses=[("open", _("Open (not closed)"))] + _labelled(STATUS_LABELS, STATUSES),
        category_choices=_category_choices(), category_names=names, owners=_handlers(),
        types=_labelled(TYPE_LABELS, CUSTOMER_TYPES), status_labels=STATUS_LABELS, severity_labels=SEVERITY_LABELS,
        channel_labels=CHANNEL_LABELS, type_labels=TYPE_LABELS, label=label, sorts=list(SORTS))


# --- opening a case -------------------------------------------------------------------------------------

def _customer(external_id: str) -> Customer:
    customer = db.session.scalar(select(Customer).where(Customer.external_id == external_id))
    if customer is None:
        abort(404, description=_("There is no customer with this id."))
    return customer


def _from_call(customer: Customer, raw: str | None) -> Touchpoint | None:
    """The call a case is opened from: a call of this customer, else None (a wrong id is simply not used)."""
    if not raw or not (raw.isascii() and raw.isdigit()) or len(raw) > 10:
        return None
    tp = db.session.get(Touchpoint, int(raw))
    return tp if tp is not None and tp.customer_id == customer.id and tp.kind == "call" else None


OPEN_FIELDS = ("channel", "category", "summary", "severity", "public_url", "owner_id")


@blueprint.route("/new/<external_id:external_id>", methods=["GET", "POST"], merge_slashes=False)
@roles_required("onboarding")
def new_case(external_id: str):
    """Open a case for the customer: from the customer page, or offered right after an unhappy call."""
    customer = _customer(external_id)
    source = request.values.get("touchpoint")
    call = _from_call(customer, source)
    back = safe_next(request.values.get("next"), url_for("customers.show", external_id=customer.external_id))
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = {name: request.form.get(name, "") for name in OPEN_FIELDS}
        try:
            owner = None
            if form["owner_id"]:
                raw = form["owner_id"]
                owner = db.session.get(StaffUser, int(raw)) if raw.isascii() and raw.isdigit() and len(raw) <= 10 \
                    else None
                service.check_owner(owner)
            case = service.open_case(
                db.session, customer, channel=form["channel"], category=form["category"], summary=form["summary"],
                severity=form["severity"], public_url=form["public_url"].strip() or None, now=clock.now(),
                actor=actor_of(current_user), source="call" if call is not None else "staff", owner=owner,
                from_touchpoint_id=call.id if call is not None else None)
        except service.ComplaintError as exc:
            db.session.rollback()
            errors = {exc.field: exc.translated()}
            status = http_status(exc)
        else:
            db.session.commit()
            flash(_("Complaint case opened for %(name)s.", name=customer.name))
            return redirect(url_for("complaints.show", case_id=case.id), 303)
    else:
        form = {"channel": "phone" if call is not None else "", "category": "", "summary": "", "severity": "medium",
                "public_url": "", "owner_id": ""}
        status = 200
    return render_template(
        "complaints/new.html", customer=customer, call=call, back=back, form=form, errors=errors,
        channels=_labelled(CHANNEL_LABELS, CHANNELS), severities=_labelled(SEVERITY_LABELS, SEVERITIES),
        category_choices=_category_choices(), owners=_handlers(), hints=[str(h) for h in categories.STAFF_HINTS]), \
        (status if errors else 200)


# --- the case page --------------------------------------------------------------------------------------

def _case(case_id: int) -> Complaint:
    try:
        return service.get_case(db.session, case_id)
    except service.CaseNotFound:
        abort(404, description=_("No such complaint case."))


def case_context(case: Complaint) -> dict:
    """Everything the case page shows, in the reader's language (H2/H3's parts read `case` from it too)."""
    language = _language()
    category = categories.by_key(db.session, case.category)
    questions = [(q["key"], categories.question_text(q, language), (case.answers or {}).get(q["key"], ""))
                 for q in (category.questions if category is not None else [])]
    known = {key for key, _text, _answer in questions}
    # Answers to questions the category no longer asks stay readable, under their key.
    questions += [(key, key, text) for key, text in (case.answers or {}).items() if key not in known]
    customer = case.customer
    suggestion, reason = types.suggest_type(db.session, customer, clock.now())
    reply_language, reply = types.public_reply(customer)
    return {
        "case": case, "customer": customer, "category": category,
        "category_name": categories.name_of(category, language) if category is not None
        else categories.case_category_name({}, case, SOURCE_LABELS), "category_known": category is not None,
        "questions": questions, "moves": [(s, label(MOVE_LABELS, s)) for s in service.allowed_moves(case)],
        "reopenable": case.status in service.REOPENABLE, "entries": case_entries(db.session, case),
        "advice": types.advice_for(customer.customer_type),
        "suggestion": (suggestion, label(TYPE_LABELS, suggestion), reason) if suggestion else None,
        "types": _labelled(TYPE_LABELS, CUSTOMER_TYPES), "owners": _handlers(),
        "social": case.channel == "social", "social_advice": str(types.SOCIAL_ADVICE),
        "handover_advice": str(types.HANDOVER_ADVICE), "public_reply": reply, "reply_language": reply_language,
        "self_questions": [str(q) for q in categories.SELF_QUESTIONS],
        "hints": [str(h) for h in categories.STAFF_HINTS],
        "status_label": label(STATUS_LABELS, case.status), "channel_label": label(CHANNEL_LABELS, case.channel),
        "severity_label": label(SEVERITY_LABELS, case.severity), "source_label": label(SOURCE_LABELS, case.source),
        "type_label": label(TYPE_LABELS, customer.customer_type),
    }


def _case_page(case: Complaint, *, status: int = 200, errors: dict | None = None, values: dict | None = None,
               alert: str = ""):
    return render_template("complaints/case.html", errors=errors or {}, values=values or {}, alert=alert,
                           **case_context(case)), status


def _refused(case_id: int, exc: service.ComplaintError, form_name: str):
    """The case page again (from the database: nothing changed), the message next to the form's field."""
    db.session.rollback()
    case = _case(case_id)
    message = exc.translated()
    return _case_page(case, status=http_status(exc), errors={form_name: {exc.field: message}},
                      values={form_name: request.form.to_dict()})


@blueprint.route("/<int:case_id>")
@roles_required("onboarding")
def show(case_id: int):
    """One case: status and the moves it allows, its changes, the intake answers, the customer's type and advice."""
    return _case_page(_case(case_id))


@blueprint.route("/<int:case_id>/status", methods=["POST"])
@roles_required("onboarding")
def move(case_id: int):
    """Move the case to the next status (only the moves its status allows; another is refused with 409)."""
    case = _case(case_id)
    to = request.form.get("status", "")
    try:
        if to not in STATUSES:
            raise service.ComplaintError("status", N_("Choose what happens next."))
        service.move_by_hand(db.session, case, to, now=clock.now(), actor=actor_of(current_user),
                             note=_note(request.form.get("note")))
    except service.ComplaintError as exc:
        return _refused(case_id, exc, "status")
    db.session.commit()
    flash(_("The case is now: %(status)s.", status=label(STATUS_LABELS, case.status)))
    return redirect(url_for("complaints.show", case_id=case.id), 303)


def _note(text: str | None) -> str | None:
    """An optional note on a change (plain text, at most 2000 characters)."""
    text = (text or "").strip()
    if not text:
        return None
    if len(text) > 2000:
        raise service.ComplaintError("note", N_("A note can be at most %(max)s characters long."), max=2000)
    from retention.validation import bad_character

    if bad_character(text, multiline=True):
        raise service.ComplaintError("note", N_("Write the note as plain text."))
    return text


@blueprint.route("/<int:case_id>/reopen", methods=["POST"])
@roles_required("onboarding")
def reopen(case_id: int):
    """Reopen a case whose solution did not hold (back to investigating)."""
    case = _case(case_id)
    try:
        service.reopen(db.session, case, now=clock.now(), actor=actor_of(current_user),
                       note=_note(request.form.get("note")))
    except service.ComplaintError as exc:
        return _refused(case_id, exc, "reopen")
    db.session.commit()
    flash(_("The case is open again."))
    return redirect(url_for("complaints.show", case_id=case.id), 303)


@blueprint.route("/<int:case_id>/assign", methods=["POST"])
@roles_required("onboarding")
def assign(case_id: int):
    """Give the case to a colleague, or take it over (owner_id = oneself)."""
    case = _case(case_id)
    raw = request.form.get("owner_id", "")
    try:
        owner = db.session.get(StaffUser, int(raw)) if raw.isascii() and raw.isdigit() and len(raw) <= 10 else None
        service.assign(db.session, case, owner, now=clock.now(), actor=actor_of(current_user),
                       note=_note(request.form.get("note")))
    except service.ComplaintError as exc:
        return _refused(case_id, exc, "assign")
    db.session.commit()
    flash(_("The case is now handled by %(name)s.", name=case.owner.display_name))
    return redirect(url_for("complaints.show", case_id=case.id), 303)


@blueprint.route("/<int:case_id>/answers", methods=["POST"])
@roles_required("onboarding")
def answers(case_id: int):
    """Keep the answers to the category's intake questions on the case."""
    case = _case(case_id)
    sent = {key[len("answer-"):]: value for key, value in request.form.items() if key.startswith("answer-")}
    try:
        changed = service.set_answers(db.session, case, sent, now=clock.now(), actor=actor_of(current_user))
    except service.ComplaintError as exc:
        return _refused(case_id, exc, "answers")
    db.session.commit()
    flash(_("Answers saved.") if changed else _("Nothing changed."))
    return redirect(url_for("complaints.show", case_id=case.id) + "#answers", 303)


@blueprint.route("/<int:case_id>/type", methods=["POST"])
@roles_required("onboarding")
def case_type(case_id: int):
    """Set the customer's type from the case page."""
    case = _case(case_id)
    try:
        changed = types.set_customer_type(db.session, case.customer, request.form.get("customer_type") or None,
                                          staff_id=current_user.id, now=clock.now(), actor=actor_of(current_user))
    except service.ComplaintError as exc:
        return _refused(case_id, exc, "type")
    db.session.commit()
    flash(_("Customer type saved.") if changed else _("Nothing changed."))
    return redirect(url_for("complaints.show", case_id=case.id) + "#customer-type", 303)


@blueprint.route("/customer/<external_id:external_id>/type", methods=["POST"], merge_slashes=False)
@roles_required("onboarding")
def customer_type(external_id: str):
    """Set the customer's type from the customer page."""
    customer = _customer(external_id)
    try:
        changed = types.set_customer_type(db.session, customer, request.form.get("customer_type") or None,
                                          staff_id=current_user.id, now=clock.now(), actor=actor_of(current_user))
    except service.ComplaintError as exc:
        from retention.customers import views as customer_views

        db.session.rollback()
        g.complaints_form = {"errors": {exc.field: exc.translated()}, "values": request.form.to_dict()}
        return customer_views.show(customer.external_id), http_status(exc)
    db.session.commit()
    flash(_("Customer type saved.") if changed else _("Nothing changed."))
    return redirect(url_for("customers.show", external_id=customer.external_id) + "#complaints", 303)


# --- the customer page's part ---------------------------------------------------------------------------

CUSTOMER_PAGE_CASES = 10


def customer_part(session, customer: Customer) -> dict:
    """The customer page's complaints part: recent cases, the type, its suggestion and the type form."""
    language = _language()
    cases = session.scalars(select(Complaint).where(Complaint.customer_id == customer.id)
                            .order_by(Complaint.opened_at.desc(), Complaint.id.desc()).limit(CUSTOMER_PAGE_CASES)).all()
    names = {c.key: categories.name_of(c, language) for c in categories.all_categories(session)}
    suggestion, reason = types.suggest_type(session, customer, clock.now(), recent=(cases, CUSTOMER_PAGE_CASES))
    return {"cases": [{"case": c, "category": categories.case_category_name(names, c, SOURCE_LABELS),
                       "status": label(STATUS_LABELS, c.status), "severity": label(SEVERITY_LABELS, c.severity)}
                      for c in cases],
            "type": customer.customer_type, "type_label": label(TYPE_LABELS, customer.customer_type),
            "types": _labelled(TYPE_LABELS, CUSTOMER_TYPES),
            "suggestion": (suggestion, label(TYPE_LABELS, suggestion), reason) if suggestion else None,
            **g.get("complaints_form", {"errors": {}, "values": {}})}


# --- categories (admin) ---------------------------------------------------------------------------------

@categories_blueprint.route("/")
@roles_required("admin")
def categories_index():
    """Every category with its names, questions and whether it is offered."""
    return render_template("complaints/categories.html", categories=categories.all_categories(db.session),
                           language=_language(), name_of=categories.name_of)


def _blank_form(category=None) -> dict:
    if category is None:
        return {"key": "", "names": {}, "active": True, "position": "", "rows": [{"key": "", "text": {}, "order": 10}]}
    rows = [{"key": q["key"], "text": dict(q.get("text") or {}), "order": (i + 1) * 10}
            for i, q in enumerate(category.questions or [])]
    rows.append({"key": "", "text": {}, "order": (len(rows) + 1) * 10})
    return {"key": category.key, "names": dict(category.names or {}), "active": category.active,
            "position": str(category.position), "rows": rows}


def _read_form() -> tuple[dict, dict, list[int], dict]:
    """(form as typed, data for the service, form row of each question, errors found while reading)."""
    form = request.form
    count = min(int_arg(form, "rows", default=0, low=0, high=categories.MAX_QUESTIONS + 1) or 0,
                categories.MAX_QUESTIONS + 1)
    typed = {"key": form.get("key", "").strip(), "active": form.get("active") == "on",
             "position": form.get("position", "").strip(),
             "names": {lang: form.get(f"name_{lang}", "") for lang in categories.LANGUAGES}, "rows": []}
    errors: dict[str, str] = {}
    kept = []
    for i in range(count):
        row = {"key": form.get(f"q-{i}-key", "").strip(), "order": form.get(f"q-{i}-order", "").strip(),
               "text": {lang: form.get(f"q-{i}-{lang}", "") for lang in categories.LANGUAGES},
               "remove": form.get(f"q-{i}-remove") == "on"}
        typed["rows"].append(row)
        if row["remove"] or (not row["key"] and not any(t.strip() for t in row["text"].values())):
            continue
        order = row["order"]
        if not (order.isascii() and order.isdigit() and len(order) <= 6):
            errors[f"q-{i}-order"] = _("A whole number: the questions are asked in this order.")
            continue
        kept.append((int(order), i, row))
    kept.sort(key=lambda item: (item[0], item[1]))
    position = typed["position"]
    if position and not (position.isascii() and position.isdigit() and len(position) <= 6):
        errors["position"] = _("A whole number from 0 to 100000.")
    data = {"key": typed["key"], "names": typed["names"], "active": typed["active"],
            "position": int(position) if position and "position" not in errors else None,
            "questions": [{"key": row["key"] or None, "text": row["text"]} for _o, _i, row in kept]}
    return typed, data, [i for _o, i, _r in kept], errors


def _form_field(field: str, rows: list[int]) -> str:
    """The form field of a service error's field: names.en -> name_en, questions[2].text.fa -> q-<row>-fa."""
    if field.startswith("names."):
        return "name_" + field.split(".", 1)[1]
    if field.startswith("questions["):
        number = int(field[len("questions["):].split("]", 1)[0])
        row = rows[number - 1] if 0 < number <= len(rows) else 0
        rest = field.split("]", 1)[1]
        language = rest.rsplit(".", 1)[-1] if rest.startswith(".text.") else "en"
        return f"q-{row}-{language}"
    return field or "key"


def _edit(category=None):
    if request.method == "POST":
        typed, data, rows, errors = _read_form()
        if not errors:
            try:
                saved = categories.save_category(db.session, category, data, now=clock.now(),
                                                 actor=actor_of(current_user))
            except categories.CategoryError as exc:
                db.session.rollback()
                errors = {_form_field(exc.field, rows): exc.translated()}
                status = http_status(exc)
            else:
                db.session.commit()
                flash(_("Category saved: %(name)s.", name=categories.name_of(saved, _language())))
                return redirect(url_for("complaint_categories.categories_index"), 303)
        else:
            status = 422
        typed["rows"] = [r for r in typed["rows"]] or [{"key": "", "text": {}, "order": 10}]
        if not any(not r["key"] and not any(t.strip() for t in r["text"].values()) for r in typed["rows"]) \
                and len(typed["rows"]) <= categories.MAX_QUESTIONS:
            typed["rows"].append({"key": "", "text": {}, "order": (len(typed["rows"]) + 1) * 10})
        return render_template("complaints/categories_edit.html", category=category, form=typed, errors=errors,
                               languages=categories.LANGUAGES), status
    return render_template("complaints/categories_edit.html", category=category, form=_blank_form(category),
                           errors={}, languages=categories.LANGUAGES)


@categories_blueprint.route("/new", methods=["GET", "POST"])
@roles_required("admin")
def category_new():
    """Add a category."""
    return _edit(None)


@categories_blueprint.route("/<int:category_id>", methods=["GET", "POST"])
@roles_required("admin")
def category_edit(category_id: int):
    """Edit a category's names, questions (add, edit, remove, reorder) and whether it is offered."""
    try:
        category = categories.get_category(db.session, category_id)
    except categories.CategoryNotFound:
        abort(404, description=_("No such complaint category."))
    return _edit(category)
