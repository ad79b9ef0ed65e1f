"""What features plug into journeys: the hand-out of each step kind, facts for conditions, gates, step checks.

Journeys import no feature; each feature registers here at app wiring time (retention/wiring.py), so a new
feature adds its step kind, facts or gate without editing journeys or another feature.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Callable

from sqlalchemy.orm import Session


@dataclass(frozen=True)
class Due:
    """One claimed touchpoint being handed out: what a kind's hand-out needs to write its work row."""

    touchpoint_id: int
    customer_id: int
    enrollment_id: int
    sale_id: int | None
    step: object  # JourneyStep


@dataclass(frozen=True)
class HandOut:
    """How due touchpoints of one step kind become work.

    `opens`: the touchpoint stays open in its owner's list (a call) instead of being handed and closed.
    `write` gets every due touchpoint of the kind in the batch and writes their work rows in one statement.
    `needs_sale`: the hand-out reads `Due.sale_id`.
    `channel`: how the step reaches the customer ("phone", "letter"): a customer the contact rules refuse for it
    (mail's opt-outs) has the step skipped with `not_contacted_reason(channel)` instead.
    `deferred`: the work rows are written after the hand-out, from its queue (handout.write_handed_work), so the
    tick's hand-out stays short; False for a kind whose `write` decides whether the step waits (a referral offer
    not yet eligible), which must be known before the hand-out decides whether the journey is complete.
    """

    kind: str
    write: Callable[[Session, list[Due], dt.datetime], None] | None = None
    opens: bool = False
    needs_sale: bool = False
    channel: str | None = None
    deferred: bool = True


@dataclass(frozen=True)
class Facts:
    """Facts a feature gives step conditions, loaded for a whole batch of customers at once.

    `load(session, customer_ids)` returns {customer_id: {fact: value}}; customers it leaves out get `defaults`.
    """

    load: Callable[[Session, set[int]], dict[int, dict]]
    defaults: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Gate:
    """Touchpoints of `kinds` wait (are due again after `retry`) while the fact `fact` is true."""

    kinds: tuple[str, ...]
    fact: str
    reason: str
    retry: dt.timedelta = dt.timedelta(hours=24)


HANDOUTS: dict[str, HandOut] = {}
FACTS: list[Facts] = []
GATES: list[Gate] = []
# kind -> check(session, where, step spec): raises JourneyError naming the field (e.g. a letter's template).
STEP_CHECKS: dict[str, Callable] = {}
# Who may not be contacted by a channel: rule(session, customer_ids, channel) -> the ids refused (mail's opt-outs).
CONTACT_RULES: list[Callable[[Session, set[int], str], set[int]]] = []


def not_contacted_reason(channel: str) -> str:
    """The reason a contact by `channel` was not made because the customer opted out (journeys/wording.py reads it)."""
    return f"not contacted: opted out of {channel}"


def register_contact_rule(rule: Callable) -> None:
    if rule not in CONTACT_RULES:
        CONTACT_RULES.append(rule)


def refused(session: Session, customer_ids, channel: str) -> set[int]:
    """Which of these customers may not be contacted by the channel (every registered rule, one query each)."""
    ids = set(customer_ids)
    found: set[int] = set()
    for rule in CONTACT_RULES:
        if ids:
            found |= set(rule(session, ids, channel))
    return found


def register_handout(handout: HandOut) -> None:
    HANDOUTS[handout.kind] = handout


def register_facts(facts: Facts) -> None:
    if facts not in FACTS:
        FACTS.append(facts)


def register_gate(gate: Gate) -> None:
    if gate not in GATES:
        GATES.append(gate)


def register_step_check(kind: str, check: Callable) -> None:
    STEP_CHECKS[kind] = check


def gated_kinds() -> set[str]:
    return {kind for gate in GATES for kind in gate.kinds}
