"""Job: apply pending inbound events in batches."""
from __future__ import annotations

from jobs import app_context
from retention import clock


def process_events(now=None) -> int:
    """Apply every due event; returns how many were claimed."""
    from retention import tick

    with app_context():
        return tick.process_events(now or clock.now())
