"""Journeys in the staff member's words: labels of machine keys, the default journey's titles, why a step is
where it is (touchpoint reasons), rendered at page time in the reader's language.

Machine keys (statuses, kinds, outcomes) are stored as keys and shown through the `_l` label dicts below.
A touchpoint's reason is stored as English text for the API (`Touchpoint.reason`) and, where its writer sets
one, a `reason_code`; `reason_words` renders either in words: from the code and the parameters read back
from the stored text. A reason typed by a person (a skip with a note) is data and shown as written.
"""
from __future__ import annotations

import datetime as dt
import re

from flask_babel import gettext as _, lazy_gettext as _l, ngettext

STEP_KIND_LABELS = {
    "call": _l("Call"),
    "nps_survey": _l("NPS survey"),
    "letter": _l("Letter"),
    "referral_offer": _l("Referral offer"),
    "email": _l("Email"),
}

TOUCHPOINT_STATUS_LABELS = {
    "scheduled": _l("Scheduled"),
    "open": _l("Open"),
    "handed": _l("Handed out"),
    "done": _l("Done"),
    "skipped": _l("Skipped"),
    "cancelled": _l("Cancelled"),
    "paused": _l("Paused"),
    "claiming": _l("Being handed out"),
}

ENROLLMENT_STATUS_LABELS = {
    "active": _l("Active"),
    "paused": _l("Paused"),
    "completed": _l("Completed"),
    "exited": _l("Exited"),
}

# Lower case: they are read inside sentences ("Call: reached", "after: no answer").
OUTCOME_LABELS = {
    "reached": _l("reached"),
    "no_answer": _l("no answer"),
    "voicemail": _l("voicemail"),
    "wrong_number": _l("wrong number"),
    "call_back": _l("call back"),
}

SENTIMENT_LABELS = {"happy": _l("happy"), "neutral": _l("neutral"), "unhappy": _l("unhappy")}

EVENT_LABELS = {
    "sale.refunded": _l("refund"),
    "customer.churned": _l("customer left"),
}

# The default journey's name and step titles as shipped (retention/journeys/service.py DEFAULT_JOURNEY): system
# text, so shown in the reader's language. A title someone typed in the editor is data and shown as written.
DEFAULT_TITLES = {
    "First ninety days": _l("First ninety days"),
    "Welcome letter signed by the owner": _l("Welcome letter signed by the owner"),
    "Check-in call": _l("Check-in call"),
    "How is it going?": _l("How is it going?"),
    "NPS survey (day 30)": _l("NPS survey (day 30)"),
    "Recovery call": _l("Recovery call"),
    "What would make it a 10?": _l("What would make it a 10?"),
    "Day 45 check-in": _l("Day 45 check-in"),
    "Referral offer": _l("Referral offer"),
    "NPS survey (day 90)": _l("NPS survey (day 90)"),
    "Thank-you letter": _l("Thank-you letter"),
}


def label(labels: dict, key: str | None) -> str:
    """A machine key in words; an unknown key is shown as it is (never a crash on new data)."""
    if not key:
        return ""
    found = labels.get(key)
    return str(found) if found is not None else key.replace("_", " ")


def title(text: str | None) -> str:
    """A journey or step title: the shipped ones in the reader's language, the others as written."""
    if not text:
        return ""
    found = DEFAULT_TITLES.get(text)
    if found is None:
        return text
    from retention import i18n

    return i18n.digits(str(found))  # "day 30" in the reader's digits


# --- why a touchpoint is where it is ---------------------------------------------------------------

_DATE = r"(\d{4}-\d{2}-\d{2})"
# The English reasons the services write, read back to (code, parameters). Order matters: first match wins.
_PATTERNS: list[tuple[str, re.Pattern]] = [
    ("enrolled_late", re.compile(rf"enrolled late: was due {_DATE}\Z")),
    ("version_moved", re.compile(rf"version (\d+): was due {_DATE}\Z")),
    ("journey_exited", re.compile(r"journey exited \(([a-z_.]+)\)\Z")),
    ("condition_false", re.compile(r"condition was false when due\Z")),
    ("kind_not_built", re.compile(r"([a-z_]+) steps are not built yet\Z")),
    ("fact_not_available", re.compile(r"condition uses ([a-z_, ]+), not available yet\Z")),
    ("waiting_complaint", re.compile(r"waiting: a complaint is open\Z")),
    ("waiting_verification", re.compile(r"waiting: a complaint's solution is being verified\Z")),
    ("verification_not_needed", re.compile(r"complaint (reopened|closed): no verification needed\Z")),
    ("retry", re.compile(r"retry (\d+) of (\d+) after ([a-z_]+)\Z")),
    ("not_reached", re.compile(r"not reached after (\d+) attempts\Z")),
    ("wrong_number", re.compile(r"wrong number: check the phone number\Z")),
    ("call_back", re.compile(r"customer asked to be called back\Z")),
    ("snoozed", re.compile(r"snoozed (\d+) h\Z")),
    ("rescheduled", re.compile(r"rescheduled\Z")),
    ("skipped_by_staff", re.compile(r"skipped by staff\Z")),
    # surveys/loop.py opened the follow-up call of an NPS answer, so the journey's own one is not needed.
    ("nps_follow_up_open", re.compile(r"an NPS follow-up call is already open\Z")),
    # retention/postal/email_step.py: an email step for a customer we may not email, or whose email failed to render.
    ("not_emailed", re.compile(r"not emailed: (no_email|opted_out)\Z")),
    ("email_not_written", re.compile(r"email not written: (.*)\Z", re.S)),
    # planning.OUTSIDE_OWNER_HOURS: a call planned outside its owner's hours because nobody's meet the customer's.
    ("outside_owner_hours", re.compile(r"outside the owner's working hours: no one's hours meet the customer's\Z")),
    # registry.not_contacted_reason: a call or letter not made because the customer opted out of the channel.
    ("not_contacted", re.compile(r"not contacted: opted out of (phone|letter|email)\Z")),
]


