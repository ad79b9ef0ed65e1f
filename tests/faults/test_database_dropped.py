"""The database connection dropped (the server terminates the app's backends) in the middle of a tick and of a
print batch: nothing is handed out twice, nothing is lost, the next tick finishes the job, and the print batch is
built again holding each letter exactly once. PostgreSQL only (pg_terminate_backend)."""
from __future__ import annotations

import csv
import datetime as dt
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import exc, select

from retention.extensions import db
from retention.hooks import service as hooks
from retention.journeys.models import Touchpoint
from retention.mail.models import OutboundEmail
from retention.postal import batches
from retention.postal.models import Letter, PrintBatch
from retention.postal.service import company_from
from retention.surveys.models import Survey
from retention.tick import run as run_tick
from tests.factories import customer, event, sale_completed
from tests.faults.faultkit import connection_killer, require_postgresql
from tests.journeys.conftest import world  # noqa: F401  (the default journey, its templates, owners)

UTC = dt.timezone.utc
CUSTOMERS = 120
SOLD = dt.datetime(2026, 1, 5, 10, 0, tzinfo=UTC)   # a Monday
NOW = SOLD + dt.timedelta(days=40)                  # every step up to day 31 is due


def _customers(client, signer) -> None:
    """CUSTOMERS sales, delivered the next day, applied at the time they happened (nothing enrolled late)."""
    for n in range(CUSTOMERS):
        cid = f"C{n:04d}"
        details = customer(cid, locale=("en", "ar", "fa")[n % 3])
        assert signer.post(client, sale_completed(f"S{n:04d}", cust=details, occurred_at=SOLD)).status_code == 202
        delivered = SOLD + dt.timedelta(days=1)
        assert signer.post(client, event("sale.delivered", {"sale_id": f"S{n:04d}",
                                                            "delivered_at": delivered.isoformat()},
                                         delivered)).status_code == 202
    hooks.process_due(db.session, SOLD + dt.timedelta(days=1, hours=1))
    assert hooks.counts_by_status(db.session) == {"processed": 2 * CUSTOMERS}


def _recover() -> None:
    """What a worker does after a failed job: the session is thrown away; the next job starts afresh."""
    db.session.rollback()
    db.session.remove()


def _check_everything_handed_once(now: dt.datetime, outbox: Path) -> dict:
    db.session.expire_all()
    tps = db.session.execute(select(Touchpoint.id, Touchpoint.kind, Touchpoint.status, Touchpoint.due_at)).all()
    statuses = Counter((kind, status) for _, kind, status, due in tps if due <= now)
    # nothing due is left behind or half-claimed
    assert not [t for t in tps if t.due_at <= now and t.status in ("scheduled", "claiming")], statuses
    letters = Counter(db.session.scalars(select(Letter.touchpoint_id)))
    surveys = Counter(db.session.scalars(select(Survey.touchpoint_id)))
    letter_tps = {t.id for t in tps if t.kind == "letter" and t.due_at <= now}
    survey_tps = {t.id for t in tps if t.kind == "nps_survey" and t.due_at <= now}
    assert set(letters) == letter_tps and set(letters.values()) == {1}   # one letter per letter step
    assert set(surveys) == survey_tps and set(surveys.values()) == {1}   # one survey per survey step
    assert len(letter_tps) == CUSTOMERS and len(survey_tps) == CUSTOMERS
    # each survey's email went out once: one row per survey, sent, one file each in the outbox
    emails = db.session.execute(select(OutboundEmail.ref, OutboundEmail.status, OutboundEmail.message_id)).all()
    assert Counter(e.status for e in emails) == {"sent": CUSTOMERS}
    assert len({e.ref for e in emails}) == CUSTOMERS
    files = list(outbox.glob("*.eml"))
    ids = Counter(line.split(":", 1)[1].strip() for f in files for line in f.read_text().splitlines()
                  if line.lower().startswith("message-id:"))
    assert len(files) == CUSTOMERS and set(ids.values()) == {1}
    return statuses


def _tick_and_jobs(when: dt.datetime, clock, queue) -> None:
    """One tick, then the jobs it and its commits queued (the email sender), as the workers would run them."""
    clock.set(when)
    try:
        run_tick(when)
    except exc.DBAPIError:
        _recover()  # the job failed; the worker goes on with the next one
    queue.drain()  # a job that meets the dropped connection fails (its rows keep their state) and the worker goes on
    _recover()


