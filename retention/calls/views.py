"""Pages for onboarding staff: My calls, logging outcomes, snooze, reschedule, reassign; the customer page's
ad-hoc calls and notes (retention/calls/adhoc.py).

A refused form re-renders the page it came from with the message in the reader's language next to the field
and what was typed kept (status 404/409/422 by the error's class), never a redirect that resets the form.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import quote

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import get_translations, gettext as _, lazy_gettext as _l, ngettext
from flask_login import current_user
from sqlalchemy import select

from retention import clock, formatting, i18n
from retention.audit.service import actor_of
from retention.calls import adhoc, service
from retention.calls.service import N_
from retention.calls.models import OUTCOMES, SENTIMENTS
from retention.complaints import reports_views as complaint_reports
from retention.customers.models import Customer
from retention.customers.names import language_name
from retention.customers.timeline import isolate
from retention.errors import http_status
from retention.extensions import db
from retention.journeys import calendar, conditions, wording
from retention.request_input import int_arg
from retention.staff import policy
from retention.staff.access import roles_required
from retention.staff.models import StaffUser
from retention.staff.redirects import safe_next

blueprint = Blueprint("calls", __name__, url_prefix="/calls")

GROUPS = (("first", _l("Win back first")), ("overdue", _l("Overdue")), ("today", _l("Due today")), ("upcoming", _l("Upcoming")))
SNOOZE_HOURS = (1, 4, 24)
# My calls shows every call of today's work (first, overdue, due today) and the next UPCOMING_SHOWN upcoming ones in
# full; "Show more" (`?upcoming=N`, 1..UPCOMING_MAX, else 400 naming it) shows as many more each time. Fifty upcoming
# cards in full made a 254 KiB page nobody reads to the end.
UPCOMING_SHOWN = 10
UPCOMING_MAX = 500  # service.my_calls reads at most 500 calls


def _onboarding_staff():
    return db.session.scalars(select(StaffUser).where(StaffUser.role == "onboarding", StaffUser.active.is_(True))
                              .order_by(StaffUser.name)).all()


class _Words:
    """The page's words for many cards, each message translated once per page (gettext through Flask-Babel costs
    a context lookup per call; a list of 50 cards would make thousands). Values are formatted in the reader's
    language, digits and calendar; text from data stays plain str (the template escapes it)."""

    def __init__(self):
        self.lang, self.digits, self.zone = i18n.ui_language(), i18n.ui_digits(), i18n.viewer_zone()
        self._patterns: dict = {}
        self._once: dict = {}

    def once(self, key, make, *args):
        """`make(*args)`, computed once per page for `key` (what many cards repeat: a step's words, a zone's)."""
        try:
            return self._once[key]
        except KeyError:
            value = self._once[key] = make(*args)
            return value

    def gettext(self, msgid: str, **params) -> str:
        pattern = self._patterns.get(msgid)
        if pattern is None:
            pattern = self._patterns[msgid] = _(msgid)
        return pattern % params if params else pattern

    def ngettext(self, singular: str, plural: str, number: int, /, **params) -> str:
        key = (singular, number)
        pattern = self._patterns.get(key)
        if pattern is None:
            pattern = self._patterns[key] = get_translations().ngettext(singular, plural, number)
        return pattern % params

    def when(self, moment, zone: str | None = None, form: str = "short") -> str:
        return self.once(("when", moment, zone or self.zone, form), formatting.format_moment, moment, self.lang,
                         self.digits, zone or self.zone, form)

    def num(self, value) -> str:
        return self.once(("num", type(value), value), formatting.format_number, value, self.lang, self.digits)

    def money(self, amount, currency: str) -> str:
        return formatting.format_money(amount, currency, self.lang, self.digits)

    def zone_label(self, zone: str | None = None) -> str:
        return formatting.zone_label(zone or self.zone, self.lang)

    def language(self, tag: str | None) -> str:
        return self.once(("language", tag), language_name, tag, self.lang)

    def label(self, labels: dict, key: str | None) -> str:
        return self.once(("label", id(labels), key), wording.label, labels, key)


@dataclass
class CardView:
    """One call card as the page shows it: the call and its customer, and every word already in the reader's
    language (computed once per page: see _Words)."""

    card: service.CallCard
    title: str
    flags: list[str]
    why: list[str]
    customer_now: str
    customer_zone: str
    due_customer: str
    customer_clock: str
    due_mine: str
    language: str
    bought: str = ""
    amount: str = ""
    days: str = ""
    nps: str = ""
    last_contact: str = ""
    last_notes: str = ""
    attempt: str = ""
    script_language: str = ""
    script_dir: str = "ltr"
    script_heading: str = ""
    verifies: object = None  # the complaint case whose solution this call checks (complaints/resolution.py)
    covering: str = ""  # "Covering for Ali Rezaei, who is away" (journeys/cover.py), who promised a held time
    customer_url: str = ""

    @property
    def touchpoint(self):
        return self.card.touchpoint

    @property
    def customer(self):
        return self.card.customer


# Extra fields of a call's outcome form read by the feature that opened the call (calls.service.FOLLOW_UPS):
# a complaint's verification call asks whether the solution held.
FOLLOW_UP_FIELDS = ("solution_held",)

FLAG_WORDS = {"recovery": N_("Recovery"), "detractor": N_("Detractor"), "unhappy": N_("Unhappy last call"), "complaint": N_("Open complaint"),
              "silent": N_("Silent")}
_SAYS_WHEN = ("retry", "call_back", "snoozed", "rescheduled")
# Reasons the card says because the caller must know (journeys/planning.py: no overlap of hours with anyone's).
_SAYS_ALWAYS = ("outside_owner_hours",)


def _why(card: service.CallCard, w: _Words) -> list[str]:
    """Why this call exists, in words: the step (and the condition that made it happen) or the purpose,
    a retry or call-back, then the flags that put it first."""
    tp = card.touchpoint
    if tp.step is not None:  # the same few steps on many cards: their words once per page
        words = list(w.once(("step", tp.step.id), _step_words, tp.step, w))
    else:
        words = [w.gettext("Opened by a colleague: %(purpose)s", purpose=w.label(adhoc.PURPOSES, tp.purpose))]
    if tp.reason:
        said = w.once(("reason", tp.reason), _reason_said, tp.reason, w)
        if said:
            words.append(said)
    for flag in card.flags:
        if flag == "detractor":
            words.append(w.gettext("Unhappy in the survey: latest NPS %(score)s", score=w.num(card.latest_nps)))
        elif flag == "unhappy":
            words.append(w.gettext("The customer was unhappy on the last call"))
        elif flag == "complaint":
            n = len(card.open_complaints)
            words.append(w.ngettext("%(count)s complaint is open", "%(count)s complaints are open", n, count=w.num(n)))
        elif flag == "silent":
            words.append(w.gettext("Silent: never reached and never answered a survey"))
        elif flag == "recovery":
            words.append(w.gettext("Call within one business day: win the customer back"))
    return words


def _step_words(step, w: _Words) -> tuple[str, ...]:
    """A journey step's lines of "Why this call": the step and its day, and the condition that made it happen."""
    words = (w.gettext("Journey step: %(step)s (day %(day)s)", step=_title(step, w), day=w.num(step.day_offset)),)
    if step.condition:
        words += (w.gettext("Because: %(condition)s", condition=conditions.describe(step.condition, number=w.num)),)
    return words


