"""Job: the periodic tick (every minute): apply events, sweep lost jobs, hand out due work."""
from __future__ import annotations

from jobs import app_context
from retention import clock


def run_tick(now=None) -> dict:
    """One tick at `now`; returns counts of what it did."""
    from retention import tick

    with app_context():
        return tick.run(now or clock.now())
