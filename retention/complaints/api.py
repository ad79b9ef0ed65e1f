"""REST API: complaint cases (list, open, read, move, reopen, assign), customer types, complaint categories.

Errors name the field (422): a customer, person, category or call named in the body that does not exist is 422
too (the body is wrong, not the URL); an unknown case or customer in the URL is 404; a move the status does not
allow is 409. Cases are for onboarding staff (admins pass everywhere); categories are edited by admins.
"""
from __future__ import annotations

from flask import abort, g
from flask_smorest import Blueprint
from flask_smorest.error_handler import ErrorSchema
from marshmallow import Schema, fields, validate
from sqlalchemy import func, select

from retention import clock
from retention.audit.service import actor_of
from retention.complaints import categories, service, types
from retention.complaints.models import CHANNELS, CUSTOMER_TYPES, SEVERITIES, STATUSES, Complaint
from retention.customers.models import Customer
from retention.errors import http_status, refuse, refuse_field
from retention.extensions import db
from retention.journeys.models import Touchpoint
from retention.request_input import LimitField, PageField
from retention.staff.access import api_roles
from retention.staff.models import StaffUser
from retention.validation import Email, Identifier, Text, Url

cases = Blueprint("complaints_api", __name__, url_prefix="/api/v1/complaints", description="Complaint cases")
customer_types = Blueprint("customer_types_api", __name__, url_prefix="/api/v1/customers",
                           description="A customer's type (complaints step 2), by the sender's customer id")
category_api = Blueprint("complaint_categories_api", __name__, url_prefix="/api/v1/complaint-categories",
                         description="Complaint categories and their intake questions")

KEY_PATTERN = "^[a-z0-9][a-z0-9_-]{0,59}$"


# --- schemas --------------------------------------------------------------------------------------------

class CaseOut(Schema):
    id = fields.Integer()
    external_id = fields.String()
    customer_id = fields.Function(lambda c: c.customer.external_id)
    status = fields.String()
    source = fields.String()
    channel = fields.String()
    category = fields.String()
    summary = fields.String()
    severity = fields.String()
    public_url = fields.String(allow_none=True)
    answers = fields.Dict(keys=fields.String(), values=fields.String())
    owner = fields.Function(lambda c: c.owner.email if c.owner is not None else None, allow_none=True)
    customer_type = fields.Function(lambda c: c.customer.customer_type, allow_none=True)
    opened_at = fields.DateTime()
    first_response_due_at = fields.DateTime(allow_none=True)
    resolution_due_at = fields.DateTime(allow_none=True)
    resolved_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    reopened_count = fields.Integer()
    from_touchpoint_id = fields.Integer(allow_none=True)
    allowed_moves = fields.Function(lambda c: list(service.allowed_moves(c)), metadata={
        "description": "the statuses this case may move to now"})


class CasePage(Schema):
    items = fields.List(fields.Nested(CaseOut))
    total = fields.Integer()
    page = fields.Integer()


class CaseQuery(Schema):
    status = fields.String(load_default=None, validate=validate.OneOf(STATUSES + ("open",)))
    category = Identifier(120, load_default=None)
    owner = Email(load_default=None)
    customer_type = fields.String(load_default=None, validate=validate.OneOf(CUSTOMER_TYPES))
    page = PageField()
    limit = LimitField(default=50)


# A body field naming a record: one that does not exist is 422 naming the field (`refuse_field`), not 404 (the URL
# is right). `x-names-record` says so in the OpenAPI document (tests/test_openapi.py reads it).
NAMES_RECORD = "x-names-record"


