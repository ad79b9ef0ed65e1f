"""Job: apply pending inbound events in batches."""
from __future__ import annotations

from jobs import app_context
from retention.types import utcnow


def process_events(now=None) -> int:
    """Apply every due event; returns how many were claimed."""
    from retention.extensions import db
    from retention.hooks import service
    from retention.queue import get_queue

    with app_context() as app:
        get_queue().release_nudge(service.NUDGE_KEY)
        return service.process_due(db.session, now or utcnow(), app.config["EVENT_BATCH_SIZE"],
                                   app.config["EVENT_MAX_ATTEMPTS"])
