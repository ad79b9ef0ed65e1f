"""Pages: journeys and their versions (admin), enrollment control, and the work charts."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from retention.audit.service import actor_of
from retention.extensions import db
from retention.journeys import conditions, reports, service
from retention.journeys.models import STEP_KINDS, Enrollment, Journey, Touchpoint
from retention.staff.access import roles_required
from retention import clock

blueprint = Blueprint("journeys", __name__)

STEP_FIELDS = ("key", "title", "day_offset", "kind", "window_start", "window_end", "condition", "script",
               "template_key")


@blueprint.route("/journeys/")
@roles_required("admin")
def index():
    """Every journey (current versions) with its steps."""
    journeys = db.session.scalars(select(Journey).where(Journey.is_current.is_(True)).order_by(Journey.key)).all()
    return render_template("journeys/index.html", journeys=journeys, to_text=conditions.to_text)


def _steps_from_form(form) -> list[dict]:
    """The step rows of the edit form; a row left without a key and title is the blank row for a new step."""
    raw = (form.get("rows") or "").strip()
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 4:
        raise service.JourneyError(f"rows: a whole number from 1 to {service.MAX_STEPS + 1}")
    count = int(raw)
    if not 1 <= count <= service.MAX_STEPS + 1:
        raise service.JourneyError(f"rows: a whole number from 1 to {service.MAX_STEPS + 1}")
    rows = []
    for i in range(count):
        row = {name: form.get(f"{name}-{i}", "").strip() for name in STEP_FIELDS}
        if not any(row[name] for name in ("key", "title", "day_offset", "condition", "script", "template_key")):
            continue  # the blank row (kind and day have values of their own)
        row["business_days"] = form.get(f"business_days-{i}") == "on"
        rows.append(row)
    return rows


def _form_steps(journey) -> list[dict]:
    return [{**{f: getattr(s, f) for f in STEP_FIELDS if f != "condition"},
             "condition": conditions.to_text(s.condition) if s.condition else "",
             "business_days": s.business_days} for s in journey.steps]


@blueprint.route("/journeys/<key>/edit", methods=["GET", "POST"])
@roles_required("admin")
def edit(key: str):
    """Edit a journey: the form, then a preview of what each choice does (the same counting as the save), then save."""
    journey = service.current_version(db.session, key) or abort(404, description="journey: unknown key")
    now = clock.now()
    if request.method == "GET":
        impact = service.edit_impact(db.session, key, now)
        return render_template("journeys/edit.html", journey=journey, steps=_form_steps(journey) + [{}],
                               kinds=STEP_KINDS, impact=impact, previewed=False, error=None)
    steps: list[dict] = []
    choice = request.form.get("choice", "")
    try:
        steps = _steps_from_form(request.form)
        if request.form.get("action") == "preview":
            impact = service.edit_impact(db.session, key, now, steps=steps)
            db.session.rollback()
            return render_template("journeys/edit.html", journey=journey, steps=steps + [{}], kinds=STEP_KINDS,
                                   impact=impact, previewed=True, error=None)
        if choice not in service.EDIT_CHOICES:
            raise service.JourneyError("choice: pick what happens to customers mid-way")
        new, summary = service.edit_journey(db.session, key, steps=steps, choice=choice, now=now,
                                            actor=actor_of(current_user), name=request.form.get("name") or None)
    except service.JourneyError as exc:
        db.session.rollback()
        journey = service.current_version(db.session, key)
        return render_template("journeys/edit.html", journey=journey, steps=(steps or _form_steps(journey)) + [{}],
                               kinds=STEP_KINDS, impact=service.edit_impact(db.session, key, now), previewed=False,
                               error=str(exc)), 422
    db.session.commit()
    flash(f"Saved version {new.version}; {summary.customers} customer(s) moved to it "
          f"({summary.replanned} step(s) re-planned, {summary.kept} kept as they were).")
    return redirect(url_for("journeys.index"))


@blueprint.route("/enrollments/<int:enrollment_id>/<action>", methods=["POST"])
@roles_required("onboarding")
def control(enrollment_id: int, action: str):
    """Pause or resume an enrollment."""
    enrollment = db.session.get(Enrollment, enrollment_id) or abort(404, description="enrollment: unknown id")
    now = clock.now()
    try:
        if action == "pause":
            service.pause(db.session, enrollment, now, actor=actor_of(current_user))
        elif action == "resume":
            service.resume(db.session, enrollment, now, actor=actor_of(current_user))
        else:
            abort(404)
    except service.JourneyError as exc:
        db.session.rollback()
        flash(str(exc))
        return redirect(url_for("customers.show", external_id=enrollment.customer.external_id)), 303
    db.session.commit()
    return redirect(url_for("customers.show", external_id=enrollment.customer.external_id))


@blueprint.route("/touchpoints/<int:touchpoint_id>/skip", methods=["POST"])
@roles_required("onboarding")
def skip(touchpoint_id: int):
    """Skip one planned step."""
    tp = db.session.get(Touchpoint, touchpoint_id) or abort(404, description="touchpoint: unknown id")
    now = clock.now()
    try:
        service.skip(db.session, tp, now, (request.form.get("reason") or "").strip()[:300],
                     actor=actor_of(current_user))
    except service.JourneyError as exc:
        db.session.rollback()
        flash(str(exc))
        return redirect(url_for("customers.show", external_id=tp.customer.external_id)), 303
    db.session.commit()
    return redirect(url_for("customers.show", external_id=tp.customer.external_id))


@blueprint.route("/reports/work")
@roles_required("onboarding", "marketing")
def work():
    """The call load of the next four weeks against capacity, and the journey report."""
    now = clock.now()
    key = request.args.get("journey", service.DEFAULT_JOURNEY["key"])
    return render_template("journeys/work.html", load=reports.call_load(db.session, now),
                           report=reports.journey_report(db.session, key))