def test_connection_dropped_during_ticks_then_the_next_tick_finishes_the_job(app, client, signer, world, tmp_path,
                                                                            clock, queue):
    require_postgresql()
    app.config["MAIL_OUTBOX_DIR"] = str(tmp_path / "outbox")
    _customers(client, signer)
    with connection_killer(db.engine) as killer:
        # each round meets the dropped connection somewhere else: in the hand-out (before and while writing work
        # rows), while surveys queue their emails, and while emails are claimed and sent one by one
        # (a batch of survey emails is written by COPY, which no statement event sees: it dies on the ids taken for it)
        for matching, nth in (("FROM touchpoints", 1), ("INSERT INTO letters", 1), ("INSERT INTO surveys", 1),
                              ("pg_get_serial_sequence('outbound_emails'", 1), ("UPDATE outbound_emails", 5)):
            killer.arm(nth, matching)
            _tick_and_jobs(NOW, clock, queue)
            assert killer.after is None, f"the connection was not dropped at {matching!r}"
        assert len(killer.fired) == 5
        # the next ticks finish the job (an email claimed when its sender lost the connection waits for the
        # claim to lapse: the tick after that sends it)
        later = NOW + dt.timedelta(minutes=20)
        _tick_and_jobs(later, clock, queue)
        assert len(killer.fired) == 5
    statuses = _check_everything_handed_once(later, tmp_path / "outbox")
    assert statuses[("call", "open")] == 2 * CUSTOMERS  # the check-in and how-is-it-going calls, each once
    # another tick changes nothing: nothing was left for it
    _tick_and_jobs(later + dt.timedelta(minutes=1), clock, queue)
    _check_everything_handed_once(later + dt.timedelta(minutes=1), tmp_path / "outbox")


def _manifest_letters(batch: PrintBatch) -> list[int]:
    with open(batch.manifest_path, encoding="utf-8-sig", newline="") as f:
        return [int(row["letter"].removeprefix("L-")) for row in csv.DictReader(f)]


@pytest.mark.parametrize("where", ["while drawing", "while recording pages"])
def test_connection_dropped_during_a_print_batch_then_it_is_built_again_with_each_letter_once(
        app, client, signer, world, tmp_path, where):
    require_postgresql()
    app.config["MAIL_OUTBOX_DIR"] = str(tmp_path / "outbox")
    _customers(client, signer)
    run_tick(NOW)
    queued = set(db.session.scalars(select(Letter.id).where(Letter.status == "queued")))
    assert len(queued) == CUSTOMERS
    batch = batches.create_batch(db.session, filters={}, duplex=False, actor="test", now=NOW)
    db.session.commit()
    batch_id = batch.id
    out, company = tmp_path / "print", company_from(app.config)

    def build(now):
        return batches.build_batch(db.session, batch_id, out_dir=out, company=company, today=now.date(), now=now)

    with connection_killer(db.engine) as killer:
        if where == "while drawing":
            killer.arm(1, "UPDATE print_batches SET done")  # the progress report after the first 50 letters
        else:
            killer.arm(1, "UPDATE letters SET first_page")  # every letter drawn; the pages being recorded
        with pytest.raises(exc.DBAPIError):
            build(NOW)
        assert killer.fired
    _recover()
    batch = db.session.get(PrintBatch, batch_id)
    # the batch shows it stopped, and the mail room may start it again (at once when it failed, after the
    # stall time when the build died before it could say so)
    later = NOW + batches.BUILD_STALLED_AFTER + dt.timedelta(minutes=1)
    assert batch.status in ("failed", "building")
    assert "rebuild" in batches.batch_actions(batch, later)
    assert set(db.session.scalars(select(Letter.id).where(Letter.batch_id == batch_id))) == queued  # none lost
    batches.request_rebuild(db.session, batch, actor="test", now=later)
    db.session.commit()
    batch = build(later)
    assert batch.status == "ready" and batch.total == CUSTOMERS and batch.skipped == 0
    in_manifest = _manifest_letters(batch)
    assert len(in_manifest) == CUSTOMERS and set(in_manifest) == queued   # each letter exactly once
    pages = db.session.execute(select(Letter.first_page, Letter.page_count).where(Letter.batch_id == batch_id)).all()
    starts = sorted(p.first_page for p in pages)
    assert len(set(starts)) == CUSTOMERS and all(p.page_count >= 1 for p in pages)
    assert batch.pages >= CUSTOMERS
    # no second batch can take them again
    with pytest.raises(batches.NothingToPrint):
        batches.create_batch(db.session, filters={}, duplex=False, actor="test", now=later)
