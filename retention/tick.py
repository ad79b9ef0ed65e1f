"""The tick: what runs every minute, in order. Each step is safe to run twice or at once on two machines."""
from __future__ import annotations

import datetime as dt

from flask import current_app

from retention.extensions import db
from retention.hooks import service as hooks
from retention.journeys import handout
from retention import upkeep
from retention.queue import get_queue


def process_events(now: dt.datetime) -> int:
    """Apply every due event now (what a worker does when nudged); returns how many were claimed."""
    cfg = current_app.config
    get_queue().release_nudge(hooks.NUDGE_KEY)
    return hooks.process_due(db.session, now, cfg["EVENT_BATCH_SIZE"], cfg["EVENT_MAX_ATTEMPTS"])


def run(now: dt.datetime) -> dict:
    """Apply due events, then queue processing if anything is still due; returns counts."""
    cfg = current_app.config
    summary = {"events": hooks.process_due(db.session, now, cfg["EVENT_BATCH_SIZE"], cfg["EVENT_MAX_ATTEMPTS"],
                                           max_batches=40)}
    # Anything still due (a large backlog, or events stored while Redis was down) goes to the workers.
    summary["swept"] = int(hooks.sweep(db.session, get_queue(), now))
    summary.update(handout.hand_out_all(db.session, now))
    # Last, and bounded: growing tables lose what has outlived its use (retention/upkeep.py).
    summary.update({f"pruned_{table}": n for table, n in upkeep.prune(db.session, now).items()})
    return summary