def _title(step, w: _Words) -> str:
    return w.once(("title", step.title), wording.title, step.title)


def _reason_said(reason: str, w: _Words) -> str:
    """The call's reason in words when the card says it (a retry, call-back, snooze...), else ""."""
    if wording.read_reason(reason)[0] not in (*_SAYS_WHEN, *_SAYS_ALWAYS):
        return ""
    return wording.reason_words(reason, when=lambda m, form="short": w.when(m, None, form), number=w.num)


def _zone_words(zone: str, w: _Words, now: dt.datetime) -> tuple[str, str, str]:
    """(the customer's time now, their zone's name, "customer's clock: <zone>") for customers in `zone`."""
    label = w.zone_label(zone)
    return w.when(now, zone), label, w.gettext("customer's clock: %(zone)s", zone=label)


class _NoErrors:
    """A card without errors: every field's error is None (the template asks a dozen per card)."""

    def __getattr__(self, name):
        return None


def card_view(card: service.CallCard, w: _Words, now: dt.datetime, customers_url: str = "") -> CardView:
    """`customers_url`: the customer pages' path up to the id (url_for once per page, not once per card)."""
    tp, customer = card.touchpoint, card.customer
    zone = customer.timezone or "UTC"
    customer_now, customer_zone, customer_clock = w.once(("zone", zone), _zone_words, zone, w, now)
    view = CardView(
        card=card,
        title=_title(tp.step, w) if tp.step is not None else w.label(adhoc.PURPOSES, tp.purpose),
        flags=[(flag, w.gettext(FLAG_WORDS[flag])) for flag in card.flags], why=_why(card, w),
        customer_now=customer_now, customer_zone=customer_zone, due_customer=w.when(tp.due_at, zone),
        customer_clock=customer_clock, due_mine=w.when(tp.due_at), language=w.language(customer.locale),
        # The id as the route's converter writes it (request_input.ExternalIdConverter).
        customer_url=customers_url + quote(str(customer.external_id), safe="/"))
    if card.sale is not None:
        view.bought, view.amount = card.sale.product, w.money(card.sale.amount, card.sale.currency)
        if card.days_since_sale is not None:
            days = card.days_since_sale
            view.days = w.ngettext("%(days)s day ago", "%(days)s days ago", days, days=w.num(days))
    view.nps = w.num(card.latest_nps) if card.latest_nps is not None else w.gettext("No answer yet")
    if card.last_contact is not None:
        view.last_contact = "%s: %s" % (w.when(card.last_contact.at, None, "date"),
                                        w.label(wording.OUTCOME_LABELS, card.last_contact.outcome))
        view.last_notes = card.last_contact.notes or ""
    # Tries that did not reach the customer, of the limit (call-backs reached them: not counted); a retry's own
    # reason already says which try it is.
    if card.unreached and not (tp.reason or "").startswith("retry"):
        view.attempt = w.gettext("%(attempt)s of %(of)s", attempt=w.num(card.unreached),
                                 of=w.num(service.MAX_CALL_ATTEMPTS))
    if tp.covering_for_id is not None and tp.covering_for is not None:
        name = isolate(tp.covering_for.display_name)
        view.covering = (w.gettext("Covering for %(name)s, who is away: %(name)s promised the customer this time.",
                                   name=name) if tp.held_at is not None
                         else w.gettext("Covering for %(name)s, who is away.", name=name))
    if tp.purpose == "complaint_verification":
        view.verifies = next((case for case in card.open_complaints if case.verification_touchpoint_id == tp.id), None)
    if card.script:
        view.script_language, view.script_dir = card.script_language, i18n.direction(card.script_language)
        view.script_heading = w.gettext("What to say (%(language)s)", language=w.language(card.script_language))
    return view


