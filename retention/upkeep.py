"""Keeping tables that grow with traffic in check, a bounded batch per table on every tick (docs/architecture.md)."""
from __future__ import annotations

import datetime as dt

from flask import current_app
from sqlalchemy.orm import Session

from retention.hooks.pruning import prune_payloads
from retention.staff.service import purge_throttles
from retention.staff.sessions import purge_old_sessions


def prune(session: Session, now: dt.datetime, *, limit: int | None = None) -> dict:
    """Prune what has outlived its use, at most `limit` rows per table; commits; returns counts per table."""
    cfg = current_app.config
    limit = limit or cfg["PRUNE_BATCH"]
    counts = {
        "event_payloads": prune_payloads(session, now, cfg["EVENT_PAYLOAD_DAYS"], limit),
        "staff_sessions": purge_old_sessions(session, now=now, limit=limit),
        "login_throttles": purge_throttles(session, now=now, window_seconds=cfg["LOGIN_WINDOW_SECONDS"], limit=limit),
    }
    session.commit()
    return counts