# Reasons a feature writes on touchpoints, registered at wiring time (retention/wiring.py): name -> (pattern,
# words(params, day, number) -> the reason in the reader's words). E.g. referrals: why no offer was made yet.
FEATURE_REASONS: dict[str, tuple[re.Pattern, object]] = {}


def register_reason(name: str, pattern: re.Pattern, words) -> None:
    FEATURE_REASONS[name] = (pattern, words)


def read_reason(reason: str | None, code: str | None = None) -> tuple[str | None, tuple]:
    """(code, parameters) of a stored reason; (None, ()) for text a person typed or nothing at all."""
    if not reason:
        return code, ()
    for name, pattern in [*_PATTERNS, *((n, p) for n, (p, _w) in FEATURE_REASONS.items())]:
        match = pattern.match(reason)
        if match:
            return name, match.groups()
    return code if code and code != "skipped_by_staff" else None, ()


def reason_words(reason: str | None, code: str | None = None, *, when=None, number=None) -> str:
    """Why a touchpoint is where it is, in the reader's words; a person's own words are returned as they are.

    `when(moment, form=...)` formats a date and `number(n)` a number for the reader (the page binds them to the viewer;
    by default ISO dates and plain numbers).
    """
    name, params = read_reason(reason, code)
    number = number or str
    when = when or (lambda moment, form="date": moment.isoformat())

    def day(text: str) -> str:
        return when(dt.date.fromisoformat(text), form="date")

    if name is None:
        return reason or ""
    if name == "enrolled_late":
        return _("Enrolled late: was due %(date)s", date=day(params[0])) if params else _("Enrolled late")
    if name == "version_moved":
        return _("Journey changed to version %(version)s: was due %(date)s",
                 version=number(int(params[0])), date=day(params[1]))
    if name == "journey_exited":
        return _("Journey ended: %(why)s", why=label(EVENT_LABELS, params[0]))
    if name == "condition_false":
        return _("Its condition did not hold when it was due")
    if name == "kind_not_built":
        return _("%(kind)s steps are not available yet", kind=label(STEP_KIND_LABELS, params[0]))
    if name == "fact_not_available":
        return _("Its condition uses something not available yet")
    if name == "waiting_complaint":
        return _("Waiting: a complaint is open")
    if name == "waiting_verification":
        return _("Waiting: a call will check that the solution of a complaint held")
    if name == "verification_not_needed":
        if params[0] == "reopened":
            return _("Not needed any more: the complaint was reopened")
        return _("Not needed any more: the complaint was closed")
    if name == "retry":
        return _("Attempt %(attempt)s of %(of)s, after: %(outcome)s", attempt=number(int(params[0])),
                 of=number(int(params[1])), outcome=label(OUTCOME_LABELS, params[2]))
    if name == "not_reached":
        count = int(params[0])
        return ngettext("Not reached after %(count)s attempt", "Not reached after %(count)s attempts", count,
                        count=number(count))
    if name == "wrong_number":
        return _("Wrong number: check the phone number")
    if name == "call_back":
        return _("The customer asked to be called back")
    if name == "snoozed":
        hours = int(params[0])
        return ngettext("Snoozed %(count)s hour", "Snoozed %(count)s hours", hours, count=number(hours))
    if name == "rescheduled":
        return _("Rescheduled")
    if name == "skipped_by_staff":
        return _("Skipped by staff")
    if name == "not_emailed":
        if params[0] == "opted_out":
            return _("Not sent: the customer opted out of email")
        return _("Not sent: no email address")
    if name == "email_not_written":
        return _("Not sent: the email could not be written (%(detail)s)", detail=params[0])
    if name == "outside_owner_hours":
        return _("Outside the owner's working hours: nobody's working hours meet the customer's calling hours")
    if name == "not_contacted":
        if params[0] == "phone":
            return _("Not called: the customer asked not to be phoned")
        if params[0] == "letter":
            return _("Not sent: the customer opted out of letters")
        return _("Not sent: the customer opted out of email")
    if name == "nps_follow_up_open":
        return _("Not needed: a follow-up call for the NPS answer is already open")
    if name in FEATURE_REASONS:
        return FEATURE_REASONS[name][1](params, day, number)
    return reason or ""


def is_typed_by_a_person(reason: str | None, code: str | None = None) -> bool:
    """Whether a reason is someone's own words (shown as data, in <bdi>)."""
    return bool(reason) and read_reason(reason, code)[0] is None