def _shown_upcoming(cards: list, upcoming: int, keep: int | None) -> int:
    """How many upcoming cards the page shows: `upcoming`, or up to the card `keep` (a refused form's card, whose
    message must show next to its field)."""
    if keep is not None:
        at = next((n for n, card in enumerate(cards) if card.touchpoint.id == keep), None)
        if at is not None and at >= upcoming:
            return at + 1
    return min(upcoming, len(cards))


def _more_upcoming(owner: StaffUser, cards: list, shown: int) -> dict | None:
    """The "Show more" link under the upcoming calls: its address (landing on the first card it adds) and words."""
    left = len(cards) - shown
    if left <= 0:
        return None
    more = min(UPCOMING_SHOWN, left)
    total = len(cards)
    return {"url": _back_to(_View(owner, shown + more)) + f"#call-{cards[shown].touchpoint.id}",
            "label": ngettext("Show %(count)s more", "Show %(count)s more", more, count=i18n.number(more)),
            "note": ngettext("Showing the next %(shown)s of %(count)s upcoming call.",
                             "Showing the next %(shown)s of %(count)s upcoming calls.", total,
                             shown=i18n.number(shown), count=i18n.number(total))}


def _page_context(owner: StaffUser, upcoming: int = UPCOMING_SHOWN, keep: int | None = None) -> dict:
    now = clock.now()
    w = _Words()
    customers_url = url_for("customers.show", external_id="-")[:-1]
    found = service.my_calls(db.session, owner, now)
    shown = _shown_upcoming(found["upcoming"], upcoming, keep)
    # Words are made for the cards shown only (the upcoming ones past `shown` are counted, not drawn).
    groups = {key: [card_view(card, w, now, customers_url) for card in (cards[:shown] if key == "upcoming" else cards)]
              for key, cards in found.items()}
    return {"groups": groups, "totals": {key: len(cards) for key, cards in found.items()},
            "more_upcoming": _more_upcoming(owner, found["upcoming"], shown),
            # What every form of the page sends back, so its answer shows this same view (_view, _back_to).
            "view": {"upcoming": max(upcoming, shown),
                     **({"owner": owner.id} if owner.id != current_user.id else {})},
            "group_labels": GROUPS, "owner": owner, "blank": _NoErrors(),
            "outcomes": [(o, wording.label(wording.OUTCOME_LABELS, o)) for o in OUTCOMES],
            "sentiments": [(s, wording.label(wording.SENTIMENT_LABELS, s)) for s in SENTIMENTS],
            "snooze_hours": [(h, w.ngettext("%(num)s hour", "%(num)s hours", h, num=w.num(h))) for h in SNOOZE_HOURS],
            "staff": _onboarding_staff(), "my_zone": w.zone_label(),
            # Complaint cases past or near a target and notices of missed ones come first (complaints/sla.py).
            "complaint_attention": complaint_reports.attention_block(owner, now)}


