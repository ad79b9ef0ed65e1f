"""The admin's events page (issue 9, item 10): opens on the tab with something in it; each event links to its
customer and to a page with its payload, status, attempts, error and times, in the admin's language."""
from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select

from retention.extensions import db
from retention.hooks import processing, service
from retention.hooks.models import InboundEvent
from tests.factories import customer, event, sale_completed, staff

T0 = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.timezone.utc)


def _event_id(type_="sale.completed") -> int:
    return db.session.scalar(select(InboundEvent.id).where(InboundEvent.type == type_).order_by(InboundEvent.id))


def test_opens_on_processed_when_nothing_failed_or_waits(app, client, signer, auth, queue):
    staff(app, "admin@example.com", "admin")
    signer.post(client, sale_completed())
    queue.drain()
    auth.login("admin@example.com")
    page = client.get("/admin/events/").get_data(as_text=True)
    assert re.search(r'status=processed" aria-current="page"', page)
    assert f'href="/admin/events/{_event_id()}"' in page
    assert 'href="/customers/C1"' in page  # the customer it is about
    assert "No events here" not in page


def test_opens_on_failed_when_something_failed(app, client, signer, auth, monkeypatch):
    staff(app, "admin@example.com", "admin")
    signer.post(client, sale_completed())
    signer.post(client, event("sale.delivered", {"sale_id": "S9", "delivered_at": T0.isoformat()}))  # waits for S9
    monkeypatch.setitem(processing.HANDLERS, "sale.completed", [lambda *a: 1 / 0])
    service.process_due(db.session, T0, 500, max_attempts=1)
    auth.login("admin@example.com")
    page = client.get("/admin/events/").get_data(as_text=True)
    assert re.search(r'status=failed" aria-current="page"', page)
    assert "ZeroDivisionError" in page
    waiting = client.get("/admin/events/?status=waiting").get_data(as_text=True)
    assert "S9" in waiting and "(not known yet)" in waiting  # no customer to link to yet


def test_event_detail_shows_the_payload_escaped_left_to_right(app, client, signer, auth, queue):
    staff(app, "admin@example.com", "admin")
    signer.post(client, sale_completed(cust=customer(name="<script>alert(1)</script> مریم")))
    queue.drain()
    auth.login("admin@example.com")
    event_id = _event_id()
    page = client.get(f"/admin/events/{event_id}").get_data(as_text=True)
    payload = re.search(r'<pre class="payload" dir="ltr" id="event-payload">(.*?)</pre>', page, re.S).group(1)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; مریم" in payload and "<script>alert" not in page
    assert '"sale_id": "S1"' in payload.replace("&#34;", '"')  # pretty JSON, one key a line
    assert 'id="event-customer"' in page and 'href="/customers/C1"' in page
    assert "Processed" in page and "Attempts" in page
    assert client.get("/admin/events/999999").status_code == 404


def test_event_pages_in_persian(app, client, signer, auth, monkeypatch, clock):
    clock.set(T0)
    staff(app, "admin@example.com", "admin", locale="fa", timezone="Asia/Tehran")
    signer.post(client, sale_completed(occurred_at=T0))
    monkeypatch.setitem(processing.HANDLERS, "sale.completed", [lambda *a: 1 / 0])
    service.process_due(db.session, T0, 500, max_attempts=1)
    auth.login("admin@example.com")
    index = client.get("/admin/events/").get_data(as_text=True)
    assert "ناموفق" in index and "رویدادها" in index
    for english in ("Failed", "Waiting", "Processed", "Attempts", ">Error<", "Apply again", "No events"):
        assert english not in index, english
    page = client.get(f"/admin/events/{_event_id()}").get_data(as_text=True)
    assert "آنچه فرستاده شد" in page and "What was sent" not in page
    assert "۱۱ اسفند ۱۴۰۴" in page  # 2 March 2026 in the Solar Hijri calendar, Persian digits
    assert "وقت ایران" in page  # whose clock


def test_replay_from_the_detail_page_comes_back_to_it(app, client, signer, auth, monkeypatch, queue):
    staff(app, "admin@example.com", "admin")
    signer.post(client, sale_completed())
    monkeypatch.setitem(processing.HANDLERS, "sale.completed", [lambda *a: 1 / 0])
    service.process_due(db.session, T0, 500, max_attempts=1)
    monkeypatch.undo()
    auth.login("admin@example.com")
    event_id = _event_id()
    csrf = auth.csrf(f"/admin/events/{event_id}")
    response = client.post(f"/admin/events/{event_id}/replay", data={"csrf_token": csrf, "back": "event"})
    assert response.status_code == 302 and response.headers["Location"] == f"/admin/events/{event_id}"
    queue.drain()
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"Event {event_id} is queued to be applied again" in page


def test_unknown_tab_is_refused_with_words(app, client, auth):
    staff(app, "admin@example.com", "admin")
    auth.login("admin@example.com")
    response = client.get("/admin/events/?status=exploded")
    assert response.status_code == 400 and "Unknown status" in response.get_data(as_text=True)


def test_events_are_for_admins_only(app, client, auth):
    staff(app, "sara@example.com", "onboarding")
    auth.login("sara@example.com")
    assert client.get("/admin/events/1").status_code == 403
