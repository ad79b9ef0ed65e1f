"""A return undone closes the fix-address call it opened: the customer's timeline says why, in the reader's language
(not a bare "Call closed" line)."""
from __future__ import annotations

import html
import re

from sqlalchemy import select

from retention.extensions import db
from retention.journeys.models import Touchpoint
from retention.postal.models import ReturnedMail
from tests.factories import staff
from tests.postal.test_mail_room import mailed_letters, post  # noqa: F401
from tests.postal.test_postal import letter_world, us_customer  # noqa: F401


def _closed_line(client) -> str:
    page = client.get("/customers/C2").get_data(as_text=True)
    found = re.search(r'<li data-kind="call:closed">(.*?)</li>', page, re.S)
    assert found, "no closed call on the timeline"
    return html.unescape(re.sub(r"<[^>]+>", "", found.group(1)))


def test_the_timeline_says_why_the_fix_address_call_closed_when_the_return_was_undone(
        app, client, signer, letter_world, post, auth):
    _batch, (letter,) = mailed_letters(app, client, signer, us_customer())
    csrf = auth.csrf("/letters/returned")
    assert client.post(f"/letters/{letter.id}/returned", data={"csrf_token": csrf, "reason": "moved"}
                       ).status_code == 302
    assert client.post(f"/letters/{letter.id}/undo-return", data={"csrf_token": csrf}).status_code == 302
    db.session.expire_all()
    call = db.session.get(Touchpoint, db.session.scalar(select(ReturnedMail.call_id)))
    assert call.status == "skipped"

    auth.login("omar@example.com")   # the customer's owner, whose call it was
    line = _closed_line(client)
    assert "Call closed: Fix the address: mail came back" in line
    assert "Not needed any more: the return of the letter was undone; the address was right" in line

    staff(app, "rania@example.com", "onboarding", locale="ar")
    auth.login("rania@example.com")
    line = _closed_line(client)
    assert "أُغلقت المكالمة" in line
    assert "لم تعد لازمة: أُلغي تسجيل ارتجاع الرسالة؛ فالعنوان كان صحيحًا" in line
    assert not re.search("[A-Za-z]", line)