def _render(owner: StaffUser, *, status: int = 200, errors: dict | None = None, values: dict | None = None,
            alert: str = "", upcoming: int = UPCOMING_SHOWN):
    keep = next((key for key in (errors or {}) if isinstance(key, int)), None)
    return render_template("calls/my_calls.html", errors=errors or {}, values=values or {}, alert=alert,
                           **_page_context(owner, upcoming, keep)), status


@dataclass(frozen=True)
class _View:
    """Whose calls the page shows and how many upcoming ones: read from the query string, and from every form of
    the page (which carries them), so an action's answer shows the same list, not the first ten of one's own."""

    owner: StaffUser
    upcoming: int


def _view(values) -> _View:
    """`upcoming` (1..UPCOMING_MAX, else 400 naming it) and, for an admin, `owner` (a colleague's list; 404 when
    nobody has that id); checked at the door, before anything changes."""
    upcoming = int_arg(values, "upcoming", default=UPCOMING_SHOWN, low=1, high=UPCOMING_MAX)
    owner = current_user
    if current_user.role == "admin" and values.get("owner"):
        owner = db.session.get(StaffUser, int_arg(values, "owner")) or abort(404)
    return _View(owner, upcoming)


def _back_to(view: _View) -> str:
    """My calls as `view` shows it (the defaults left out of the address)."""
    args = {}
    if view.upcoming != UPCOMING_SHOWN:
        args["upcoming"] = view.upcoming
    if view.owner.id != current_user.id:
        args["owner"] = view.owner.id
    return url_for("calls.my_calls", **args)