class CaseIn(Schema):
    customer_id = Identifier(120, required=True, metadata={
        "description": "the sender's customer id (422 naming customer_id when there is none)", NAMES_RECORD: "customer"})
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    category = fields.String(required=True, validate=validate.Regexp(KEY_PATTERN), metadata={
        "description": "an active category's key (GET /api/v1/complaint-categories/)", NAMES_RECORD: "category"})
    summary = Text(service.MAX_SUMMARY, required=True, multiline=True)
    severity = fields.String(load_default="medium", validate=validate.OneOf(SEVERITIES))
    public_url = Url(load_default=None, allow_none=True, metadata={"description": "required for social"})
    owner = Email(load_default=None, allow_none=True, metadata={
        "description": "default: the customer's owner; else an active onboarding person or admin",
        NAMES_RECORD: "staff"})
    from_touchpoint_id = fields.Integer(load_default=None, allow_none=True, strict=True,
                                        validate=validate.Range(min=1, max=2**31 - 1),
                                        metadata={"description": "the customer's call the case comes from",
                                                  NAMES_RECORD: "touchpoint"})


class NoteIn(Schema):
    note = Text(2000, load_default=None, allow_none=True, blank=True, multiline=True)


class StatusIn(NoteIn):
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))


class AssignIn(NoteIn):
    owner = Email(required=True, metadata={"description": "an active onboarding person or admin",
                                           NAMES_RECORD: "staff"})


class TypeIn(Schema):
    customer_type = fields.String(required=True, allow_none=True, validate=validate.OneOf(CUSTOMER_TYPES),
                                  metadata={"description": "null clears it"})


class SuggestionOut(Schema):
    type = fields.String(allow_none=True)
    reason = fields.String()


class TypeOut(Schema):
    customer_id = fields.String()
    customer_type = fields.String(allow_none=True)
    suggestion = fields.Nested(SuggestionOut)


class LanguagesText(Schema):
    en = Text(categories.MAX_QUESTION, required=True)
    ar = Text(categories.MAX_QUESTION, load_default=None, allow_none=True, blank=True)
    fa = Text(categories.MAX_QUESTION, load_default=None, allow_none=True, blank=True)


class NamesIn(Schema):
    en = Text(categories.MAX_NAME, required=True)
    ar = Text(categories.MAX_NAME, load_default=None, allow_none=True, blank=True)
    fa = Text(categories.MAX_NAME, load_default=None, allow_none=True, blank=True)


class QuestionIn(Schema):
    key = fields.String(load_default=None, allow_none=True, validate=validate.Regexp(KEY_PATTERN))
    text = fields.Nested(LanguagesText, required=True)


class CategoryIn(Schema):
    names = fields.Nested(NamesIn, required=True)
    questions = fields.List(fields.Nested(QuestionIn), load_default=list,
                            validate=validate.Length(max=categories.MAX_QUESTIONS))
    active = fields.Boolean(load_default=True)
    position = fields.Integer(load_default=None, allow_none=True, strict=True,
                              validate=validate.Range(min=0, max=100000))


class NewCategoryIn(CategoryIn):
    key = fields.String(required=True, validate=validate.Regexp(KEY_PATTERN))


class QuestionOut(Schema):
    key = fields.String()
    text = fields.Dict(keys=fields.String(), values=fields.String())


class CategoryOut(Schema):
    id = fields.Integer()
    key = fields.String()
    names = fields.Dict(keys=fields.String(), values=fields.String())
    questions = fields.List(fields.Nested(QuestionOut))
    active = fields.Boolean()
    position = fields.Integer()


# --- cases ----------------------------------------------------------------------------------------------

def _case(case_id: int) -> Complaint:
    case = db.session.get(Complaint, case_id)
    if case is None:
        abort(404, description="case: no complaint case with this id")
    return case


def _person(email: str) -> StaffUser:
    """The person the body's `owner` names (422 naming `owner` when nobody has this email)."""
    person = db.session.scalar(select(StaffUser).where(StaffUser.email == email.lower()))
    if person is None:
        refuse_field("owner", "nobody with this email")
    return person


def _refuse(exc: service.ComplaintError):
    """`refuse`, with the service's `owner_id` named as the body names it: `owner`."""
    if exc.field == "owner_id" and http_status(exc) == 422:
        refuse_field("owner", exc.message % exc.params if exc.params else exc.message)
    refuse(exc)


