"""The tick: what runs every minute, in order. Each step is safe to run twice or at once on two machines."""
from __future__ import annotations

import datetime as dt

from flask import current_app

from retention.complaints import escalation
from retention.extensions import db
from retention.hooks import service as hooks
from retention.journeys import handout
from retention.mail import registration as mail_jobs, sending as mail
from retention.referrals import conversions as referral_conversions
from retention.surveys import loop as survey_loop, sending as survey_sending, service as survey_service
from retention import upkeep
from retention.queue import get_queue, nudge_once


def process_events(now: dt.datetime) -> int:
    """Apply every due event now (what a worker does when nudged); returns how many were claimed."""
    cfg = current_app.config
    get_queue().release_nudge(hooks.NUDGE_KEY)
    return hooks.process_due(db.session, now, cfg["EVENT_BATCH_SIZE"], cfg["EVENT_MAX_ATTEMPTS"])


def send_emails(now: dt.datetime) -> dict:
    """Send the emails that are due (what a worker does when nudged after a commit or by the tick); returns counts.

    One batch (MAIL_BATCH_SIZE) per job, so a long queue does not hold the worker; a full batch queues the next job.
    """
    from retention.mail.service import NUDGE_KEY

    queue = get_queue()
    queue.release_nudge(NUDGE_KEY)
    counts = mail.send_queued(db.session, now)
    if counts["claimed"] >= current_app.config["MAIL_BATCH_SIZE"]:
        mail_jobs.nudge(queue)
    return counts


def send_surveys(now: dt.datetime) -> dict:
    """Send surveys waiting to go (what a worker does when the tick left some); returns counts by outcome.

    SURVEY_SEND_PER_JOB per job, so a long queue does not hold the worker; while any are left, the next job is queued
    (after this one's commits). Running it twice sends nothing twice: each survey leaves "to_send" as it goes.
    """
    return _job_turn(survey_sending.NUDGE_KEY,
                     lambda: survey_sending.send_due(db.session, now, current_app.config["SURVEY_SEND_PER_JOB"]),
                     survey_sending.has_due, survey_sending.nudge)


WORK_NUDGE_KEY = "handed-work"
WORK_JOB = "jobs.handout.write_work"


def nudge_work(queue) -> bool:
    """Queue one job writing handed-out work unless one is waiting already; never fails the caller."""
    return nudge_once(queue, WORK_NUDGE_KEY, WORK_JOB, 120, "the tick")


def write_work(now: dt.datetime) -> dict:
    """Write the work rows the tick left (more were handed out than a tick writes); returns counts.

    HANDED_WORK_PER_JOB per job; while any are left, the next job is queued (after this one's commits). Running it
    twice writes nothing twice: each queue row goes with the transaction that writes its work.
    """
    return _job_turn(WORK_NUDGE_KEY,
                     lambda: handout.write_handed_work(db.session, now, current_app.config["HANDED_WORK_PER_JOB"]),
                     handout.has_handed_work, nudge_work)


def _job_turn(key: str, work, has_more, nudge) -> dict:
    """One job's turn of work the tick left: its nudge released (a new one may be queued), `work()` (bounded), and
    the next job queued after this one's commits while `has_more(session)`; returns work's counts."""
    queue = get_queue()
    queue.release_nudge(key)
    counts = work()
    if has_more(db.session):
        nudge(queue)
    db.session.commit()
    return counts


def _more_for_the_job(done: int, limit: int, has_more, nudge) -> int:
    """After the tick's bounded share (`done` of at most `limit`): 1 when the job was queued for what is left."""
    return int(done >= limit and has_more(db.session) and nudge(get_queue()))


def run(now: dt.datetime) -> dict:
    """Apply due events, then queue processing if anything is still due; returns counts."""
    cfg = current_app.config
    summary = {"events": hooks.process_due(db.session, now, cfg["EVENT_BATCH_SIZE"], cfg["EVENT_MAX_ATTEMPTS"],
                                           max_batches=40)}
    # Anything still due (a large backlog, or events stored while Redis was down) goes to the workers.
    summary["swept"] = int(hooks.sweep(db.session, get_queue(), now))
    summary.update(handout.hand_out_all(db.session, now))
    # The work rows of what was just handed out (surveys, letters, offers, emails): at most HANDED_WORK_PER_TICK
    # here, the rest by the job (write_work), queued once these are committed; the next tick writes some again.
    written = handout.write_handed_work(db.session, now, cfg["HANDED_WORK_PER_TICK"])
    summary.update({f"work_{outcome}": n for outcome, n in written.items()})
    summary["work_nudged"] = _more_for_the_job(sum(written.values()), cfg["HANDED_WORK_PER_TICK"],
                                               handout.has_handed_work, nudge_work)
    # Surveys just handed out are sent (email queued, or a letter), closed when their time is over, and answers
    # that settled are followed up (recovery case and call, passive call): retention/surveys/.
    # At most SURVEY_SEND_PER_TICK, so a tick stays short after a hand-out of thousands: the rest go to the send job,
    # queued once the batches are committed (retention/tick.py: send_surveys), and the next tick sends some again.
    limit = cfg["SURVEY_SEND_PER_TICK"]
    sending = survey_sending.send_due(db.session, now, limit)
    summary.update({f"surveys_{outcome}": n for outcome, n in sending.items()})
    summary["surveys_nudged"] = _more_for_the_job(sum(sending.values()), limit, survey_sending.has_due,
                                                  survey_sending.nudge)
    summary["surveys_rerouted"] = survey_sending.reconcile_emails(db.session, now)
    summary["surveys_closed"] = survey_service.close_due(db.session, now)
    db.session.commit()
    summary["nps_followed_up"] = survey_loop.follow_up_settled(db.session, now)
    # Complaint cases that missed a target: marked once per target, owner and admins told (their emails go below).
    summary["complaints_escalated"] = escalation.escalate_breaches(db.session, now)
    db.session.commit()
    # Referrals whose hold is over are earned, each with its ledger row (retention/referrals/conversions.py).
    summary["referrals_earned"] = referral_conversions.earn_due(db.session, now)
    # Emails are sent by the send job on a worker, queued after the commit that queued them (retention/mail/
    # registration.py); the tick sends none itself. It queues that job when emails are due and none is waiting
    # (a retry whose time came, a job lost while Redis was down, a sender that died), as the sweep does for events.
    summary["emails_nudged"] = int(mail.has_due(db.session, now) and mail_jobs.nudge(get_queue()))
    db.session.commit()
    # Last, and bounded: growing tables lose what has outlived its use (retention/upkeep.py).
    summary.update({f"pruned_{table}": n for table, n in upkeep.prune(db.session, now).items()})
    return summary
