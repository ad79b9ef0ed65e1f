"""Applying stored events: customers and sales recorded, out-of-order events, failures and replays."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from retention.customers.models import Customer, Sale
from retention.extensions import db
from retention.hooks import processing, service
from retention.hooks.models import InboundEvent
from tests.factories import customer, event, in_other_apps, sale_completed, staff

T0 = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.timezone.utc)


def count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def test_sale_event_records_customer_and_sale_once_processed(client, signer, queue):
    assert signer.post(client, sale_completed(amount="1290.50", currency="EUR")).status_code == 202
    assert count(Sale) == 0  # stored, not yet applied: 202 does not wait for processing
    queue.drain()
    sale = db.session.scalar(select(Sale))
    assert sale.amount == __import__("decimal").Decimal("1290.50") and sale.currency == "EUR"
    assert sale.customer.name == "Layla Haddad" and sale.customer.timezone == "Asia/Dubai"
    assert sale.sold_at == T0
    assert db.session.scalar(select(InboundEvent)).status == "processed"


def test_job_run_twice_has_no_second_effect(client, signer, queue):
    signer.post(client, sale_completed())
    # the same sale sent again under a new webhook id (a sender's retry with a new id)
    signer.post(client, sale_completed())
    from jobs.events import process_events

    process_events()
    process_events()
    queue.drain()
    assert count(Sale) == 1 and count(Customer) == 1
    statuses = db.session.scalars(select(InboundEvent.status)).all()
    assert statuses == ["processed", "processed"]


def test_older_customer_details_arriving_late_do_not_overwrite_newer(client, signer, queue):
    newer = sale_completed(cust=customer(name="Layla Haddad-Nasser"), occurred_at=T0)
    older = event("customer.upserted", {"customer": customer(name="Layla Haddad")},
                  occurred_at=T0 - dt.timedelta(days=3))
    signer.post(client, newer)
    queue.drain()
    signer.post(client, older)
    queue.drain()
    assert db.session.scalar(select(Customer)).name == "Layla Haddad-Nasser"
    # and a newer update does apply
    signer.post(client, event("customer.upserted", {"customer": customer(name="Layla N.")},
                              occurred_at=T0 + dt.timedelta(days=1)))
    queue.drain()
    db.session.expire_all()
    assert db.session.scalar(select(Customer)).name == "Layla N."


def test_event_for_a_customer_that_arrives_before_the_customer_waits_then_applies(client, signer, queue):
    signer.post(client, event("nps.response", {"customer_id": "C9", "score": 10}, occurred_at=T0))
    signer.post(client, event("sale.delivered", {"sale_id": "S9", "delivered_at": T0.isoformat()}))
    queue.drain()
    waiting = db.session.scalars(select(InboundEvent).order_by(InboundEvent.id)).all()
    assert [e.status for e in waiting] == ["waiting", "waiting"]
    assert "C9" in waiting[0].last_error
    signer.post(client, sale_completed("S9", cust=customer("C9"), occurred_at=T0 - dt.timedelta(days=1)))
    queue.drain()
    db.session.expire_all()
    statuses = db.session.scalars(select(InboundEvent.status).order_by(InboundEvent.id)).all()
    assert statuses == ["processed", "processed", "processed"]
    delivered = db.session.scalar(select(InboundEvent).where(InboundEvent.type == "sale.delivered"))
    assert delivered.customer_ref == "C9"  # so it shows on the customer's timeline


def test_failed_event_keeps_its_error_and_is_retried_with_backoff(client, signer, queue, monkeypatch):
    signer.post(client, sale_completed("S1"))
    signer.post(client, sale_completed("S2", cust=customer("C2")))

    def broken(lookups, ev, now):
        if ev.data["sale_id"] == "S2":
            raise RuntimeError("CRM sent something we cannot apply")
        return original(lookups, ev, now)

    original = processing.HANDLERS["sale.completed"][0]
    monkeypatch.setitem(processing.HANDLERS, "sale.completed", [broken])
    service.process_due(db.session, T0, 500)
    failed = db.session.scalar(select(InboundEvent).where(InboundEvent.status == "failed"))
    assert failed.data["sale_id"] == "S2" and "CRM sent something" in failed.last_error
    assert failed.next_attempt_at == T0 + dt.timedelta(seconds=30)
    assert failed.attempts == 1  # one claim, one attempt: the failure is not counted again
    assert count(Sale) == 1  # the good event in the same batch still applied
    # not retried before its time, retried after
    assert service.process_due(db.session, T0 + dt.timedelta(seconds=10), 500) == 0
    monkeypatch.setitem(processing.HANDLERS, "sale.completed", [original])
    assert service.process_due(db.session, T0 + dt.timedelta(seconds=31), 500) == 1
    assert count(Sale) == 2
    assert sorted(db.session.scalars(select(InboundEvent.attempts))) == [1, 2]


def test_admin_sees_failed_event_and_replays_it(app, client, signer, queue, auth, monkeypatch):
    staff(app, "admin@example.com", "admin")
    signer.post(client, sale_completed())
    monkeypatch.setitem(processing.HANDLERS, "sale.completed", [lambda *a: 1 / 0])
    service.process_due(db.session, T0, 500, max_attempts=1)
    auth.login("admin@example.com")
    page = client.get("/admin/events/?status=failed").get_data(as_text=True)
    assert "ZeroDivisionError" in page
    event_id = db.session.scalar(select(InboundEvent.id))
    monkeypatch.undo()
    csrf = auth.csrf("/admin/events/?status=failed")
    response = client.post(f"/admin/events/{event_id}/replay", data={"csrf_token": csrf})
    assert response.status_code == 302
    queue.drain()
    db.session.expire_all()
    assert db.session.get(InboundEvent, event_id).status == "processed"
    assert count(Sale) == 1


def test_worker_killed_half_way_loses_nothing(client, signer, queue):
    signer.post(client, sale_completed())
    # a worker claimed the event and died before applying it
    token, ids = service.claim(db.session, T0, 10)
    assert len(ids) == 1
    assert service.process_due(db.session, T0, 500) == 0  # leased: nobody else takes it meanwhile
    later = T0 + service.LEASE + dt.timedelta(seconds=1)
    assert service.process_due(db.session, later, 500) == 1
    assert count(Sale) == 1


def test_two_workers_at_once_apply_each_event_once(app, client, signer):
    for n in range(60):
        signer.post(client, sale_completed(f"S{n}", cust=customer(f"C{n}")))
    claimed = in_other_apps(2, lambda other: service.process_due(db.session, T0, 7))
    assert sum(claimed) == 60
    assert count(Sale) == 60


# --- The event contract in the repository, and sample events for a newcomer (issue 7: D21) ---


def test_docs_events_md_is_written_from_the_schemas_and_up_to_date():
    from retention.hooks.contract import DOC_PATH, render_markdown
    from retention.hooks.schemas import EVENT_TYPES

    written = DOC_PATH.read_text(encoding="utf-8")
    assert written == render_markdown(), "docs/events.md is stale: run python -m retention.hooks.contract"
    for event_type in EVENT_TYPES:
        assert f"### `{event_type}`" in written
    assert "from 2000-01-01 up to 2100-01-01" in written  # the accepted range of dates is part of the contract


def test_every_sample_event_is_valid_by_the_contract():
    from retention.hooks.contract import sample_events
    from retention.hooks.schemas import EVENT_TYPES, load_event

    samples = sample_events(T0)
    assert [s["type"] for s in samples] == list(EVENT_TYPES)
    for sample in samples:
        load_event(sample)


def _serve(app):
    """The app behind a real HTTP server on a free port, in a thread; returns (url, server)."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}/hooks/events", server


