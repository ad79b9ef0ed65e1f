"""The people of a run: staff working their calls, customers reading their email, the mail room, an admin.

Staff act through the app's services with the simulated `now` (as the pages do after parsing a form);
customers act over HTTP on the public pages (survey `/s/<token>`, unsubscribe links) with the links they
find in the emails the app wrote to the outbox folder, or printed on a letter that was mailed.
"""
from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
import traceback
from collections import Counter
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import joinedload

from retention.calls import service as calls
from retention.calls.service import ADHOC_WINDOW, CallError
from retention.journeys import calendar
from retention.journeys.models import OPEN, Touchpoint
from retention.journeys.planning import customer_window, owner_window
from retention.staff.models import StaffUser

SURVEY_LINK = re.compile(r"/s/([A-Za-z0-9_-]{16,64})")
UNSUBSCRIBE_LINK = re.compile(r"/unsubscribe/([A-Za-z0-9_-]{16,128})")
REFERRAL_LINK = re.compile(r"/r/([A-Z0-9]{4,40})")


class ActorErrors:
    """Unexpected exceptions of the app's services met by the actors (a bug unless shown otherwise)."""

    def __init__(self):
        self.count = Counter()
        self.examples: list[str] = []

    def add(self, where: str, exc: BaseException) -> None:
        self.count[where] += 1
        if len(self.examples) < 10:
            self.examples.append(f"{where}: {type(exc).__name__}: {exc}\n"
                                 + "".join(traceback.format_exception(exc)[-4:]))


def windows_of(tp: Touchpoint) -> list:
    """The windows a call must be made in: the customer's (the step's, or the ad-hoc one) and the owner's."""
    if tp.step is not None:
        first = customer_window(tp.step, tp.customer)
    else:
        first = calendar.LocalWindow(tp.customer.timezone or "UTC", ADHOC_WINDOW[0], ADHOC_WINDOW[1],
                                     tp.customer.country, True)
    out = [first]
    owner = owner_window(tp.owner) if tp.owner is not None else None
    if owner is not None:
        out.append(owner)
    return out


def inside(now: dt.datetime, windows) -> bool:
    return all(calendar.in_window(now, w) for w in windows)


class Staff:
    """Onboarding staff: each works the open calls due in their list, when both sides' hours allow."""

    def __init__(self, rng, stats: Counter, errors: ActorErrors, facts: dict):
        self.rng, self.stats, self.errors, self.facts = rng, stats, errors, facts
        self.category: str | None = None

    def away(self, person: StaffUser, now: dt.datetime) -> bool:
        for start, end in self.facts.get("absences", {}).get(person.id, ()):
            local = now.astimezone(calendar.time_zone(person.timezone)).date()
            if start <= local <= end:
                return True
        return False

    def work(self, session, now: dt.datetime) -> None:
        """Each open call that is due and whose owner is in and inside both sides' hours gets worked now."""
        rows = session.scalars(select(Touchpoint).where(Touchpoint.kind == "call", Touchpoint.status == OPEN,
                                                        Touchpoint.due_at <= now).order_by(Touchpoint.due_at)
                               .options(joinedload(Touchpoint.customer), joinedload(Touchpoint.owner),
                                        joinedload(Touchpoint.step))).unique().all()
        workable = [tp.id for tp in rows if tp.owner is not None and not self.away(tp.owner, now)
                    and inside(now, windows_of(tp))]
        session.rollback()  # nothing read above is kept: each call is read again in its own transaction
        for tp_id in workable:
            try:
                self._one(session, tp_id, now)
                session.commit()
            except OperationalError as exc:  # a deadlock or a lost connection: the call waits for the next round
                session.rollback()
                self.stats["staff_retry_later"] += 1
                self.errors.count["operational (retried)"] += 1
                if "deadlock" not in str(exc).lower():
                    self.errors.add("staff call (database)", exc)
            except CallError as exc:
                session.rollback()
                self.stats[f"staff_refused:{exc.field}"] += 1
            except Exception as exc:  # noqa: BLE001 - kept as an actor error (a bug) and reported
                session.rollback()
                self.errors.add("staff call", exc)

    def _one(self, session, tp_id: int, now: dt.datetime) -> None:
        tp = session.scalar(select(Touchpoint).where(Touchpoint.id == tp_id).options(
            joinedload(Touchpoint.customer), joinedload(Touchpoint.owner), joinedload(Touchpoint.step)))
        if tp is None or tp.status != OPEN or tp.owner is None:
            return
        if self.away(tp.owner, now) or not inside(now, windows_of(tp)):
            return
        rng, actor = self.rng, f"staff:{tp.owner_id}"
        roll = rng.random()
        if roll < 0.04:
            calls.snooze(session, tp.id, hours=rng.randint(1, 48), now=now, actor=actor)
            self.stats["call_snoozed"] += 1
            return
        if roll < 0.07:
            target = calendar.earliest_slot(now + dt.timedelta(days=rng.uniform(1, 5)), windows_of(tp))
            if target is not None:
                calls.reschedule(session, tp.id, due_at=target, now=now, actor=actor)
                self.stats["call_rescheduled"] += 1
            return
        answers = {}
        if tp.purpose == "complaint_verification":
            outcome = "reached" if roll < 0.8 else "no_answer"
            answers = {"solution_held": "yes" if rng.random() < 0.8 else "no"}
        elif roll < 0.6:
            outcome = "reached"
        elif roll < 0.8:
            outcome = "no_answer"
        elif roll < 0.84:
            outcome = "voicemail"
        elif roll < 0.86:
            outcome = "wrong_number"
        else:
            outcome = "call_back"
        sentiment = None
        if outcome == "reached":
            sentiment = rng.choices(["happy", "neutral", "unhappy"], [0.6, 0.25, 0.15])[0]
        call_back_at = None
        if outcome == "call_back":
            # The customer names a time they can talk: inside their hours and their owner's.
            call_back_at = calendar.earliest_slot(now + dt.timedelta(days=rng.uniform(0.5, 3)), windows_of(tp))
            if call_back_at is None:
                outcome, sentiment = "no_answer", None
        calls.log_outcome(session, tp.id, staff=tp.owner, outcome=outcome, now=now, sentiment=sentiment,
                          call_back_at=call_back_at, notes="", answers=answers)
        self.stats[f"call_{outcome}"] += 1
        if sentiment == "unhappy" and rng.random() < 0.5:
            self._complaint_from_call(session, tp, now)

    def _complaint_from_call(self, session, tp: Touchpoint, now: dt.datetime) -> None:
        from retention.complaints.categories import active_categories
        from retention.complaints.service import open_case

        if self.category is None:
            self.category = active_categories(session)[0].key
        open_case(session, tp.customer, channel="phone", category=self.category, summary="Unhappy on the call.",
                  now=now, actor=f"staff:{tp.owner_id}", source="call", from_touchpoint_id=tp.id)
        self.stats["complaint_from_call"] += 1


