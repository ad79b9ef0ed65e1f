"""The periodic tick in the embedded default: a timer thread of the web process.

With Redis, `rq cron jobs/cron.py` (or several of them) queues the same job instead; the tick is
safe to run on several machines at once because every claim is a state change in the database.
"""
from __future__ import annotations

import logging
import threading

log = logging.getLogger(__name__)


def init_ticker(app) -> None:
    """Remember how to start the timer; `start_ticker` is called by `flask serve`, not on import."""
    app.extensions["retention_ticker"] = None


def start_ticker(app) -> threading.Thread:
    """Start a daemon thread that runs the tick every TICK_SECONDS."""
    stop = threading.Event()

    def loop():
        from retention import clock, tick

        while not stop.wait(app.config["TICK_SECONDS"]):
            try:
                with app.app_context():
                    tick.run(clock.now())
            except Exception:
                log.exception("tick failed")

    thread = threading.Thread(target=loop, name="retention-tick", daemon=True)
    thread.stop = stop
    thread.start()
    app.extensions["retention_ticker"] = thread
    return thread
