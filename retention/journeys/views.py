"""Pages: journeys and their versions (admin), enrollment control, and the work charts."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from flask_babel import lazy_gettext as _l, ngettext

from retention import i18n
from retention.audit.service import actor_of
from retention.extensions import db
from retention.journeys import condition_form, conditions, reports, service
from retention.journeys.models import NOT_BUILT_KINDS, STEP_KINDS, Enrollment, Journey, Touchpoint
from retention.staff.access import roles_required
from retention import clock

blueprint = Blueprint("journeys", __name__)

STEP_FIELDS = ("key", "title", "day_offset", "kind", "window_start", "window_end", "condition", "script",
               "template_key", "channel")  # the text fields of a step card (scripts: one per language, script_<lang>-<i>)


@blueprint.route("/journeys/")
@roles_required("marketing")
def index():
    """Every journey (current versions) with its steps, conditions in words."""
    journeys = db.session.scalars(select(Journey).where(Journey.is_current.is_(True)).order_by(Journey.key)).all()
    return render_template("journeys/index.html", journeys=journeys, to_text=conditions.to_text,
                           describe=lambda rule: conditions.describe(rule, number=i18n.number),
                           kind_labels=service.KIND_LABELS, anchor_labels=ANCHOR_LABELS)


ANCHOR_LABELS = {"sale": _l("the sale"), "delivery": _l("the delivery")}
_BLANK_FIELDS = ("key", "title", "day_offset", "condition", "template_key")


def _small_int(text: str, limit: int) -> int | None:
    text = (text or "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 4:
        return None
    number = int(text)
    return number if number <= limit else None


def _condition_from_form(form, i: int) -> dict:
    """A step's condition as the form holds it: the mode, the builder's rows and join, the rule text."""
    count = _small_int(form.get(f"cond_rows-{i}"), 20) or 0
    rows = [{"fact": form.get(f"cond_fact-{i}-{j}", "").strip(), "op": form.get(f"cond_op-{i}-{j}", "").strip(),
             "value": ", ".join(v.strip() for v in form.getlist(f"cond_value-{i}-{j}") if v.strip())}
            for j in range(count)]
    join = "any" if form.get(f"cond_join-{i}") == "any" else "all"
    mode = "form" if form.get(f"cond_mode-{i}") == "form" else "text"  # a form without the choice sends text
    return {"mode": mode, "join": join, "rows": [r for r in rows if r["fact"] or r["value"]],
            "text": form.get(f"condition-{i}", "").strip()}


def _steps_from_form(form, cards: list[dict]) -> list[dict]:
    """The step cards of the edit form as step definitions, and each card as typed (to show it again).

    A card left without a key and title (the blank card for a new step), or marked "remove", is left out.
    The condition comes from the builder (turned into the rule text here, so the form needs no script)
    or from the rule text, whichever the person chose. `cards` gets every card as typed, even when a
    JourneyError stops the reading, so the page can show them again.
    """
    count = _small_int(form.get("rows"), service.MAX_STEPS + 1)
    if not count:
        raise service.JourneyError(service.N_("a whole number from 1 to %(limit)s"), field="rows",
                                   limit=service.MAX_STEPS + 1)
    rows = []
    for i in range(count):
        row = {name: form.get(f"{name}-{i}", "").strip() for name in STEP_FIELDS}
        row["scripts"] = {lang: form.get(f"script_{lang}-{i}", "").strip() for lang in service.SCRIPT_LANGUAGES}
        if not any(row["scripts"].values()) and row.get("script"):
            row["scripts"] = {"en": row["script"]}
        row.pop("script", None)
        row["business_days"] = form.get(f"business_days-{i}") == "on"
        cond = _condition_from_form(form, i)
        card = {**row, "cond": cond, "remove": form.get(f"remove-{i}") == "on"}
        if card["remove"]:
            cards.append(card)
            continue
        if not any(row[name] for name in _BLANK_FIELDS) and not any(row["scripts"].values()) \
                and not (cond["mode"] == "form" and any(r["fact"] for r in cond["rows"])):
            continue  # the blank card (kind and day have values of their own)
        cards.append(card)
        rows.append((row, cond))
    steps = []
    for row, cond in rows:
        if cond["mode"] == "form":
            try:
                row["condition"] = condition_form.text_of(cond["join"], cond["rows"])
            except condition_form.FormError as exc:
                raise service.JourneyError(exc.msgid, where=service._step_name(len(steps) + 1, row),
                                           field="condition", row=exc.row, **exc.params) from None
            cond["text"] = row["condition"]
        steps.append(row)
    return steps


def _card_of(step: dict) -> dict:
    """A step definition (from a stored version) as an edit card, its condition in the builder when it fits."""
    rule = step.get("condition")
    shown = condition_form.rows_of(rule)
    text = conditions.to_text(rule) if rule else ""
    cond = ({"mode": "form", "join": shown[0], "rows": shown[1], "text": text} if shown is not None
            else {"mode": "text", "join": "all", "rows": [], "text": text})
    scripts = dict(step.get("scripts") or {})
    return {**{f: step.get(f) for f in ("key", "title", "day_offset", "kind", "window_start", "window_end",
                                         "template_key", "channel")},
            "business_days": step.get("business_days", True), "scripts": scripts, "cond": cond, "remove": False}


def _blank_card() -> dict:
    return {"key": "", "title": "", "day_offset": "", "kind": "call", "window_start": "10:00",
            "window_end": "18:00", "template_key": "", "channel": "", "business_days": True, "scripts": {},
            "cond": {"mode": "form", "join": "all", "rows": [], "text": ""}, "remove": False, "blank": True}


def _editor(journey: Journey, cards: list[dict], impact, *, previewed=False, error=None, restore=None,
            name=None, choice=""):
    facts = [(name_, conditions.KNOWN_FACTS[name_].kind, str(condition_form.FACT_LABELS.get(name_, name_)))
             for name_ in service.available_facts()]
    value_labels = {**{k: str(v) for k, v in conditions.NPS_CATEGORY_LABELS.items()},
                    **{k: str(v) for k, v in conditions.CUSTOMER_TYPE_LABELS.items()},
                    **{k: str(v) for k, v in condition_form.BOOLEAN_LABELS.items()}}
    builder = {"facts": {n: {"kind": k, "ops": list(condition_form.OPS_BY_KIND[k]),
                             "choices": list(condition_form.choices_of(n))} for n, k, _ in facts},
               "ops": {op: str(label) for op, label in condition_form.OP_LABELS.items()},
               "values": value_labels, "no_value": list(condition_form.NO_VALUE)}
    return render_template(
        "journeys/edit.html", journey=journey, cards=cards + [_blank_card()], impact=impact, previewed=previewed,
        error=error, restore=restore, name=journey.name if name is None else name, choice=choice,
        kinds=[k for k in STEP_KINDS if k not in NOT_BUILT_KINDS], kind_labels=service.KIND_LABELS,
        facts=facts, fact_kinds={n: k for n, k, _ in facts}, ops_by_kind=condition_form.OPS_BY_KIND, op_labels=condition_form.OP_LABELS,
        join_labels=condition_form.JOIN_LABELS, value_labels=value_labels, choices_of=condition_form.choices_of,
        no_value=condition_form.NO_VALUE, builder=builder,
        script_languages=service.SCRIPT_LANGUAGES, language_labels=LANGUAGE_LABELS)


LANGUAGE_LABELS = {"en": _l("English"), "ar": _l("Arabic"), "fa": _l("Persian")}


@blueprint.route("/journeys/<key>/edit", methods=["GET", "POST"])
@roles_required("marketing")
def edit(key: str):
    """Edit a journey: the form, then a preview of what each choice does (the same counting as the save), then save.

    `?restore=N` opens the form filled with version N: saving it restores N as a new version, through the
    same choice of what happens to customers already on the journey.
    """
    journey = service.current_version(db.session, key) or abort(404, description="journey: unknown key")
    now = clock.now()
    if request.method == "GET":
        restore = None
        if request.args.get("restore"):
            number = _small_int(request.args.get("restore"), 2**31 - 1)
            try:
                restore = service.version(db.session, key, number)
            except service.JourneyNotFound as exc:
                abort(404, description=str(exc))
        source = restore or journey
        cards = [_card_of(step) for step in service.form_steps(source)]
        impact = service.edit_impact(db.session, key, now)
        return _editor(journey, cards, impact, restore=restore, name=source.name)
    cards: list[dict] = []
    choice = request.form.get("choice", "")
    restore = None
    if request.form.get("restored_from"):
        number = _small_int(request.form.get("restored_from"), 2**31 - 1)
        restore = db.session.scalar(select(Journey).where(Journey.key == key, Journey.version == number)) \
            if number else None
    name = request.form.get("name", journey.name)
    try:
        steps = _steps_from_form(request.form, cards)
        if request.form.get("action") == "preview":
            impact = service.edit_impact(db.session, key, now, steps=steps)
            db.session.rollback()
            return _editor(service.current_version(db.session, key), cards, impact, previewed=True,
                           restore=restore, name=name, choice=choice)
        if choice not in service.EDIT_CHOICES:
            raise service.JourneyError(service.N_("pick what happens to customers mid-way"), field="choice")
        new, summary = service.edit_journey(db.session, key, steps=steps, choice=choice, now=now,
                                            actor=actor_of(current_user), name=name or None,
                                            restored_from=restore.version if restore is not None else None)
    except service.JourneyError as exc:
        db.session.rollback()
        journey = service.current_version(db.session, key)
        if not cards:
            cards = [_card_of(step) for step in service.form_steps(journey)]
        return _editor(journey, cards, service.edit_impact(db.session, key, now), error=exc.localized(),
                       restore=restore, name=name, choice=choice), 422
    db.session.commit()
    flash(ngettext("Saved version %(version)s; %(count)s customer moved to it.",
                   "Saved version %(version)s; %(count)s customers moved to it.", summary.customers,
                   version=i18n.number(new.version), count=i18n.number(summary.customers)))
    return redirect(url_for("journeys.versions", key=key))


@blueprint.route("/journeys/<key>/versions")
@roles_required("marketing")
def versions(key: str):
    """Every version of a journey: who saved it, when, what changed; a diff of any two; restore links."""
    history = service.versions(db.session, key)
    if not history:
        abort(404, description="journey: unknown key")
    by_number = {j.version: j for j in history}
    newer = _small_int(request.args.get("b"), 2**31 - 1) or history[0].version
    older = _small_int(request.args.get("a"), 2**31 - 1)
    if newer not in by_number or (older is not None and older not in by_number):
        abort(404, description="version: no such version")
    if older is None:
        previous = service.previous_of(history, by_number[newer])
        older = previous.version if previous is not None else newer
    summaries = {j.version: service.diff(p, j) if (p := service.previous_of(history, j)) is not None else None
                 for j in history}
    compared = service.diff(by_number[older], by_number[newer])
    return render_template("journeys/versions.html", journey=history[0], history=history, summaries=summaries,
                           compared=compared, older=older, newer=newer, field_labels=service.FIELD_LABELS,
                           kind_labels=service.KIND_LABELS, anchor_labels=ANCHOR_LABELS,
                           language_labels=LANGUAGE_LABELS)


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
        flash(exc.localized())
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
        flash(exc.localized())
        return redirect(url_for("customers.show", external_id=tp.customer.external_id)), 303
    db.session.commit()
    return redirect(url_for("customers.show", external_id=tp.customer.external_id))


@blueprint.route("/reports/work")
@roles_required("onboarding", "marketing")
def work():
    """The call load of the next four weeks against capacity, and the journey report."""
    from retention.journeys import wording

    now = clock.now()
    key = request.args.get("journey", service.DEFAULT_JOURNEY["key"])
    load = reports.call_load(db.session, now)
    return render_template("journeys/work.html", now=now, load=load, summary=reports.load_summary(load),
                           report=reports.journey_report(db.session, key), title=wording.title)
