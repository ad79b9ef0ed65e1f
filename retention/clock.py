"""The app's "now": the real UTC clock, unless a test has set the app's clock (tests/conftest.py `clock`).

Views, API handlers, admin pages, commands and jobs take "now" from here and pass it to the services
(which take `now` as a parameter), so a page test can move time as a service test does.
"""
from __future__ import annotations

import datetime as dt

from flask import current_app, has_app_context

from retention.types import utcnow

EXTENSION = "retention_clock"


class SetClock:
    """A clock a test sets and moves; installed on one app by `install`."""

    def __init__(self, at: dt.datetime):
        self.at = _aware(at)

    def now(self) -> dt.datetime:
        return self.at

    def set(self, at: dt.datetime) -> dt.datetime:
        self.at = _aware(at)
        return self.at

    def advance(self, delta: dt.timedelta | None = None, **parts) -> dt.datetime:
        """Move forward by `delta` or by timedelta keywords (`days=1`, `hours=2`)."""
        self.at = self.at + (delta if delta is not None else dt.timedelta(**parts))
        return self.at


def _aware(at: dt.datetime) -> dt.datetime:
    if not isinstance(at, dt.datetime) or at.tzinfo is None:
        raise ValueError("the clock takes a timezone-aware datetime")
    return at.astimezone(dt.timezone.utc)


def install(app, at: dt.datetime) -> SetClock:
    """Set `app`'s clock to `at` (tests only); returns it for `set` / `advance`."""
    clock = SetClock(at)
    app.extensions[EXTENSION] = clock
    return clock


def now() -> dt.datetime:
    """Aware UTC now: the app's set clock if a test installed one, else the real clock."""
    if has_app_context():
        clock = current_app.extensions.get(EXTENSION)
        if clock is not None:
            return clock.now()
    return utcnow()
