"""An event that kills its worker every time (SIGKILL, as the out-of-memory killer does) while the worker applies it:
each claim counts as an attempt, so after EVENT_MAX_ATTEMPTS claims that never finished it is failed, with a
last_error an admin reads ("worker stopped while applying it"), and is not claimed again; the events that shared
its batch are applied, none of them given up. The worker is a real process killed by the signal, on SQLite or on
PostgreSQL (whichever the run uses)."""
from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from retention.customers.models import Customer
from retention.extensions import db
from retention.hooks import service as hooks
from retention.hooks.models import InboundEvent
from tests.factories import customer, event, staff

ROOT = Path(__file__).resolve().parents[2]
T0 = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.timezone.utc)
MAX_ATTEMPTS = 3
POISON = "C3"

# A worker process: the app, every handler as registered, and one more in front that kills the process (SIGKILL:
# nothing runs after it, no rollback, no finally) when it meets the poison customer.
WORKER = """
import datetime as dt, os, signal, sys
from tests.conftest import make_app
from retention.extensions import db
from retention.hooks import processing, service

app = make_app()

def dies(batch, event, now):
    if event.data["customer"]["id"] == sys.argv[2]:
        os.kill(os.getpid(), signal.SIGKILL)

processing.HANDLERS["customer.upserted"].insert(0, dies)
with app.app_context():
    print(service.process_due(db.session, dt.datetime.fromisoformat(sys.argv[1]), 500, int(sys.argv[3])))
"""


def _worker(url: str, now: dt.datetime) -> subprocess.CompletedProcess:
    db.session.commit()
    db.session.close()  # no lock of ours held while the worker writes (SQLite)
    env = dict(os.environ, DATABASE_URL=url, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-c", WORKER, now.isoformat(), POISON, str(MAX_ATTEMPTS)], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)


def _events() -> dict[str, InboundEvent]:
    db.session.expire_all()
    return {e.data["customer"]["id"]: e for e in db.session.scalars(select(InboundEvent))}


def test_an_event_that_kills_its_worker_every_time_is_failed_after_max_attempts(app, client, signer, auth):
    for n in range(6):
        assert signer.post(client, event("customer.upserted", {"customer": customer(f"C{n}")},
                                         occurred_at=T0 - dt.timedelta(minutes=10 - n))).status_code == 202
    url = db.engine.url.render_as_string(hide_password=False)
    now, killed = T0, 0
    for _ in range(MAX_ATTEMPTS + 3):
        worker = _worker(url, now)
        if worker.returncode == 0:
            break
        assert worker.returncode == -signal.SIGKILL, worker.stderr[-2000:]
        killed += 1
        now += hooks.LEASE + dt.timedelta(seconds=1)  # the dead worker's lease runs out
    assert killed == MAX_ATTEMPTS, "killed its worker once per attempt, then no more"

    events = _events()
    poison = events.pop(POISON)
    poison_id = poison.id
    assert (poison.status, poison.attempts, poison.next_attempt_at) == ("failed", MAX_ATTEMPTS, None)
    assert poison.last_error.startswith("worker stopped while applying it, 3 times")
    # the events of its batches are applied (none given up), each customer recorded once
    assert {e.status for e in events.values()} == {"processed"}
    assert max(e.attempts for e in events.values()) <= MAX_ATTEMPTS
    assert sorted(db.session.scalars(select(Customer.external_id))) == ["C0", "C1", "C2", "C4", "C5"]

    # not retried: however late, no worker claims it again
    assert _worker(url, now + dt.timedelta(days=3)).returncode == 0
    assert _events()[POISON].status == "failed"

    # an admin sees it among the failed events, says why, and may replay it once the cause is fixed
    staff(app, "admin@example.com", "admin")
    auth.login("admin@example.com")
    page = client.get("/admin/events/?status=failed").get_data(as_text=True)
    assert "worker stopped while applying it" in page
    csrf = auth.csrf("/admin/events/?status=failed")
    assert client.post(f"/admin/events/{poison_id}/replay", data={"csrf_token": csrf}).status_code == 302
    assert hooks.process_due(db.session, now + dt.timedelta(days=3), 500, MAX_ATTEMPTS) == 1  # no killer here
    assert _events()[POISON].status == "processed"
    assert db.session.scalar(select(Customer).where(Customer.external_id == POISON)) is not None
