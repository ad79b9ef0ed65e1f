"""What the fault tests share: the real PostgreSQL / Redis they need, and a dropped database connection."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.pool import NullPool


def require_postgresql() -> str:
    """The PostgreSQL URL of the run; skips without one (fails in CI, where it must be there)."""
    url = os.environ.get("DATABASE_URL") or ""
    if not url.startswith("postgresql"):
        if os.environ.get("CI"):
            pytest.fail("DATABASE_URL must point at PostgreSQL in CI", pytrace=False)
        pytest.skip("needs PostgreSQL (DATABASE_URL)")
    return url


def require_redis() -> str:
    """The Redis URL of the run; skips without one (fails in CI)."""
    url = os.environ.get("REDIS_URL") or ""
    if not url:
        if os.environ.get("CI"):
            pytest.fail("REDIS_URL is required in CI", pytrace=False)
        pytest.skip("needs Redis (REDIS_URL)")
    return url


def require_redis_server() -> str:
    """The redis-server binary (for tests that stop and start a Redis of their own)."""
    path = shutil.which("redis-server")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is required in CI", pytrace=False)
        pytest.skip("redis-server is not installed on this machine")
    return path


def wait_for_port(port: int, timeout: float = 10) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


def start_redis(port: int) -> subprocess.Popen:
    """A redis-server of the test's own on `port` (no persistence: a restart loses every queued job)."""
    proc = subprocess.Popen([require_redis_server(), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
    except RuntimeError:
        proc.kill()
        raise
    return proc


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _plain_url(engine) -> str:
    return engine.url.render_as_string(hide_password=False)


class ConnectionKiller:
    """Terminates the app's PostgreSQL backends from a second connection when the app's N-th statement
    (counted from `arm`, optionally only statements matching `matching`) is about to run.

    The statement then meets a connection the server closed: the real fault, not a stand-in.
    """

    def __init__(self, engine):
        self.engine = engine
        self.killer = create_engine(_plain_url(engine), poolclass=NullPool, isolation_level="AUTOCOMMIT")
        self.after: int | None = None
        self.matching: str | None = None
        self.seen = 0
        self.fired: list[str] = []   # the statements that met a dropped connection
        event.listen(engine, "before_cursor_execute", self._before)

    def arm(self, after: int, matching: str | None = None) -> None:
        self.after, self.matching, self.seen = after, matching, 0

    def disarm(self) -> None:
        self.after = None

    def count(self, matching: str | None = None) -> "ConnectionKiller":
        """Count statements without killing (to learn how many a piece of work runs)."""
        self.after, self.matching, self.seen = 10 ** 9, matching, 0
        return self

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        if self.after is None or (self.matching and self.matching not in statement):
            return
        self.seen += 1
        if self.seen != self.after:
            return
        self.after = None
        self.fired.append(statement.split("\n")[0][:120])
        self.terminate_all()

    def terminate_all(self) -> int:
        """Every backend of the app's database but the killer's own; waits until they are gone."""
        with self.killer.connect() as conn:
            pids = conn.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                                     "AND pid <> pg_backend_pid() AND backend_type = 'client backend'")).scalars().all()
            for pid in pids:
                conn.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})
        return len(pids)

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._before)
        self.killer.dispose()


@contextmanager
def connection_killer(engine):
    killer = ConnectionKiller(engine)
    try:
        yield killer
    finally:
        killer.close()
