"""The job queue: RQ on Redis when REDIS_URL is set, otherwise a worker thread in this process.

Jobs are named by their import path ("jobs.events.process_events") so both kinds run the same
functions. The database is the record of what is due; a job only says "there is work", so a job
that is lost (Redis down, worker killed) is made good by the periodic sweep.
"""
from __future__ import annotations

import importlib
import logging
import queue as stdlib_queue
import threading
import time

log = logging.getLogger(__name__)


class QueueUnavailable(Exception):
    """The queue could not take the job right now (Redis unreachable)."""


def _resolve(path: str):
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


class EmbeddedQueue:
    """Runs jobs in this process: on a worker thread when started, or by drain() in the caller."""

    kind = "embedded"

    def __init__(self, app, start_thread: bool):
        self.app = app
        self._jobs: stdlib_queue.Queue = stdlib_queue.Queue()
        self._thread = None
        self._lock = threading.Lock()
        self._start_thread = start_thread

    def enqueue(self, path: str, *args, **kwargs) -> None:
        """Queue a job; the worker thread (or the next drain) runs it."""
        self._jobs.put((path, args, kwargs))
        if self._start_thread:
            self._ensure_thread()

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="retention-worker", daemon=True)
                self._thread.start()

    def _run(self, path, args, kwargs) -> None:
        try:
            with self.app.app_context():
                _resolve(path)(*args, **kwargs)
        except Exception:  # a failing job must not kill the worker; its rows keep the error
            log.exception("job %s failed", path)

    def _loop(self) -> None:
        while True:
            path, args, kwargs = self._jobs.get()
            self._run(path, args, kwargs)
            self._jobs.task_done()

    def drain(self) -> int:
        """Run every queued job (and those they queue) in the calling thread; return how many."""
        count = 0
        while True:
            try:
                path, args, kwargs = self._jobs.get_nowait()
            except stdlib_queue.Empty:
                return count
            self._run(path, args, kwargs)
            count += 1

    def ping(self) -> bool:
        return True

    def claim_nudge(self, key: str, seconds: int) -> bool:
        """Embedded: coalescing is not worth it in one process; always queue."""
        return True

    def release_nudge(self, key: str) -> None:
        return None

    def nudge_soon(self, key: str, path: str, seconds: int) -> None:
        """Embedded: queue the job now (a put on an in-process queue costs nothing)."""
        self.enqueue(path)


NUDGE_GATHER = 0.02  # seconds between two nudges of one process


class RedisQueue:
    """RQ on Redis; workers anywhere run the jobs (`make worker`)."""

    kind = "redis"

    def __init__(self, redis_url: str, name: str):
        from redis import Redis
        from rq import Queue

        # Short timeouts: with Redis down a webhook must still answer quickly (the row is committed).
        self.connection = Redis.from_url(redis_url, socket_connect_timeout=0.5, socket_timeout=2)
        self.rq_queue = Queue(name, connection=self.connection)
        self._pending: dict[str, tuple[str, int]] = {}
        self._pending_lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._wake = threading.Event()
        self._nudger: threading.Thread | None = None

    def enqueue(self, path: str, *args, **kwargs) -> None:
        """Queue a job on Redis; QueueUnavailable when Redis cannot be reached."""
        from redis.exceptions import RedisError
        from rq import Retry

        try:
            self.rq_queue.enqueue(path, args=args, kwargs=kwargs or None, retry=Retry(max=3, interval=[5, 30, 120]),
                                  result_ttl=60, failure_ttl=7 * 24 * 3600)
        except (RedisError, OSError) as exc:
            raise QueueUnavailable(str(exc)) from exc

    def claim_nudge(self, key: str, seconds: int) -> bool:
        """True if no job for `key` is waiting already (so this caller should queue one)."""
        from redis.exceptions import RedisError

        try:
            return bool(self.connection.set(f"retention:nudge:{key}", 1, nx=True, ex=seconds))
        except (RedisError, OSError) as exc:
            raise QueueUnavailable(str(exc)) from exc

    def release_nudge(self, key: str) -> None:
        """Called by the job as it starts, so work stored after this point queues a new job."""
        from redis.exceptions import RedisError

        try:
            self.connection.delete(f"retention:nudge:{key}")
        except (RedisError, OSError):
            log.warning("could not release nudge %s", key)

    def nudge_soon(self, key: str, path: str, seconds: int) -> None:
        """Ask for a job at `path` unless one is waiting, from this process's nudger thread; returns at once.

        Called after the caller's commit. Requests arriving together share one Redis round trip (the signed hook
        under load: one SET NX for many events instead of one each). Safe: the thread takes the pending keys only
        after clearing its wake-up flag, so a key added after it looked wakes it again; a process that dies with a
        key pending leaves its events to the tick's sweep, as a Redis outage does.
        """
        with self._pending_lock:
            self._pending[key] = (path, seconds)
            if self._nudger is None or not self._nudger.is_alive():
                self._nudger = threading.Thread(target=self._nudge_loop, name="retention-nudger", daemon=True)
                self._nudger.start()
        self._wake.set()

    def _nudge_loop(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            self.flush_nudges()
            # At most one round trip per NUDGE_GATHER: under load every request used to cost one SET NX (about a
            # fifth of the hook's CPU, bench/ingest.py); now those arriving within it share one. A quiet hook's
            # first event is still nudged at once.
            time.sleep(NUDGE_GATHER)

    def flush_nudges(self) -> None:
        """Send the pending nudges now (the nudger thread; drain() first, so tests see their jobs)."""
        with self._flush_lock:
            with self._pending_lock:
                pending, self._pending = self._pending, {}
            for key, (path, seconds) in pending.items():
                try:
                    if self.claim_nudge(key, seconds):
                        self.enqueue(path)
                except QueueUnavailable as exc:
                    log.warning("queue unavailable, %s waits for the sweep: %s", key, exc)

    def drain(self) -> int:
        """Run queued jobs in this process until the queue is empty (tests and the CLI)."""
        from rq import SimpleWorker

        self.flush_nudges()
        before = self.rq_queue.count
        SimpleWorker([self.rq_queue], connection=self.connection).work(burst=True, logging_level="WARNING")
        return before

    def ping(self) -> bool:
        try:
            return bool(self.connection.ping())
        except Exception:
            return False


def init_queue(app):
    """Create the app's queue from its config."""
    if app.config.get("REDIS_URL"):
        q = RedisQueue(app.config["REDIS_URL"], app.config["QUEUE_NAME"])
    else:
        q = EmbeddedQueue(app, start_thread=app.config["EMBEDDED_WORKER_THREAD"])
    app.extensions["retention_queue"] = q
    return q


def get_queue():
    """The queue of the current app."""
    from flask import current_app

    return current_app.extensions["retention_queue"]


def nudge_once(queue, key: str, path: str, seconds: int, until: str) -> bool:
    """Queue one job at `path` unless one for `key` is waiting already; never fails the caller. Returns whether a
    job was queued. With Redis down the work stays in the database, and `until` says what queues it later (the
    tick, the sweep)."""
    try:
        if queue.claim_nudge(key, seconds):
            queue.enqueue(path)
            return True
    except QueueUnavailable as exc:
        log.warning("queue unavailable, %s waits for %s: %s", key, until, exc)
    return False
