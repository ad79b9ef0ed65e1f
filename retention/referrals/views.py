"""Pages: referral programs with the reward preview (marketing), the referral report and payout CSV, and the public
landing page of a code (/r/<CODE>, no sign-in, in the advocate's language).

The program form has two buttons: "Preview" re-renders the form with the chart and table of the reward across the
range (no script needed, so nothing the CSP would block), "Save" saves; a refused save keeps what was typed, says
why next to the field and shows the preview with the point where the guard trips.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import force_locale, gettext as _
from flask_login import current_user
from sqlalchemy import select

from retention import clock
from retention.audit.service import actor_of
from retention.extensions import db
from retention.referrals import labels, programs, reports, rewards
from retention.referrals.delivery import friend_incentive, offer_for_code
from retention.referrals.models import ReferralProgram
from retention.referrals.offers import display_code, language_of
from retention.staff.access import roles_required
from retention.staff.service import reserve_attempt

blueprint = Blueprint("referrals", __name__, url_prefix="/referrals")
public = Blueprint("referral_landing", __name__)
MAX_BANDS_FORM = 6  # rows of bands the form shows (the API takes up to programs.MAX_BANDS)
LANDING_MAX_PER_ADDRESS = 60  # referral links one client address may open per LOGIN_WINDOW_SECONDS


def _form_raw(form) -> dict:
    raw = {name: form.get(name, "") for name in programs.FIELDS if name != "bands"}
    raw["bands"] = [{"from": form.get(f"band_from_{i}", ""), "reward": form.get(f"band_reward_{i}", "")}
                    for i in range(1, MAX_BANDS_FORM + 1)]
    return raw


def _blank() -> dict:
    today = clock.now().date()
    return {"name": "", "starts_on": today.isoformat(), "ends_on": "", "currency": "USD", "min_purchase": "100",
            "max_purchase": "10000", "categories": "", "min_nps": 9, "min_days": 30, "return_window_days": 14,
            "max_offers": 1, "reward_kind": "percent", "reward_percent": "5", "reward_floor": "10",
            "reward_cap": "100", "bands": [], "rounding_step": "5", "min_share": "1", "friend_kind": "percent",
            "friend_value": "10", "reward_type": "account_credit", "hold_days": 30, "code_days": 90,
            "max_referrals": "", "channel": "auto"}


def _shown(values: dict) -> dict:
    """Values as the form's inputs show them (bands padded to the form's rows, categories as one line)."""
    shown = dict(values)
    bands = list(values.get("bands") or [])
    shown["bands"] = bands + [{"from": "", "reward": ""}] * (MAX_BANDS_FORM - len(bands))
    if isinstance(shown.get("categories"), (list, tuple)):
        shown["categories"] = ", ".join(shown["categories"])
    for name in ("starts_on", "ends_on"):
        if isinstance(shown.get(name), dt.date):
            shown[name] = shown[name].isoformat()
        shown[name] = shown.get(name) or ""
    if shown.get("max_referrals") is None:
        shown["max_referrals"] = ""
    return shown


def _preview(raw: dict):
    """(rows, trip error, rule) for what was typed; (None, error, None) when the fields cannot make a rule yet."""
    try:
        programs.clean(raw)
    except programs.ProgramError as exc:
        if not exc.message.startswith("insult guard"):
            return None, exc, None
        rule = programs.rule_of(_typed_rule_fields(raw))
        return rewards.preview(rule), exc, rule
    rule = programs.rule_of(_typed_rule_fields(raw))
    return rewards.preview(rule), None, rule


def _typed_rule_fields(raw: dict) -> dict:
    """The rule's fields of a form that `clean` accepted up to the guard (so every one parses)."""
    values = dict(raw)
    values["currency"] = str(raw["currency"]).strip().upper()
    values["bands"] = [b for b in raw.get("bands") or [] if str(b.get("from", "")).strip() or
                       str(b.get("reward", "")).strip()]
    for name in ("reward_percent", "reward_floor", "reward_cap"):
        if values["reward_kind"] != "percent" or not str(values.get(name) or "").strip():
            values[name] = None
    if values["reward_kind"] == "percent":
        values["bands"] = []
    return values


def _usage(program: ReferralProgram | None) -> dict | None:
    """What the program has done so far: offers made, referrals holding a place under its cap, rewards earned."""
    if program is None or program.id is None:
        return None
    from sqlalchemy import func

    from retention.referrals.models import COUNTED, EARNED, MADE, Referral, ReferralOffer

    count = lambda query: db.session.scalar(query) or 0  # noqa: E731
    return {"offers": count(select(func.count()).select_from(ReferralOffer).where(
                ReferralOffer.program_id == program.id, ReferralOffer.status == MADE)),
            "referrals": count(select(func.count()).select_from(Referral).where(
                Referral.program_id == program.id, Referral.status.in_(COUNTED))),
            "earned": count(select(func.count()).select_from(Referral).where(
                Referral.program_id == program.id, Referral.status == EARNED))}