class Inbox:
    """The customers' mailboxes: every .eml the app wrote to the outbox folder, read once."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.seen: set[str] = set()

    def new_messages(self):
        if not self.folder.exists():
            return []
        out = []
        for path in sorted(self.folder.glob("*.eml")):
            if path.name in self.seen:
                continue
            self.seen.add(path.name)
            with path.open("rb") as fh:
                message = email.message_from_binary_file(fh, policy=email.policy.default)
            out.append(message)
        return out


def links_of(message) -> dict:
    """Survey, unsubscribe and referral links of one email (from its text and HTML parts and headers)."""
    text = str(message.get("List-Unsubscribe") or "")
    for part in message.walk():
        if part.get_content_maintype() == "text":
            try:
                text += "\n" + part.get_content()
            except (LookupError, UnicodeError):
                continue
    return {"survey": sorted(set(SURVEY_LINK.findall(text))),
            "unsubscribe": sorted(set(UNSUBSCRIBE_LINK.findall(text))),
            "referral": sorted(set(REFERRAL_LINK.findall(text)))}


def recipient_id(message) -> str | None:
    """The simulated customer's id from the address the scenario gave them (`<id>@sim.example.net`)."""
    to = str(message.get("To") or "")
    match = re.search(r"([A-Za-z0-9-]+)@sim\.example\.net", to)
    return match.group(1).upper() if match else None


class Absences:
    """Staff absences (H7's feature, retention/staff/absences.py): entered through its service when it exists."""

    def __init__(self):
        try:
            from retention.staff import absences  # noqa: F401
        except ImportError:
            absences = None
        self.module = absences

    @property
    def available(self) -> bool:
        return self.module is not None and hasattr(self.module, "add_absence")

    def add(self, session, person: StaffUser, starts_on: dt.date, ends_on: dt.date, *, now: dt.datetime,
            actor: str, created_by: StaffUser | None = None):
        """Entered as an admin would on the staff page. (Built in parallel by task H7: without `add_absence` the
        driver enters no absence and says so in the summary, facts["absences_hook"] = "missing".)"""
        import inspect

        extra = {"created_by": created_by} if "created_by" in inspect.signature(self.module.add_absence).parameters \
            else {}
        return self.module.add_absence(session, person, starts_on=starts_on, ends_on=ends_on, now=now, actor=actor,
                                       note="simulated holiday", **extra)