def test_send_sample_signs_and_posts_one_event_of_each_type_over_http(app, queue):
    from retention.hooks.schemas import EVENT_TYPES

    url, server = _serve(app)
    try:
        result = app.test_cli_runner().invoke(args=["events", "send-sample", "--url", url])
    finally:
        server.shutdown()
    assert result.exit_code == 0, result.output
    assert result.output.count(" 202 ") == len(EVENT_TYPES)
    queue.drain()
    db.session.expire_all()
    rows = db.session.scalars(select(InboundEvent).order_by(InboundEvent.id)).all()
    assert [r.type for r in rows] == list(EVENT_TYPES)
    assert {(r.status, r.last_error) for r in rows} == {("processed", None)}
    assert db.session.scalar(select(Sale)).external_id == "SAMPLE-S1"


def test_send_sample_of_one_type_in_process(app, queue):
    result = app.test_cli_runner().invoke(args=["events", "send-sample", "--type", "customer.upserted",
                                                "--in-process"])
    assert result.exit_code == 0, result.output
    assert "customer.upserted" in result.output and " 202 " in result.output
    assert count(InboundEvent) == 1
    queue.drain()
    assert db.session.scalar(select(Customer)).external_id == "SAMPLE-C1"


def test_send_sample_explains_what_is_wrong(app):
    runner = app.test_cli_runner()
    unknown = runner.invoke(args=["events", "send-sample", "--type", "sale.exploded", "--in-process"])
    assert unknown.exit_code != 0 and "--type" in unknown.output
    nobody = runner.invoke(args=["events", "send-sample", "--url", "http://127.0.0.1:9/hooks/events"])
    assert nobody.exit_code != 0 and "--url" in nobody.output and "make run" in nobody.output
    app.config["WEBHOOK_SECRETS"] = []
    unsigned = runner.invoke(args=["events", "send-sample", "--in-process"])
    assert unsigned.exit_code != 0 and "RETENTION_WEBHOOK_SECRETS" in unsigned.output
    assert count(InboundEvent) == 0
