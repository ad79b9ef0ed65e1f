"""The simulated "now": one instant the driver advances, read by every process of the run.

The app reads "now" from `retention.clock` (a clock object installed in `app.extensions`), so the simulation
installs a `SetClock` subclass there; nothing in the production code knows about it. In the driver's own
process (the HTTP server, the tick runners, the staff and customer actors) the apps share one `SharedClock`;
the RQ worker subprocesses read the instant from a Redis key the driver writes (`RedisClock`).
"""
from __future__ import annotations

import datetime as dt
import threading

from retention import clock as app_clock

KEY = "retention:sim:now"
UTC = dt.timezone.utc


class SharedClock(app_clock.SetClock):
    """One simulated instant for every app of this process; `set` also writes it to Redis for the workers."""

    def __init__(self, at: dt.datetime, redis=None, key: str = KEY):
        self._lock = threading.Lock()
        self.redis, self.key = redis, key
        super().__init__(at)
        self._publish()

    def now(self) -> dt.datetime:
        return self.at

    def set(self, at: dt.datetime) -> dt.datetime:
        with self._lock:
            super().set(at)
            self._publish()
            return self.at

    def advance(self, delta: dt.timedelta | None = None, **parts) -> dt.datetime:
        return self.set(self.at + (delta if delta is not None else dt.timedelta(**parts)))

    def _publish(self) -> None:
        if self.redis is not None:
            self.redis.set(self.key, f"{self.at.timestamp():.6f}")

    def install(self, app) -> "SharedClock":
        app.extensions[app_clock.EXTENSION] = self
        return self


class RedisClock(app_clock.SetClock):
    """A worker's clock: every `now()` reads the instant the driver wrote to Redis."""

    def __init__(self, redis, key: str = KEY):
        self.redis, self.key = redis, key
        super().__init__(self._read())

    def _read(self) -> dt.datetime:
        raw = self.redis.get(self.key)
        if raw is None:
            raise RuntimeError(f"the simulation's clock is not set (Redis key {self.key})")
        return dt.datetime.fromtimestamp(float(raw), UTC)

    def now(self) -> dt.datetime:
        self.at = self._read()
        return self.at

    def install(self, app) -> "RedisClock":
        app.extensions[app_clock.EXTENSION] = self
        return self
