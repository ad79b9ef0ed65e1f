"""Job: send the surveys the tick left waiting (more were handed out than a tick sends)."""
from __future__ import annotations

from jobs import app_context
from retention import clock


def send_surveys(now=None) -> dict:
    """Send waiting surveys; returns counts by outcome."""
    from retention import tick

    with app_context():
        return tick.send_surveys(now or clock.now())