@blueprint.route("/")
@roles_required("onboarding")
def my_calls():
    """Today's calls, overdue ones and the week ahead, most pressing first, each with its context card; of the
    upcoming ones the first `upcoming` (UPCOMING_SHOWN unless asked), with a link to show more."""
    view = _view(request.args)
    return _render(view.owner, upcoming=view.upcoming)


def _refused(exc: service.CallError, key, form_values: dict, view: _View):
    """The page again, the message next to its field on card `key` (or above the list), what was typed kept."""
    db.session.rollback()
    message = exc.translated()
    status = http_status(exc)
    if key is None or status != 422:
        return _render(view.owner, status=status, alert=message, upcoming=view.upcoming)
    return _render(view.owner, status=status, errors={key: {exc.field: message}}, values={key: form_values},
                   upcoming=view.upcoming)


def _parse_local(text: str, zone: str, field: str) -> dt.datetime:
    """A datetime-local form value read in the staff member's own zone (its range is the service's rule)."""
    text = (text or "").strip()
    if not text:
        raise service.CallError(field, N_("Enter a date and time."))
    try:
        if not text.isascii() or len(text) > 40:
            raise ValueError(text)
        value = dt.datetime.fromisoformat(text)
        if value.tzinfo is None:
            value = value.replace(tzinfo=calendar.time_zone(zone))
        return value.astimezone(dt.timezone.utc)
    except (TypeError, ValueError, OverflowError):
        raise service.CallError(field, N_("Enter a date and time, e.g. %(example)s."),
                                example="2026-03-04 10:30") from None


def _check_call_action(touchpoint_id: int) -> str | None:
    """403 unless the signed-in person may work this call; the owner's email when an admin acts for them."""
    try:
        return service.check_call_action(db.session, current_user, touchpoint_id)
    except policy.NotYourCall as exc:
        abort(403, description=str(exc))


@blueprint.route("/<int:touchpoint_id>/outcome", methods=["POST"])
@roles_required("onboarding")
def log_outcome(touchpoint_id: int):
    """Record what came of a call (its owner, or an admin on the owner's behalf: staff/policy.py)."""
    now = clock.now()
    form = request.form
    view = _view(form)
    _check_call_action(touchpoint_id)
    try:
        service.callable_call(db.session, touchpoint_id)  # an unknown call is 404 whatever was sent
        outcome = form.get("outcome", "")
        service.check_outcome(outcome, form.get("sentiment") or None)
        call_back_at = (_parse_local(form.get("call_back_at", ""), current_user.timezone, "call_back_at")
                        if outcome == "call_back" else None)
        tp = service.log_outcome(db.session, touchpoint_id, staff=current_user, outcome=outcome,
                                 now=now, notes=form.get("notes", "").strip(), sentiment=form.get("sentiment") or None,
                                 call_back_at=call_back_at, actor=actor_of(current_user),
                                 answers={key: form.get(key, "") for key in FOLLOW_UP_FIELDS})
    except service.CallError as exc:
        return _refused(exc, touchpoint_id, form.to_dict(), view)
    db.session.commit()
    flash(_("Saved: %(outcome)s for %(name)s.", outcome=wording.label(wording.OUTCOME_LABELS, tp.outcome),
            name=tp.customer.name))
    back = safe_next(request.form.get("next"), _back_to(view))
    if form.get("sentiment") == "unhappy" and tp.purpose != "complaint_verification":  # that one reopens its case
        return _offer_case(tp, back)
    return redirect(back)


def _offer_case(tp, back: str):
    """An unhappy customer: offer the caller to open a complaint case on the spot (a prefilled form; "Not now"
    goes back). By URL only: calls import no complaint page."""
    return redirect(url_for("complaints.new_case", external_id=tp.customer.external_id, touchpoint=tp.id,
                            next=back), 303)


