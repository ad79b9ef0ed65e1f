"""Builders of test data: signed events, staff users and tokens."""
from __future__ import annotations

import base64
import datetime as dt
import itertools
import json
import time

from retention.extensions import db
from retention.hooks.signatures import sign
from retention.staff.service import create_user, issue_token

SECRET = "whsec_" + base64.b64encode(b"test-secret-of-32-bytes-exactly!").decode()
OTHER_SECRET = "whsec_" + base64.b64encode(b"another-secret-32-bytes-exactly!").decode()
PASSWORD = "correct-horse-battery"
_ids = itertools.count(1)


class Signer:
    """Signs event bodies the way the shop, CRM and helpdesk do (Standard Webhooks)."""

    def __init__(self, secret: str):
        self.secret = secret

    def headers(self, body: bytes, msg_id: str | None = None, timestamp: int | None = None,
                secret: str | None = None) -> dict:
        msg_id = msg_id or f"msg_{next(_ids)}_{time.time_ns()}"
        timestamp = int(time.time()) if timestamp is None else timestamp
        return {"webhook-id": msg_id, "webhook-timestamp": str(timestamp),
                "webhook-signature": sign(secret or self.secret, msg_id, timestamp, body),
                "content-type": "application/json"}

    def post(self, client, event: dict, **kwargs):
        body = json.dumps(event).encode()
        return client.post("/hooks/events", data=body, headers=self.headers(body, **kwargs))


def iso(t: dt.datetime) -> str:
    return t.isoformat()


def customer(cid="C1", name="Layla Haddad", **overrides) -> dict:
    data = {"id": cid, "name": name, "email": f"{cid.lower()}@example.net", "phone": "+971501234567",
            "locale": "ar", "timezone": "Asia/Dubai",
            "address": {"lines": ["Sheikh Zayed Road 12"], "city": "Dubai", "region": "", "postal_code": "",
                        "country": "AE"}}
    data.update(overrides)
    return data


def sale_completed(sale_id="S1", cust=None, amount="649.00", currency="USD", occurred_at=None, **extra) -> dict:
    occurred_at = occurred_at or dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.timezone.utc)
    data = {"sale_id": sale_id, "customer": cust or customer(), "amount": amount, "currency": currency,
            "product": "Espresso machine Pro", "category": "kitchen"}
    data.update(extra)
    return {"type": "sale.completed", "occurred_at": iso(occurred_at), "data": data}


def event(event_type: str, data: dict, occurred_at=None) -> dict:
    occurred_at = occurred_at or dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.timezone.utc)
    return {"type": event_type, "occurred_at": iso(occurred_at), "data": data}


def staff(app, email="staff@example.com", role="onboarding", **details):
    user = create_user(db.session, app.extensions["password_hasher"], email=email, role=role, password=PASSWORD,
                       actor="test", now=dt.datetime.now(dt.timezone.utc), **details)
    db.session.commit()
    return user


def token_for(app, user) -> str:
    token = issue_token(db.session, user, actor="test", now=dt.datetime.now(dt.timezone.utc))
    db.session.commit()
    return token


def in_other_apps(count: int, work) -> list:
    """Run `work()` at the same moment in `count` threads, each with an app (and connections) of its own.

    This is how two web processes or two workers meet the same database.
    """
    import threading

    from tests.conftest import make_app

    barrier = threading.Barrier(count, timeout=20)
    results = []
    # The apps are built here, one after the other: building them in threads at once trips CPython 3.11's
    # ast module, which werkzeug's URL rules compile through (not thread-safe there: "AST constructor recursion
    # depth mismatch"). Only the work runs at the same moment.
    apps = [make_app() for _ in range(count)]

    def run(other):
        with other.app_context():
            try:
                barrier.wait()
                results.append(work(other))
            finally:
                db.session.remove()
                db.engine.dispose()

    threads = [threading.Thread(target=run, args=(other,)) for other in apps]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def tick_and_work(now: dt.datetime) -> dict:
    """The tick at `now`, then the jobs waiting in the queue run as a worker would at that moment.

    Emails go out on the send job (queued after the commit that queued them, or by the tick when a retry is due),
    never inside the tick: the app's clock is set to `now` first, so the job sends at the tick's time.
    """
    from flask import current_app

    from retention import clock, tick

    set_clock = current_app.extensions.get(clock.EXTENSION)
    if set_clock is None:
        clock.install(current_app, now)
    else:
        set_clock.set(now)
    summary = tick.run(now)
    current_app.extensions["retention_queue"].drain()
    return summary
