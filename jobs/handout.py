"""Job: write the work rows of handed-out touchpoints the tick left (more were handed out than a tick writes)."""
from __future__ import annotations

from jobs import app_context
from retention import clock


def write_work(now=None) -> dict:
    """Write waiting surveys, letters, offers and emails; returns counts."""
    from retention import tick

    with app_context():
        return tick.write_work(now or clock.now())