def _whole(text: str | None) -> int:
    """A whole number from a form (ASCII digits), or 0 when it is not one (the service names the field)."""
    text = (text or "").strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 10 else 0


@blueprint.route("/<int:touchpoint_id>/snooze", methods=["POST"])
@roles_required("onboarding")
def snooze(touchpoint_id: int):
    """Put a call off by a few hours."""
    view = _view(request.form)
    _check_call_action(touchpoint_id)
    try:
        tp = service.snooze(db.session, touchpoint_id, hours=_whole(request.form.get("hours")), now=clock.now(),
                            actor=actor_of(current_user))
    except service.CallError as exc:
        return _refused(exc, touchpoint_id, request.form.to_dict(), view)
    db.session.commit()
    flash(_("Snoozed: %(name)s is due %(when)s (%(zone)s).", name=tp.customer.name, when=i18n.when(tp.due_at),
            zone=i18n.zone_label()))
    return redirect(_back_to(view))


@blueprint.route("/<int:touchpoint_id>/reschedule", methods=["POST"])
@roles_required("onboarding")
def reschedule(touchpoint_id: int):
    """Move a call to a chosen time (in the staff member's zone)."""
    view = _view(request.form)
    _check_call_action(touchpoint_id)
    try:
        service.callable_call(db.session, touchpoint_id)  # an unknown call is 404 whatever was sent
        due_at = _parse_local(request.form.get("due_at", ""), current_user.timezone, "due_at")
        tp = service.reschedule(db.session, touchpoint_id, due_at=due_at, now=clock.now(),
                                actor=actor_of(current_user))
    except service.CallError as exc:
        return _refused(exc, touchpoint_id, request.form.to_dict(), view)
    db.session.commit()
    flash(_("Rescheduled: %(name)s is due %(when)s (%(zone)s).", name=tp.customer.name, when=i18n.when(tp.due_at),
            zone=i18n.zone_label()))
    return redirect(_back_to(view))


@blueprint.route("/reassign", methods=["POST"])
@roles_required("onboarding")
def reassign():
    """Hand one or many calls (and their customers) to a colleague."""
    view = _view(request.form)
    raw = request.form.getlist("touchpoint_id")
    ids = [int(i) for i in raw[:service.MAX_REASSIGN + 1] if i.isascii() and i.isdigit() and len(i) <= 10]
    try:
        if len(ids) != len(raw[:service.MAX_REASSIGN + 1]):
            raise service.CallError("touchpoint_ids", N_("One of the selected calls does not exist any more."))
        n = service.reassign(db.session, ids, owner_id=_whole(request.form.get("owner_id")),
                             actor=actor_of(current_user), now=clock.now())
    except service.CallError as exc:
        db.session.rollback()
        return _render(view.owner, status=http_status(exc), errors={"reassign": {exc.field: exc.translated()}},
                       values={"reassign": {"owner_id": request.form.get("owner_id", ""), "selected": raw}},
                       upcoming=view.upcoming)
    db.session.commit()
    flash(ngettext("Reassigned %(count)s call.", "Reassigned %(count)s calls.", n, count=i18n.number(n)))
    return redirect(_back_to(view))


# --- The customer page: log a call made now, add a note, schedule a call (calls/adhoc.py) --------------

def call_actions(session, customer) -> dict:
    """The customer page's part: what its "Log a call / Add a note / Schedule a call" forms offer."""
    return {"purposes": [(key, adhoc.PURPOSES[key]) for key in adhoc.PAGE_PURPOSES],
            "outcomes": [(o, wording.label(wording.OUTCOME_LABELS, o)) for o in OUTCOMES],
            "sentiments": [(s, wording.label(wording.SENTIMENT_LABELS, s)) for s in SENTIMENTS],
            "staff": session.scalars(select(StaffUser).where(StaffUser.role == "onboarding",
                                                             StaffUser.active.is_(True)).order_by(StaffUser.name)).all(),
            **g.get("call_actions_form", {"errors": {}, "values": {}})}


