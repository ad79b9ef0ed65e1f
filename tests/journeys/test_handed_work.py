"""The work rows of handed-out touchpoints (surveys, letters, ...) are written after the hand-out, from its queue:
bounded per tick, the rest by the job, never twice, and never to a customer who opted out in between."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from retention.extensions import db
from retention.journeys.handout import hand_out_all, has_handed_work, write_handed_work
from retention.journeys.models import HandedWork, Touchpoint
from retention.mail import optouts
from retention.postal.models import Letter
from retention.surveys.models import Survey
from retention.tick import run as tick
from tests.factories import customer, sale_completed

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 3, 2, 6, 0, tzinfo=UTC)


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def sell_many(client, signer, n: int) -> None:
    for i in range(n):
        assert signer.post(client, sale_completed(f"S{i}", cust=customer(f"C{i}"), occurred_at=T0)).status_code == 202
    tick(T0 - dt.timedelta(days=1))  # events applied, nothing due yet


def test_the_hand_out_queues_the_work_and_the_writer_turns_it_into_letters_once(client, signer, world):
    sell_many(client, signer, 3)
    handed = hand_out_all(db.session, T0)
    assert handed["handed_letter"] == 3  # the welcome letters
    assert count(Letter) == 0 and count(HandedWork) == 3  # handed: queued, not written yet
    assert write_handed_work(db.session, T0) == {"written": 3, "opted_out": 0, "dropped": 0}
    letters = db.session.scalars(select(Letter)).all()
    assert [(l.template_key, l.status, l.created_at) for l in letters] == [("welcome", "queued", T0)] * 3
    assert not has_handed_work(db.session)
    assert write_handed_work(db.session, T0) == {"written": 0, "opted_out": 0, "dropped": 0}  # run again: nothing
    assert count(Letter) == 3


def test_a_customer_who_opted_out_after_the_hand_out_gets_no_letter(client, signer, world):
    sell_many(client, signer, 2)
    hand_out_all(db.session, T0)
    c0 = db.session.scalar(select(Touchpoint.customer_id).join(Touchpoint.customer)
                           .where(Touchpoint.customer.has(external_id="C0")))
    optouts.opt_out(db.session, c0, "letter", source="staff", now=T0, actor="test")
    db.session.commit()
    assert write_handed_work(db.session, T0) == {"written": 1, "opted_out": 1, "dropped": 0}
    assert {l.customer.external_id for l in db.session.scalars(select(Letter))} == {"C1"}
    skipped = db.session.scalar(select(Touchpoint).where(Touchpoint.customer_id == c0, Touchpoint.kind == "letter",
                                                         Touchpoint.handed_at.is_not(None)))
    assert (skipped.status, skipped.reason) == ("skipped", "not contacted: opted out of letter")


def test_a_touchpoint_a_person_changed_since_has_its_work_dropped(client, signer, world):
    sell_many(client, signer, 1)
    hand_out_all(db.session, T0)
    letter_step = db.session.scalar(select(Touchpoint).where(Touchpoint.kind == "letter", Touchpoint.status == "handed"))
    letter_step.status, letter_step.reason = "skipped", "skipped by staff"
    db.session.commit()
    assert write_handed_work(db.session, T0) == {"written": 0, "opted_out": 0, "dropped": 1}
    assert count(Letter) == 0 and count(HandedWork) == 0


def test_the_tick_writes_a_bounded_share_and_the_job_writes_the_rest(app, client, signer, world, queue):
    sell_many(client, signer, 5)
    app.config["HANDED_WORK_PER_TICK"] = 2
    app.config["HANDED_WORK_PER_JOB"] = 2
    summary = tick(T0 + dt.timedelta(days=40))  # the welcome letters and the day-30 surveys are due
    handed = {kind: n for kind, n in db.session.execute(
        select(Touchpoint.kind, func.count()).where(Touchpoint.status == "handed").group_by(Touchpoint.kind))}
    assert handed == {"letter": 5, "nps_survey": 5}
    assert summary["work_written"] == 2 and summary["work_nudged"] == 1
    assert count(HandedWork) == 8
    queue.drain()  # the job writes two, queues itself again while any are left, and so on
    assert count(HandedWork) == 0
    assert count(Letter.__table__.select().where(Letter.__table__.c.template_key == "welcome").subquery()) == 5
    assert count(Survey) == 5


def test_an_opt_out_being_written_while_the_letters_are_written_holds_that_letter_back(client, signer, world):
    """The writer locks the customers of letters before reading their opt-outs: an opt-out not committed yet holds
    that customer's letter for a later round (then skipped, opted out), while the others are written."""
    import os

    import pytest
    from sqlalchemy.orm import Session

    if not (os.environ.get("DATABASE_URL") or "").startswith("postgresql"):
        pytest.skip("row locks: PostgreSQL (CI runs it there)")
    sell_many(client, signer, 2)
    hand_out_all(db.session, T0)
    c0 = db.session.scalar(select(Touchpoint.customer_id).join(Touchpoint.customer)
                           .where(Touchpoint.customer.has(external_id="C0")))
    other = Session(db.engine)  # a person opting the customer out on the customer page, at this very moment
    try:
        optouts.opt_out(other, c0, "letter", source="staff", now=T0, actor="test")
        other.flush()  # written, not committed: its foreign key holds a key-share lock on the customer
        assert write_handed_work(db.session, T0) == {"written": 1, "opted_out": 0, "dropped": 0}
        assert count(HandedWork) == 1  # C0's letter waits
        other.commit()
    finally:
        other.close()
    assert write_handed_work(db.session, T0) == {"written": 0, "opted_out": 1, "dropped": 0}
    assert {l.customer.external_id for l in db.session.scalars(select(Letter))} == {"C1"}