@cases.route("/")
@api_roles("onboarding")
@cases.arguments(CaseQuery, location="query")
@cases.response(200, CasePage)
def list_cases(args):
    """Cases, newest first, filtered by status (or `open`), category, owner's email and customer type."""
    query = select(Complaint).join(Customer, Complaint.customer_id == Customer.id)
    if args["status"] == "open":
        query = query.where(Complaint.status != "closed")
    elif args["status"]:
        query = query.where(Complaint.status == args["status"])
    if args["category"]:
        query = query.where(Complaint.category == args["category"])
    if args["owner"]:
        owner = db.session.scalar(select(StaffUser).where(StaffUser.email == args["owner"].lower()))
        if owner is None:
            return {"items": [], "total": 0, "page": args["page"]}
        query = query.where(Complaint.owner_id == owner.id)
    if args["customer_type"]:
        query = query.where(Customer.customer_type == args["customer_type"])
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    limit = args["limit"]
    items = db.session.scalars(query.order_by(Complaint.opened_at.desc(), Complaint.id.desc())
                               .offset((args["page"] - 1) * limit).limit(limit)).all()
    return {"items": items, "total": total, "page": args["page"]}


@cases.route("/", methods=["POST"])
@api_roles("onboarding")
@cases.arguments(CaseIn)
@cases.response(201, CaseOut)
@cases.alt_response(422, schema=ErrorSchema, description="a field is not valid, or names a customer, category, person or call that "
                                     "does not exist or may not be used (`errors.json` and the message name it)")
def open_case(args):
    """Open a case (status new) for a customer; source `call` when it comes from one of the customer's calls.

    A customer, category, owner or call the body names that does not exist (or may not be used) is 422 naming
    the field."""
    customer = db.session.scalar(select(Customer).where(Customer.external_id == args["customer_id"]))
    if customer is None:
        refuse_field("customer_id", "no customer with this id")
    category = categories.by_key(db.session, args["category"])
    if category is None or not category.active:
        refuse_field("category", "no active complaint category with this key")
    owner = _person(args["owner"]) if args["owner"] else None
    call_id = args["from_touchpoint_id"]
    if call_id is not None:
        call = db.session.get(Touchpoint, call_id)
        if call is None or call.customer_id != customer.id or call.kind != "call":
            refuse_field("from_touchpoint_id", "no call of this customer with this id")
    try:
        if owner is not None:
            service.check_owner(owner)
        case = service.open_case(db.session, customer, channel=args["channel"], category=args["category"],
                                 summary=args["summary"], severity=args["severity"], public_url=args["public_url"],
                                 now=clock.now(), actor=actor_of(g.api_user),
                                 source="call" if call_id else "staff", owner=owner, from_touchpoint_id=call_id)
    except service.ComplaintError as exc:
        _refuse(exc)
    db.session.commit()
    return case


@cases.route("/<int:case_id>")
@api_roles("onboarding")
@cases.response(200, CaseOut)
def get_case(case_id: int):
    """One case; 404 when the id is unknown."""
    return _case(case_id)


@cases.route("/<int:case_id>/status", methods=["POST"])
@api_roles("onboarding")
@cases.arguments(StatusIn)
@cases.response(200, CaseOut)
def move_case(args, case_id: int):
    """Move the case to a status its current one allows (`allowed_moves`); any other is 409."""
    case = _case(case_id)
    try:
        service.move_by_hand(db.session, case, args["status"], now=clock.now(), actor=actor_of(g.api_user),
                             note=args["note"] or None)
    except service.ComplaintError as exc:
        refuse(exc)
    db.session.commit()
    return case


@cases.route("/<int:case_id>/reopen", methods=["POST"])
@api_roles("onboarding")
@cases.arguments(NoteIn)
@cases.response(200, CaseOut)
def reopen_case(args, case_id: int):
    """Reopen a case with a solution offered, verified or closed (back to investigating); otherwise 409."""
    case = _case(case_id)
    try:
        service.reopen(db.session, case, now=clock.now(), actor=actor_of(g.api_user), note=args["note"] or None)
    except service.ComplaintError as exc:
        refuse(exc)
    db.session.commit()
    return case