def _page(program: ReferralProgram | None, values: dict, error=None, rows=None, rule=None, status: int = 200):
    error_text = error.translated() if error is not None else ""
    return render_template(
        "referrals/program.html", program=program, usage=_usage(program), values=_shown(values), error=error,
        error_text=error_text,
        rows=rows, rule=rule, labels=labels, field_labels=labels.FIELD_LABELS,
        peak_reward=max([Decimal(1)] + [r.reward for r in rows or []]),
        peak_share=max([Decimal(1)] + [r.share for r in rows or []] + ([rule.min_share] if rule else []))), status


@blueprint.route("/")
@roles_required("marketing")
def index():
    """Every program: its dates, rule in short, and whether it is running now."""
    now = clock.now()
    rows = db.session.scalars(select(ReferralProgram).order_by(ReferralProgram.id.desc())).all()
    return render_template("referrals/index.html", programs=rows, now=now, labels=labels)


@blueprint.route("/programs/new", methods=["GET", "POST"])
@roles_required("marketing")
def new_program():
    if request.method == "GET":
        values = _blank()
        rows, _error, rule = _preview(values)
        return _page(None, values, rows=rows, rule=rule)
    return _submit(None)


@blueprint.route("/programs/<int:program_id>", methods=["GET", "POST"])
@roles_required("marketing")
def edit_program(program_id: int):
    program = db.session.get(ReferralProgram, program_id)
    if program is None:
        abort(404, description=_("There is no such referral program."))
    if request.method == "GET":
        values = programs.form_values(program)
        rows, _error, rule = _preview(values)
        return _page(program, values, rows=rows, rule=rule)
    return _submit(program)


def _submit(program: ReferralProgram | None):
    raw = _form_raw(request.form)
    rows, error, rule = _preview(raw)
    if request.form.get("action") == "preview" or error is not None:
        # The guard's refusal shows its point in the preview; another problem only next to its field.
        return _page(program, raw, error=error, rows=rows, rule=rule, status=422 if error is not None else 200)
    actor, now = actor_of(current_user), clock.now()
    try:
        if program is None:
            program = programs.create_program(db.session, raw, actor=actor, now=now)
        else:
            programs.update_program(db.session, program, raw, actor=actor, now=now)
    except programs.ProgramError as exc:  # pragma: no cover - clean() above already said so
        db.session.rollback()
        return _page(program, raw, error=exc, rows=rows, rule=rule, status=422)
    db.session.commit()
    flash(_("Referral program “%(name)s” saved.", name=program.name))
    return redirect(url_for("referrals.edit_program", program_id=program.id), code=303)


@blueprint.route("/programs/<int:program_id>/delete", methods=["POST"])
@roles_required("marketing")
def delete_program(program_id: int):
    program = db.session.get(ReferralProgram, program_id)
    if program is None:
        abort(404, description=_("There is no such referral program."))
    try:
        programs.delete_program(db.session, program, actor=actor_of(current_user), now=clock.now())
    except programs.ProgramError as exc:
        db.session.rollback()
        flash(exc.translated())
        return redirect(url_for("referrals.edit_program", program_id=program_id), code=303)
    db.session.commit()
    flash(_("Referral program deleted."))
    return redirect(url_for("referrals.index"), code=303)


@blueprint.route("/reports")
@roles_required("marketing")
def report():
    """Offers, conversions, rate, reward cost, attributed revenue and cost share, by program and month."""
    return render_template("referrals/reports.html", figures=reports.figures(db.session, clock.now()), labels=labels)


@blueprint.route("/reports/payout.csv")
@roles_required("marketing")
def payout():
    """Earned rewards for payout (UTF-8 with a BOM; text cells safe from formula injection)."""
    name = f"referral-payout-{clock.now():%Y-%m-%d}.csv"
    return Response(reports.payout_csv(db.session), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@public.route("/r/<code>")
def landing(code: str):
    """What a friend sees from the advocate's link or QR code: the incentive and the code to give when buying.

    An unknown, expired or ended code gets one and the same page (404), so codes cannot be told apart by guessing;
    an address opening more than LANDING_MAX_PER_ADDRESS links in the sign-in throttle's window waits (429).
    """
    now = clock.now()
    address = (request.remote_addr or "unknown")[:100]
    wait = reserve_attempt(db.session, [(f"referral-addr:{address}", LANDING_MAX_PER_ADDRESS)], now,
                           current_app.config["LOGIN_WINDOW_SECONDS"])
    db.session.commit()
    if wait:  # someone trying codes one after another
        response = current_app.make_response((_("Too many tries. Try again later."), 429))
        response.headers["Retry-After"] = str(wait)
        response.mimetype = "text/plain"
        return response
    offer = offer_for_code(db.session, code) if len(code) <= 20 else None
    asked = request.args.get("lang")
    language = asked if asked in ("en", "ar", "fa") else language_of(offer.customer.locale if offer else None)
    valid = (offer is not None and offer.program is not None and (offer.expires_at is None or offer.expires_at > now))
    with force_locale(language):
        if not valid:
            return render_template("referrals/landing.html", offer=None,
                                   company=current_app.config.get("COMPANY_NAME", "")), 404
        digits = {"en": "latn", "ar": "arab", "fa": "arabext"}[language]
        return render_template("referrals/landing.html", offer=offer, code=display_code(offer.code),
                               incentive=friend_incentive(offer.program, language, digits),
                               company=current_app.config.get("COMPANY_NAME", ""))
