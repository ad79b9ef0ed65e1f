"""Every reason the code writes on a call (or any touchpoint) it closes, holds or moves by itself is said in words where
staff read it (the customer's timeline and plan, My calls), in English, Arabic and Persian: none is left without words
(a "Call closed" line that does not say why) and none shows as the English text stored for the API.

The source is walked for the reasons it writes (`x.reason = ...`, `reason=...`, {"reason": ...}; a string, an f-string
or a module constant), so a new one fails here until it has a sample below and its words are registered
(journeys/wording.py, or a feature's wording.register_reason)."""
from __future__ import annotations

import ast
import datetime as dt
import re
from pathlib import Path

import pytest
from flask_babel import force_locale

from retention.journeys import registry, wording
from retention.journeys.models import late_reason
from retention.journeys.planning import OUTSIDE_OWNER_HOURS
from retention.postal.batches import RETURN_UNDONE
from retention.referrals.offers import Verdict, reason_text
from retention.surveys.loop import STEP_REPLACED

ROOT = Path(__file__).resolve().parents[2] / "retention"

# Each reason written in the source, as the source spells it ({} for a value filled in) -> a reason as stored.
WRITTEN = {
    "superseded by the {} call": "superseded by the recovery call",
    "snoozed {} h": "snoozed 4 h",
    "rescheduled": "rescheduled",
    "retry {} of {} after {}": "retry 2 of 3 after no_answer",
    "not reached after {} attempts": "not reached after 3 attempts",
    "wrong number: check the phone number": "wrong number: check the phone number",
    "customer asked to be called back": "customer asked to be called back",
    "waiting: a complaint is open": "waiting: a complaint is open",
    "waiting: a complaint's solution is being verified": "waiting: a complaint's solution is being verified",
    "complaint {}: no verification needed": "complaint reopened: no verification needed",
    "condition was false when due": "condition was false when due",
    "{} steps are not built yet": "letter steps are not built yet",
    "condition uses {}, not available yet": "condition uses nps, not available yet",
    "journey exited ({})": "journey exited (customer.churned)",
    "skipped by staff": "skipped by staff",
    "version {}: was due {}": "version 3: was due 2026-05-04",
    RETURN_UNDONE: RETURN_UNDONE,
    OUTSIDE_OWNER_HOURS: OUTSIDE_OWNER_HOURS,
    STEP_REPLACED: STEP_REPLACED,
}
# Reasons made by a function, or spelled where the walk does not look: samples made by those.
BUILT = [
    late_reason(dt.datetime(2026, 5, 4, 9, 0, tzinfo=dt.timezone.utc)),
    *(registry.not_contacted_reason(channel) for channel in ("phone", "letter", "email")),
    "complaint closed: no verification needed",
    "not emailed: no_email", "not emailed: opted_out",        # postal/email_step.py
    "email not written: template: no template 'welcome'",
    reason_text(Verdict(False, "no_nps")),
    reason_text(Verdict(False, "too_early", retry_at=dt.datetime(2026, 5, 4, tzinfo=dt.timezone.utc))),
]
# Reasons written on other records than touchpoints (said in words by their own pages).
NOT_ON_TOUCHPOINTS = {
    ("mail/sending.py", "no_email"), ("mail/sending.py", "opted_out"),            # why an email is not sent
    ("referrals/conversions.py", "unknown_code"), ("referrals/conversions.py", "expired_code"),  # a referral
    ("referrals/conversions.py", "program_cap"), ("referrals/conversions.py", "refunded"),
    ("staff/service.py", "deactivated"), ("staff/service.py", "role changed"),  # why a staff session ended
    ("staff/service.py", "password reset"),
    ("complaints/resolution.py", "opted_out"),                                  # an audit entry's detail
    ("referrals/offers.py", "letter_opted_out"),   # why an offer was cancelled (said by referrals/labels.py)
    ("hooks/contract.py", "changed mind"), ("hooks/contract.py", "moved abroad"),  # sample events' data
}


def _constants() -> dict[str, set[str]]:
    """Module-level string constants of retention/ by name (a reason written through one, e.g. RETURN_UNDONE)."""
    found: dict[str, set[str]] = {}
    for path in ROOT.rglob("*.py"):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            value = node.value if isinstance(node, ast.Assign) else None
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        found.setdefault(target.id, set()).add(value.value)
    return found


def _spelled(node, constants: dict[str, set[str]]) -> list[str]:
    """The texts a reason's expression may write: a string, an f-string ({} for each value filled in), a module
    constant, each branch of `a if c else b` and each operand of `a or b`."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):
        return ["".join(part.value if isinstance(part, ast.Constant) else "{}" for part in node.values)]
    if isinstance(node, (ast.Name, ast.Attribute)):
        return sorted(constants.get(node.id if isinstance(node, ast.Name) else node.attr, ()))
    if isinstance(node, ast.IfExp):
        return _spelled(node.body, constants) + _spelled(node.orelse, constants)
    if isinstance(node, ast.BoolOp):
        return [text for value in node.values for text in _spelled(value, constants)]
    return []


def written_reasons() -> set[tuple[str, str]]:
    """(module path under retention/, reason as spelled) of every reason the code writes that the source spells
    out: `x.reason = ...` (alone or in a tuple), `reason=...`, {"reason": ...}."""
    constants, found = _constants(), set()
    for path in ROOT.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            values = []
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Attribute) and target.attr == "reason":
                        values.append(node.value)
                    elif isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
                        values += [v for t, v in zip(target.elts, node.value.elts)
                                   if isinstance(t, ast.Attribute) and t.attr == "reason"]
            elif isinstance(node, ast.keyword) and node.arg == "reason":
                values.append(node.value)
            elif isinstance(node, ast.Dict):
                values += [v for k, v in zip(node.keys, node.values)
                           if isinstance(k, ast.Constant) and k.value == "reason"]
            for value in values:
                for text in _spelled(value, constants):
                    if text:   # "" is no reason (an event's reason left out)
                        found.add((path.relative_to(ROOT).as_posix(), text))
    return found


def test_every_reason_the_code_writes_has_a_sample_here():
    written = {text for where, text in written_reasons() - NOT_ON_TOUCHPOINTS}
    assert written - set(WRITTEN) == set(), "a new reason: add a sample to WRITTEN and register its words"
    assert set(WRITTEN) - written == set(), "a reason no longer written: take it out of WRITTEN"


SAMPLES = [*WRITTEN.values(), *BUILT]


@pytest.mark.parametrize("reason", SAMPLES)
def test_each_reason_is_said_in_words_in_english_arabic_and_persian(app, reason):
    assert wording.read_reason(reason)[0] is not None, f"no words registered for {reason!r}"
    with app.test_request_context():
        with force_locale("en"):
            english = wording.reason_words(reason)
        assert english and english != reason
        for language in ("ar", "fa"):
            with force_locale(language):
                words = wording.reason_words(reason)
            assert words != english and re.search("[\u0600-\u06ff]", words), (language, reason, words)
