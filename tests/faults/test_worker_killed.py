"""A real `rq worker` killed with SIGKILL while it holds a claimed batch: after a restart (and the tick's sweep once
the lease is over) every event is applied once: one sale, one journey, each step planned once, nothing left claimed.
PostgreSQL and Redis only (the worker is a process of its own)."""
from __future__ import annotations

import datetime as dt
import os
import secrets
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import func, insert, select

from retention.customers.models import Sale
from retention.extensions import db
from retention.hooks import service as hooks
from retention.hooks.models import InboundEvent
from retention.hooks.schemas import json_ready, load_event
from retention.journeys.models import Enrollment, JourneyStep, Touchpoint
from retention.tick import run as run_tick
from retention.types import utcnow
from tests.factories import SECRET, customer, sale_completed
from tests.faults.faultkit import require_postgresql, require_redis
from tests.journeys.conftest import world  # noqa: F401  (the default journey, its templates, owners)

ROOT = Path(__file__).resolve().parents[2]
BACKLOG = 5000


def _backlog(now: dt.datetime) -> None:
    """BACKLOG sale events stored as the hook stores them (validated, pending), in one go."""
    rows = []
    for n in range(BACKLOG):
        body = load_event(sale_completed(f"S{n:05d}", cust=customer(f"C{n:05d}"),
                                         occurred_at=now - dt.timedelta(hours=1, seconds=n)))
        data = json_ready(body["data"])
        customer_ref, sale_ref = hooks.refs_of(body["type"], data)
        rows.append({"webhook_id": f"w{n}", "type": body["type"], "occurred_at": body["occurred_at"],
                     "received_at": now, "data": data, "customer_ref": customer_ref, "sale_ref": sale_ref,
                     "status": "pending", "attempts": 0})
    db.session.execute(insert(InboundEvent), rows)
    db.session.commit()


def _worker(app, *, burst: bool) -> subprocess.Popen:
    env = dict(os.environ, DATABASE_URL=os.environ["DATABASE_URL"], REDIS_URL=app.config["REDIS_URL"],
               RETENTION_ENV="testing", RETENTION_WEBHOOK_SECRETS=SECRET, SECRET_KEY=secrets.token_hex(16), RETENTION_INSTANCE_PATH=app.config[
                   "INSTANCE_PATH"], PYTHONPATH=str(ROOT))
    args = [str(Path(sys.executable).parent / "rq"), "worker", "--url", app.config["REDIS_URL"], "--path", str(ROOT),
            "--logging_level", "WARNING", app.config["QUEUE_NAME"]]
    if burst:
        args.append("--burst")
    # a session of its own: SIGKILL to the group takes the worker and the work horse it forked, as a crash does
    return subprocess.Popen(args, cwd=ROOT, env=env, start_new_session=True)


def _status_counts() -> dict:
    db.session.expire_all()
    counts = hooks.counts_by_status(db.session)
    db.session.commit()
    return counts


def _wait(predicate, timeout: float, what: str):
    deadline = time.time() + timeout
    while time.time() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_worker_killed_mid_batch_loses_and_doubles_nothing(app, world, queue):
    require_postgresql()
    require_redis()
    now = utcnow()
    _backlog(now)
    worker = _worker(app, burst=False)
    try:
        assert hooks.sweep(db.session, queue, now)  # the job a worker picks up
        # killed while rows are claimed under its lease and it is applying them (not between batches)
        _wait(lambda: _status_counts().get("processing", 0) > 0, 120, "the worker to claim a batch")
        time.sleep(0.5)
        claimed = _status_counts().get("processing", 0)
        assert claimed > 0
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(10)

    after_kill = _status_counts()
    assert after_kill.get("processing", 0) > 0  # the dead worker's batch is still claimed (rolled back, leased)
    assert after_kill.get("processed", 0) < BACKLOG

    # a new worker takes what is pending now; the claimed rows wait for their lease to end
    assert hooks.sweep(db.session, queue, utcnow())
    restarted = _worker(app, burst=True)
    assert restarted.wait(300) == 0
    assert set(_status_counts()) <= {"processed", "processing"}

    # the tick after the lease: it applies the rest itself (or sweeps it to the workers)
    later = utcnow() + hooks.LEASE + dt.timedelta(minutes=1)
    summary = run_tick(later)
    db.session.commit()
    if summary["swept"]:
        restarted = _worker(app, burst=True)
        assert restarted.wait(300) == 0
    assert _status_counts() == {"processed": BACKLOG}

    # nothing lost, nothing doubled
    assert db.session.scalar(select(func.count()).select_from(Sale)) == BACKLOG
    per_sale = Counter(db.session.scalars(select(Enrollment.sale_id)))
    assert len(per_sale) == BACKLOG and set(per_sale.values()) == {1}
    steps = db.session.scalar(select(func.count()).select_from(JourneyStep)
                              .where(JourneyStep.journey_id == world["journey"].id))
    per_enrollment = Counter(db.session.scalars(select(Touchpoint.enrollment_id)))
    assert len(per_enrollment) == BACKLOG and set(per_enrollment.values()) == {steps}
