"""Ninety simulated days of the real system, smaller than bench/simulate.py: zero violations on every check.

The driver (bench/sim/engine.py) sends signed events over HTTP to a real threaded server, runs two RQ worker
subprocesses and two tick runners at once on a fast simulated clock, has staff work their calls and customers
answer surveys and unsubscribe through the links they were emailed, then runs the checks of bench/sim/checks.py.
It needs PostgreSQL and Redis (DATABASE_URL, REDIS_URL): skipped without them, a failure in CI.
`SIM_SEED` replays a run; the seed is printed in every failure message.
"""
from __future__ import annotations

import os
import random
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

DATABASE_URL = os.environ.get("DATABASE_URL", "")
REDIS_URL = os.environ.get("REDIS_URL", "")
ON_POSTGRES = DATABASE_URL.startswith(("postgresql", "postgres:"))
if not (ON_POSTGRES and REDIS_URL) and os.environ.get("CI"):
    pytest.fail("the simulation needs PostgreSQL and Redis in CI (DATABASE_URL, REDIS_URL)", pytrace=False)
pytestmark = pytest.mark.skipif(not (ON_POSTGRES and REDIS_URL),
                                reason="the simulation runs on PostgreSQL and Redis (DATABASE_URL, REDIS_URL)")

CUSTOMERS = int(os.environ.get("SIM_CUSTOMERS", "200"))
# Five simulated hours a step (432 steps): not a divisor of a day, so the moments staff and ticks act move through
# every hour of the day over five days, and every pair of calling hours and working hours that meet gets its turn.
STEP_MINUTES = int(os.environ.get("SIM_STEP_MINUTES", "300"))


def test_ninety_days_keep_every_promise(app, tmp_path):
    from sim.engine import Simulation

    seed = int(os.environ.get("SIM_SEED") or random.randrange(100000))
    print(f"simulation seed {seed}")
    sim = Simulation(database_url=DATABASE_URL, redis_url=REDIS_URL, seed=seed, customers=CUSTOMERS, days=90,
                     workers=2, tickers=2, step_minutes=STEP_MINUTES, instance=tmp_path, senders=6,
                     queue_name=f"retention-sim-test-{seed}")
    result = sim.run()
    summary = result.summary()
    print(summary)
    replay = f"seed {seed} (replay: SIM_SEED={seed})\n{summary}"
    sent = sum(result.events_sent.values())
    # The run did what it says: every kind of event went out, the workers and both tick runners worked,
    # staff made calls, customers answered surveys through the page and the journey was edited mid-way.
    assert sent >= CUSTOMERS, replay
    assert {"sale.completed", "sale.delivered", "complaint.opened", "complaint.resolved", "nps.response",
            "sale.refunded", "customer.churned"} <= set(result.events_sent), replay
    assert result.duplicates_sent > 0 and result.jobs.get("jobs.events.process_events", 0) > 0, replay
    assert result.actions["call_reached"] > 0 and result.actions["journey_edits"] == 1, replay
    assert result.actions["survey_answer_click"] + result.actions["survey_answer_form"] > 0, replay
    # Nothing lost: every event answered 202/200 was applied (or waits for what it refers to), nothing failed.
    assert result.db_counts.get("events_failed", 0) == 0 and result.db_counts.get("events_pending", 0) == 0, replay
    assert not result.http_errors, replay
    assert not result.tick_errors and not result.jobs_failed and not result.actor_errors, replay
    assert result.checks and all(count == 0 for _name, count, _examples in result.checks), replay
