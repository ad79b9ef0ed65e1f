"""Redis down is not data loss: hooks still answer 202, and the sweep queues the backlog once it is back."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time

import pytest
from sqlalchemy import func, select

from retention.customers.models import Sale
from retention.extensions import db
from retention.hooks.models import InboundEvent
from retention.queue import RedisQueue
from retention.tick import run as run_tick
from retention.types import utcnow
from tests.conftest import make_app
from tests.factories import SECRET, Signer, customer, sale_completed

REDIS = shutil.which("redis-server")
if REDIS is None and os.environ.get("CI"):
    pytest.fail("redis-server is required in CI", pytrace=False)
pytestmark = pytest.mark.skipif(REDIS is None, reason="redis-server is not installed on this machine")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_redis(port: int) -> subprocess.Popen:
    proc = subprocess.Popen([REDIS, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("redis-server did not start")


def test_events_survive_redis_being_down_and_are_processed_when_it_is_back(app):
    port = free_port()  # nothing listens here yet: Redis is "down"
    down_app = make_app(REDIS_URL=f"redis://127.0.0.1:{port}/0")
    client = down_app.test_client()
    signer = Signer(SECRET)
    with down_app.app_context():
        started = time.perf_counter()
        responses = [signer.post(client, sale_completed(f"S{n}", cust=customer(f"C{n}"))) for n in range(3)]
        elapsed = time.perf_counter() - started
        assert [r.status_code for r in responses] == [202, 202, 202]
        assert elapsed < 5  # the hook does not hang on a dead Redis
        assert db.session.scalar(select(func.count()).select_from(InboundEvent)
                                 .where(InboundEvent.status == "pending")) == 3
        # the tick's sweep cannot queue either, and says so without failing
        queue = down_app.extensions["retention_queue"]
        assert isinstance(queue, RedisQueue) and not queue.ping()

        redis = start_redis(port)  # Redis is back
        try:
            from retention.hooks import service

            assert service.sweep(db.session, queue, utcnow()) is True
            assert queue.rq_queue.count == 1
            queue.drain()  # a worker picks the job up
            db.session.expire_all()
            assert db.session.scalar(select(func.count()).select_from(Sale)) == 3
            assert set(db.session.scalars(select(InboundEvent.status))) == {"processed"}
            assert service.sweep(db.session, queue, utcnow()) is False  # nothing left to queue
        finally:
            redis.terminate()
            redis.wait(5)
            db.session.remove()
            db.engine.dispose()


def test_redis_stopped_mid_run_then_restarted(app):
    port = free_port()
    redis = start_redis(port)
    run_app = make_app(REDIS_URL=f"redis://127.0.0.1:{port}/0")
    client = run_app.test_client()
    signer = Signer(SECRET)
    with run_app.app_context():
        try:
            assert signer.post(client, sale_completed("S1", cust=customer("C1"))).status_code == 202
            redis.terminate()
            redis.wait(5)
            assert signer.post(client, sale_completed("S2", cust=customer("C2"))).status_code == 202
            redis = start_redis(port)  # back, empty: the first job was lost with it
            summary = run_tick(utcnow())  # the minute tick applies the backlog itself
            assert summary["events"] == 2
            db.session.expire_all()
            assert db.session.scalar(select(func.count()).select_from(Sale)) == 2
        finally:
            redis.terminate()
            redis.wait(5)
            db.session.remove()
            db.engine.dispose()