@cases.route("/<int:case_id>/assign", methods=["POST"])
@api_roles("onboarding")
@cases.arguments(AssignIn)
@cases.response(200, CaseOut)
@cases.alt_response(422, schema=ErrorSchema, description="`owner` is not valid, or names nobody who may handle complaints")
def assign_case(args, case_id: int):
    """Give the case to an active onboarding person or admin (by email; anyone else is 422 naming `owner`); a closed
    case is 409."""
    case = _case(case_id)
    owner = _person(args["owner"])
    try:
        service.assign(db.session, case, owner, now=clock.now(), actor=actor_of(g.api_user),
                       note=args["note"] or None)
    except service.ComplaintError as exc:
        _refuse(exc)
    db.session.commit()
    return case


# --- customer types -------------------------------------------------------------------------------------

def _type_out(customer: Customer) -> dict:
    suggested, reason = types.suggest_type(db.session, customer, clock.now())
    return {"customer_id": customer.external_id, "customer_type": customer.customer_type,
            "suggestion": {"type": suggested, "reason": reason}}


def _customer(customer_id: str) -> Customer:
    customer = db.session.scalar(select(Customer).where(Customer.external_id == customer_id))
    if customer is None:
        abort(404, description=f"customer: no customer with id {customer_id!r}")
    return customer


@customer_types.route("/<external_id:customer_id>/type", merge_slashes=False)
@api_roles("onboarding")
@customer_types.response(200, TypeOut)
def get_type(customer_id: str):
    """The customer's type (null when not set) and what their history suggests, with the reason."""
    return _type_out(_customer(customer_id))


@customer_types.route("/<external_id:customer_id>/type", methods=["PUT"], merge_slashes=False)
@api_roles("onboarding")
@customer_types.arguments(TypeIn)
@customer_types.response(200, TypeOut)
def put_type(args, customer_id: str):
    """Set (or clear with null) the customer's type: meek, aggressive, high_roller, rip_off, chronic. Audited."""
    customer = _customer(customer_id)
    try:
        types.set_customer_type(db.session, customer, args["customer_type"], staff_id=g.api_user.id,
                                now=clock.now(), actor=actor_of(g.api_user))
    except service.ComplaintError as exc:
        refuse(exc)
    db.session.commit()
    return _type_out(customer)


# --- categories -----------------------------------------------------------------------------------------

def _category_data(args: dict) -> dict:
    def texts(d: dict) -> dict:
        return {k: v for k, v in d.items() if v}

    return {"key": args.get("key"), "names": texts(args["names"]), "active": args["active"],
            "position": args["position"],
            "questions": [{"key": q["key"], "text": texts(q["text"])} for q in args["questions"]]}


@category_api.route("/")
@api_roles("onboarding")
@category_api.response(200, CategoryOut(many=True))
def list_categories():
    """Every category in the order staff see them (inactive ones too: old cases keep their category)."""
    return categories.all_categories(db.session)


@category_api.route("/", methods=["POST"])
@api_roles("admin")
@category_api.arguments(NewCategoryIn)
@category_api.response(201, CategoryOut)
@category_api.alt_response(409, description="key: a category with this key exists already")
def create_category(args):
    """Add a category (admins); 409 when the key exists."""
    try:
        category = categories.save_category(db.session, None, _category_data(args), now=clock.now(),
                                            actor=actor_of(g.api_user))
    except categories.CategoryError as exc:
        refuse(exc)
    db.session.commit()
    return category


@category_api.route("/<int:category_id>", methods=["PUT"])
@api_roles("admin")
@category_api.arguments(CategoryIn)
@category_api.response(200, CategoryOut)
def update_category(args, category_id: int):
    """Change a category's names, questions (a question keeps its key; new ones get one), active flag, position."""
    try:
        category = categories.get_category(db.session, category_id)
        categories.save_category(db.session, category, _category_data(args), now=clock.now(),
                                 actor=actor_of(g.api_user))
    except categories.CategoryError as exc:
        refuse(exc)
    db.session.commit()
    return category
