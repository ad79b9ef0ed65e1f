"""Redis down is not data loss: hooks still answer 202, and the sweep queues the backlog once it is back; with a
real `rq worker` running, Redis stopped in the middle of ingestion and started again (empty: the queued jobs are
lost with it) still ends with every accepted event applied once."""
from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from retention.customers.models import Sale
from retention.extensions import db
from retention.hooks import service as hooks
from retention.hooks.models import InboundEvent
from retention.journeys.models import Enrollment
from retention.queue import RedisQueue
from retention.tick import run as run_tick
from retention.types import utcnow
from tests.conftest import free_port, make_app
from tests.factories import SECRET, Signer, customer, sale_completed
from tests.faults.faultkit import require_postgresql, require_redis_server, start_redis, stop
from tests.journeys.conftest import world  # noqa: F401  (the default journey, its templates, owners)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _redis_server():
    require_redis_server()


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
        queue.flush_nudges()  # the hook's nudges were tried in the outage (its nudger thread may still be waiting)

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


def _rq_worker(redis_url: str, instance: str) -> subprocess.Popen:
    env = dict(os.environ, REDIS_URL=redis_url, RETENTION_ENV="testing", RETENTION_WEBHOOK_SECRETS=SECRET,
               SECRET_KEY=secrets.token_hex(16), RETENTION_INSTANCE_PATH=instance, PYTHONPATH=str(ROOT))
    return subprocess.Popen([str(Path(sys.executable).parent / "rq"), "worker", "--url", redis_url, "--path", str(ROOT),
                             "--logging_level", "ERROR", "retention"], cwd=ROOT, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _end(worker: subprocess.Popen) -> None:
    if worker.poll() is None:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(5)


def test_redis_stopped_during_ingestion_with_a_real_worker_loses_no_accepted_event(app, world):
    require_postgresql()
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    redis = start_redis(port)
    run_app = make_app(REDIS_URL=url)
    client, signer = run_app.test_client(), Signer(SECRET)
    workers = [_rq_worker(url, run_app.config["INSTANCE_PATH"])]
    accepted = []
    try:
        with run_app.app_context():
            for n in range(300):
                if n == 100:
                    stop(redis)  # Redis goes away mid-stream: the hook still stores and answers
                if n == 200:
                    redis = start_redis(port)  # back, empty: every job queued before is gone
                    if workers[-1].poll() is not None:  # a worker that died with it is started again (supervisor)
                        workers.append(_rq_worker(url, run_app.config["INSTANCE_PATH"]))
                started = time.perf_counter()
                response = signer.post(client, sale_completed(f"S{n:03d}", cust=customer(f"C{n:03d}")))
                assert response.status_code == 202 and time.perf_counter() - started < 5
                accepted.append(response.get_json()["id"])
            if workers[-1].poll() is not None:
                workers.append(_rq_worker(url, run_app.config["INSTANCE_PATH"]))
            # the tick's sweep queues whatever is still due; the worker applies it
            queue = run_app.extensions["retention_queue"]
            deadline = time.time() + 180
            while time.time() < deadline:
                db.session.expire_all()
                counts = hooks.counts_by_status(db.session)
                db.session.commit()
                if counts == {"processed": 300}:
                    break
                hooks.sweep(db.session, queue, utcnow())
                time.sleep(1)
            assert counts == {"processed": 300}
    finally:
        for worker in workers:
            _end(worker)
        stop(redis)
        with run_app.app_context():
            db.session.remove()
            db.engine.dispose()
    db.session.expire_all()
    assert len(set(accepted)) == 300
    assert db.session.scalar(select(func.count()).select_from(InboundEvent)) == 300
    assert db.session.scalar(select(func.count()).select_from(Sale)) == 300
    per_sale = Counter(db.session.scalars(select(Enrollment.sale_id)))
    assert len(per_sale) == 300 and set(per_sale.values()) == {1}
