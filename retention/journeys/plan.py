"""A customer's journey plan as the customer page shows it: every step in the reader's words.

Loaded in three queries (enrollments, their touchpoints with steps and owners) by the journeys page part
(retention/journeys/registration.py); the words are rendered here, in the request's language.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from retention import i18n
from retention.journeys import conditions, wording
from retention.journeys.models import PAUSED_TP, SCHEDULED, Enrollment, Touchpoint

# Statuses at which a step's condition is not decided yet (it is checked when the step is due).
UNDECIDED = (SCHEDULED, PAUSED_TP)


@dataclass
class PlanStep:
    tp: Touchpoint
    title: str
    kind: str
    status: str
    reason: str = ""
    reason_is_data: bool = False
    condition: str = ""  # "only if detractor" while the condition is not decided
    outcome: str = ""


@dataclass
class PlanEnrollment:
    enrollment: Enrollment
    name: str
    status: str
    exit_words: str = ""
    exit_detail: str = ""  # the sender's own words (data)
    steps: list[PlanStep] = field(default_factory=list)

    @property
    def id(self) -> int:
        return self.enrollment.id


def _exit(reason: str | None) -> tuple[str, str]:
    """("refund", "changed mind") from a stored exit reason "sale.refunded: changed mind"."""
    if not reason:
        return "", ""
    event_type, _sep, detail = reason.partition(": ")
    if event_type in wording.EVENT_LABELS:
        return _("Journey ended: %(why)s", why=wording.label(wording.EVENT_LABELS, event_type)), detail
    return "", reason


def describe_step(tp: Touchpoint) -> PlanStep:
    """One touchpoint in words."""
    condition = ""
    if tp.status in UNDECIDED and tp.step.condition:
        condition = _("only if %(condition)s", condition=conditions.describe(tp.step.condition, number=i18n.number))
    return PlanStep(
        tp=tp, title=wording.title(tp.step.title), kind=wording.label(wording.STEP_KIND_LABELS, tp.kind),
        status=wording.label(wording.TOUCHPOINT_STATUS_LABELS, tp.status),
        reason=wording.reason_words(tp.reason, tp.reason_code, when=i18n.when, number=i18n.number),
        reason_is_data=wording.is_typed_by_a_person(tp.reason, tp.reason_code), condition=condition,
        outcome=wording.label(wording.OUTCOME_LABELS, tp.outcome))


def plan_of(session: Session, customer) -> list[PlanEnrollment]:
    """The customer's enrollments, newest first, each with its steps in due order and in words."""
    enrollments = session.scalars(
        select(Enrollment).where(Enrollment.customer_id == customer.id)
        .options(joinedload(Enrollment.journey),
                 selectinload(Enrollment.touchpoints).options(joinedload(Touchpoint.step),
                                                              joinedload(Touchpoint.owner)))
        .order_by(Enrollment.enrolled_at.desc())).all()
    plans = []
    for e in enrollments:
        words, detail = _exit(e.exit_reason)
        plans.append(PlanEnrollment(
            enrollment=e, name=wording.title(e.journey.name),
            status=wording.label(wording.ENROLLMENT_STATUS_LABELS, e.status), exit_words=words, exit_detail=detail,
            steps=[describe_step(tp) for tp in e.touchpoints]))
    return plans
