"""REST API: referral programs (marketing: create, read, update, delete, preview), offers, referrals, the ledger.

Fields are checked by the schemas (422 naming the field); a program whose fields disagree with each other (the
highest purchase below the lowest, a floor off the rounding step, amounts finer than the currency) or whose rule
the insult guard refuses is 409, with the message naming the field and, for the guard, the purchase value.
"""
from __future__ import annotations

from flask import abort, g
from flask_smorest import Blueprint
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from retention import clock
from retention.audit.service import actor_of
from retention.errors import http_status
from retention.extensions import db
from retention.referrals import programs, rewards
from retention.referrals.models import LedgerEntry, Referral, ReferralOffer, ReferralProgram
from retention.referrals.schemas import (
    LedgerOut, ListQuery, OfferOut, OfferQuery, PreviewOut, ProgramIn, ProgramOut, ReferralOut, ReferralQuery,
)
from retention.staff.access import api_roles

program_api = Blueprint("referral_programs_api", __name__, url_prefix="/api/v1/referral-programs",
                        description="Referral programs: eligibility, the advocate's reward, the friend's incentive")
offer_api = Blueprint("referral_offers_api", __name__, url_prefix="/api/v1/referral-offers",
                      description="Referral offers made: codes and rewards")
referral_api = Blueprint("referrals_api", __name__, url_prefix="/api/v1/referrals",
                         description="Friends' sales with a referral code: pending, earned, void, reversed, rejected")
ledger_api = Blueprint("referral_ledger_api", __name__, url_prefix="/api/v1/referral-ledger",
                       description="Every reward earned and reversed")

CONFLICT = {"description": "fields that disagree with each other, or a rule the insult guard refuses (the message "
                           "names the field)"}


def _raw(args: dict) -> dict:
    raw = dict(args)
    raw["bands"] = [{"from": b["from_"], "reward": b["reward"]} for b in args.get("bands") or []]
    return raw


def _refuse(exc: programs.ProgramError):
    db.session.rollback()
    status = http_status(exc)
    abort(409 if status == 422 else status, description=str(exc))


def program_out(program: ReferralProgram) -> dict:
    values = programs.form_values(program)
    for name in ("reward_percent", "reward_floor", "reward_cap"):
        values[name] = values[name] or None
    values["bands"] = [{"from_": b["from"], "reward": b["reward"]} for b in values["bands"]]
    return {"id": program.id, **values}


@program_api.route("/")
@api_roles("marketing")
@program_api.response(200, ProgramOut(many=True))
def list_programs():
    """Every program, newest first."""
    return [program_out(p) for p in db.session.scalars(select(ReferralProgram).order_by(ReferralProgram.id.desc()))]


@program_api.route("/", methods=["POST"])
@api_roles("marketing")
@program_api.arguments(ProgramIn)
@program_api.response(201, ProgramOut)
@program_api.alt_response(409, description=CONFLICT["description"])
def create_program(args):
    """A new program; refused (409) when its rule trips the insult guard or its fields disagree."""
    try:
        program = programs.create_program(db.session, _raw(args), actor=actor_of(g.api_user), now=clock.now())
    except programs.ProgramError as exc:
        _refuse(exc)
    db.session.commit()
    return program_out(program)


@program_api.route("/preview", methods=["POST"])
@api_roles("marketing")
@program_api.arguments(ProgramIn)
@program_api.response(200, PreviewOut)
@program_api.alt_response(409, description="fields that disagree with each other (the message names the field)")
def preview_program(args):
    """The reward against purchase value across the range, the effective share at each point and where the guard
    would trip (nothing is saved; a tripping rule is shown, not refused)."""
    raw = _raw(args)
    trip = None
    try:
        programs.clean(raw)
    except programs.ProgramError as exc:
        if not exc.message.startswith("insult guard"):
            _refuse(exc)
        trip = {"field": exc.field, "value": str(exc.params["value"].amount), "reward": str(exc.params["reward"].amount),
                "share": str(exc.params["share"].value), "message": str(exc)}
    rule = programs.rule_of({**raw, "bands": raw["bands"]})
    rows = [{"value": str(r.value), "reward": str(r.reward), "share": str(r.share), "trips": r.trips, "part": r.part}
            for r in rewards.preview(rule)]
    first = rewards.trips_from(rule)
    return {"currency": rule.currency, "rows": rows, "trip": trip, "trips_from": None if first is None else str(first)}


@program_api.route("/<int:program_id>")
@api_roles("marketing")
@program_api.response(200, ProgramOut)
def get_program(program_id: int):
    """One program."""
    try:
        return program_out(programs.get_program(db.session, program_id))
    except programs.ProgramError as exc:
        _refuse(exc)


@program_api.route("/<int:program_id>", methods=["PUT"])
@api_roles("marketing")
@program_api.arguments(ProgramIn)
@program_api.response(200, ProgramOut)
@program_api.alt_response(409, description=CONFLICT["description"])
def put_program(args, program_id: int):
    """Replace a program's fields (offers already made keep their code and reward)."""
    try:
        program = programs.get_program(db.session, program_id, for_update=True)
        programs.update_program(db.session, program, _raw(args), actor=actor_of(g.api_user), now=clock.now())
    except programs.ProgramError as exc:
        _refuse(exc)
    db.session.commit()
    return program_out(program)


@program_api.route("/<int:program_id>", methods=["DELETE"])
@api_roles("marketing")
@program_api.response(204)
@program_api.alt_response(409, description="the program has offers: set its end date instead")
def delete_program(program_id: int):
    """Delete a program nobody was offered yet (one with offers ends instead: 409)."""
    try:
        program = programs.get_program(db.session, program_id, for_update=True)
        programs.delete_program(db.session, program, actor=actor_of(g.api_user), now=clock.now())
    except programs.ProgramError as exc:
        _refuse(exc)
    db.session.commit()
    return ""


def _page(query, args):
    return db.session.scalars(query.offset((args["page"] - 1) * args["limit"]).limit(args["limit"])).all()


@offer_api.route("/")
@api_roles("marketing")
@offer_api.arguments(OfferQuery, location="query")
@offer_api.response(200, OfferOut(many=True))
def list_offers(args):
    """Offers made, newest first."""
    query = (select(ReferralOffer).where(ReferralOffer.code.is_not(None)).options(joinedload(ReferralOffer.customer))
             .order_by(ReferralOffer.id.desc()))
    if args["program_id"]:
        query = query.where(ReferralOffer.program_id == args["program_id"])
    return _page(query, args)


@referral_api.route("/")
@api_roles("marketing")
@referral_api.arguments(ReferralQuery, location="query")
@referral_api.response(200, ReferralOut(many=True))
def list_referrals(args):
    """Referrals (friends' sales with a code), newest first, with what became of each."""
    query = (select(Referral).options(joinedload(Referral.friend), joinedload(Referral.sale))
             .order_by(Referral.id.desc()))
    if args["program_id"]:
        query = query.where(Referral.program_id == args["program_id"])
    if args["status"]:
        query = query.where(Referral.status == args["status"])
    return _page(query, args)


@ledger_api.route("/")
@api_roles("marketing")
@ledger_api.arguments(ListQuery, location="query")
@ledger_api.response(200, LedgerOut(many=True))
def list_ledger(args):
    """Ledger rows, newest first: + when a reward is earned, - when a refund reverses it."""
    return _page(select(LedgerEntry).options(joinedload(LedgerEntry.customer)).order_by(LedgerEntry.id.desc()), args)


BLUEPRINTS = (program_api, offer_api, referral_api, ledger_api)
