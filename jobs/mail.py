"""Job: send the queued emails that are due (queued after a commit; the tick runs the same)."""
from __future__ import annotations

from jobs import app_context
from retention import clock


def send_emails(now=None) -> dict:
    """Send due emails; returns counts by outcome."""
    from retention import tick

    with app_context():
        return tick.send_emails(now or clock.now())