def _customer(external_id: str) -> Customer:
    customer = db.session.scalar(select(Customer).where(Customer.external_id == external_id))
    if customer is None:
        abort(404, description=_("There is no customer with this id."))
    return customer


def _customer_page_refused(customer: Customer, form_name: str, exc: service.CallError):
    """The customer page again, the message next to the field of the form that was sent, what was typed kept."""
    from retention.customers import views as customer_views

    db.session.rollback()
    g.call_actions_form = {"errors": {form_name: {exc.field: exc.translated()}},
                           "values": {form_name: request.form.to_dict()}}
    return customer_views.show(customer.external_id), http_status(exc)


def _done(customer: Customer, message: str):
    flash(message)
    return redirect(url_for("customers.show", external_id=customer.external_id) + "#call-actions")


@blueprint.route("/customer/<external_id:external_id>/log", methods=["POST"], merge_slashes=False)
@roles_required("onboarding")
def log_call(external_id: str):
    """A call made just now, without a task: its outcome and notes."""
    customer = _customer(external_id)
    form = request.form
    now = clock.now()
    try:
        outcome = form.get("outcome", "")
        service.check_outcome(outcome, form.get("sentiment") or None)
        call_back_at = (_parse_local(form.get("call_back_at", ""), current_user.timezone, "call_back_at")
                        if outcome == "call_back" else None)
        tp = adhoc.log_call(customer, staff=current_user, outcome=outcome, now=now,
                            notes=form.get("notes", "").strip(), sentiment=form.get("sentiment") or None,
                            call_back_at=call_back_at, actor=actor_of(current_user), session=db.session)
    except service.CallError as exc:
        return _customer_page_refused(customer, "log", exc)
    db.session.commit()
    saved = _("Saved: %(outcome)s for %(name)s.", outcome=wording.label(wording.OUTCOME_LABELS, tp.outcome),
              name=customer.name)
    if form.get("sentiment") == "unhappy":
        flash(saved)
        return _offer_case(tp, url_for("customers.show", external_id=customer.external_id) + "#call-actions")
    return _done(customer, saved)


@blueprint.route("/customer/<external_id:external_id>/note", methods=["POST"], merge_slashes=False)
@roles_required("onboarding")
def add_note(external_id: str):
    """A note on the customer's timeline."""
    customer = _customer(external_id)
    try:
        adhoc.log_note(customer, request.form.get("note", ""), now=clock.now(), actor=actor_of(current_user),
                       session=db.session)
    except service.CallError as exc:
        return _customer_page_refused(customer, "note", exc)
    db.session.commit()
    return _done(customer, _("Note added for %(name)s.", name=customer.name))


@blueprint.route("/customer/<external_id:external_id>/schedule", methods=["POST"], merge_slashes=False)
@roles_required("onboarding")
def schedule_call(external_id: str):
    """Open a call for later (or now), for the customer's owner or a chosen colleague."""
    customer = _customer(external_id)
    form = request.form
    now = clock.now()
    try:
        owner = None
        if form.get("owner_id"):
            owner = db.session.get(StaffUser, _whole(form.get("owner_id")) or 0)
            if owner is None:
                raise service.CallError("owner_id", N_("Choose an active colleague who makes calls."))
        due_at = _parse_local(form.get("due_at", ""), current_user.timezone, "due_at") if form.get("due_at") else None
        tp = adhoc.open_call(customer, purpose=form.get("purpose", ""), owner=owner, due_at=due_at,
                             note=form.get("note", ""), now=now, actor=actor_of(current_user), session=db.session)
    except service.CallError as exc:
        return _customer_page_refused(customer, "schedule", exc)
    db.session.commit()
    return _done(customer, _("Call scheduled for %(owner)s, due %(when)s (%(zone)s).", owner=tp.owner.display_name,
                             when=i18n.when(tp.due_at), zone=i18n.zone_label()))
