"""Customer ids holding `/` (and other URL characters) are reachable on their page and in the API."""
from __future__ import annotations

import datetime as dt
import html
import re

import pytest

from retention.extensions import db
from retention.journeys.service import ensure_default_journey
from retention.postal.service import ensure_default_templates

from tests.factories import customer, sale_completed, staff, token_for

IDS = ["shop/4711", "/leading", "crm//double/slash", "trailing/", "q?x=1#frag %20", "ünï/ç"]


@pytest.fixture
def customers_with_odd_ids(app, client, signer, queue):
    """Each sent as a sale through the signed hook and processed by the queue, enrolled on the default journey."""
    start = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    ensure_default_journey(db.session, start)
    ensure_default_templates(db.session, start)
    staff(app, "omar@example.com", "onboarding")
    for n, cid in enumerate(IDS):
        answer = signer.post(client, sale_completed(f"S{n}", cust=customer(cid, name=f"Person {n}",
                                                                           email=f"p{n}@example.net")))
        assert answer.status_code == 202, answer.get_json()
    queue.drain()


def test_pages_link_to_each_customer_and_show_it(app, client, auth, customers_with_odd_ids):
    staff(app, "sara@example.com", "onboarding")
    auth.login("sara@example.com")
    listing = client.get("/customers/").get_data(as_text=True)
    links = {html.unescape(m) for m in re.findall(r'href="(/customers/[^"]+)"', listing)}
    assert len(links) == len(IDS)
    shown = {}
    for link in links:
        page = client.get(link)
        assert page.status_code == 200, link
        name = re.search(r"<bdi>(Person \d+)</bdi>", page.get_data(as_text=True)).group(1)
        shown[name] = page.get_data(as_text=True)
    for n, cid in enumerate(IDS):
        assert html.escape(cid) in shown[f"Person {n}"]


def test_the_api_answers_each_customer_and_its_touchpoints(app, client, customers_with_odd_ids):
    from urllib.parse import quote

    headers = {"Authorization": f"Bearer {token_for(app, staff(app, 'sara@example.com', 'onboarding'))}"}
    for n, cid in enumerate(IDS):
        for path in (quote(cid, safe="/"), quote(cid, safe="")):  # as typed, and with every `/` as %2F
            response = client.get(f"/api/v1/customers/{path}", headers=headers)
            assert response.status_code == 200, (cid, path)
            assert response.get_json()["id"] == cid and response.get_json()["name"] == f"Person {n}"
            touchpoints = client.get(f"/api/v1/customers/{path}/touchpoints", headers=headers)
            assert touchpoints.status_code == 200 and touchpoints.get_json()
            assert {tp["customer"] for tp in touchpoints.get_json()} == {cid}


def test_an_unknown_id_with_a_slash_is_a_plain_404(app, client, customers_with_odd_ids):
    headers = {"Authorization": f"Bearer {token_for(app, staff(app, 'sara@example.com', 'onboarding'))}"}
    assert client.get("/api/v1/customers/shop/0000", headers=headers).status_code == 404
