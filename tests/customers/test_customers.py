"""The customer list, the customer page with its timeline, and the customers API."""
from __future__ import annotations

import datetime as dt

import pytest

from tests.factories import customer, event, sale_completed, staff, token_for


def load_customers(client, signer, queue, n=3):
    names = ["Olivia Smith", "محمد الحسيني", "زهرا محمدی", "James Brown"]
    for i in range(n):
        signer.post(client, sale_completed(f"S{i}", cust=customer(f"C{i}", name=names[i % len(names)])))
    queue.drain()


def test_customer_list_searches_and_pages(app, client, auth, signer, queue):
    load_customers(client, signer, queue, 60)
    staff(app, "sara@example.com", "onboarding")
    auth.login("sara@example.com")
    first = client.get("/customers/").get_data(as_text=True)
    assert "60 customers" in first and 'rel="next"' in first
    second = client.get("/customers/?page=2").get_data(as_text=True)
    assert "Page 2 of 2" in second
    found = client.get("/customers/?q=زهرا").get_data(as_text=True)
    assert "زهرا محمدی" in found and "Olivia Smith" not in found
    assert client.get("/customers/?page=abc").status_code == 400


def test_customer_page_shows_the_timeline(app, client, auth, signer, queue):
    load_customers(client, signer, queue, 1)
    signer.post(client, event("nps.response", {"customer_id": "C0", "score": 4, "comment": "slow delivery"}))
    queue.drain()
    staff(app, "sara@example.com", "onboarding")
    auth.login("sara@example.com")
    page = client.get("/customers/C0").get_data(as_text=True)
    assert "Sale completed" in page and "Espresso machine Pro" in page
    assert "NPS answer" in page and "slow delivery" in page
    assert client.get("/customers/NOPE").status_code == 404


def test_arabic_staff_get_a_right_to_left_page(app, client, auth):
    staff(app, "omar@example.com", "onboarding", locale="ar")
    auth.login("omar@example.com")
    page = client.get("/customers/").get_data(as_text=True)
    assert 'dir="rtl"' in page and 'lang="ar"' in page and "العملاء" in page


def test_api_returns_customer_with_sales_and_404_when_unknown(app, client, signer, queue):
    load_customers(client, signer, queue, 1)
    token = token_for(app, staff(app, "sara@example.com", "onboarding"))
    headers = {"Authorization": f"Bearer {token}"}
    body = client.get("/api/v1/customers/C0", headers=headers).get_json()
    assert body["id"] == "C0" and body["name"] == "Olivia Smith"
    assert body["sales"][0]["amount"] == "649.00" and body["sales"][0]["currency"] == "USD"
    assert body["address"]["country"] == "AE"
    missing = client.get("/api/v1/customers/NOPE", headers=headers)
    assert missing.status_code == 404 and "customer" in missing.get_json()["message"]
    listing = client.get("/api/v1/customers/?q=olivia", headers=headers).get_json()
    assert listing["total"] == 1
    assert client.get("/api/v1/customers/?page=0", headers=headers).status_code == 422


def test_search_takes_percent_and_underscore_literally(app, client, auth, signer, queue):
    for i, name in enumerate(["50% Off Outlet", "Anna_Maria Rossi", "Olivia Smith"]):
        signer.post(client, sale_completed(f"S{i}", cust=customer(f"C{i}", name=name, email=f"c{i}@example.net")))
    queue.drain()
    token = token_for(app, staff(app, "sara@example.com", "onboarding"))
    headers = {"Authorization": f"Bearer {token}"}

    def names(q):
        body = client.get("/api/v1/customers/", query_string={"q": q}, headers=headers).get_json()
        return sorted(item["name"] for item in body["items"])

    assert names("%") == ["50% Off Outlet"]
    assert names("_") == ["Anna_Maria Rossi"]
    assert names("a_m") == ["Anna_Maria Rossi"]
    assert names("o%i") == []  # no wildcard: "Olivia" does not match
    assert names("%00") == []
    assert names("\\") == []
    auth.login("sara@example.com")
    page = client.get("/customers/", query_string={"q": "%"}).get_data(as_text=True)
    assert "50% Off Outlet" in page and "Olivia Smith" not in page


@pytest.mark.parametrize("q", ["x" * 201, "ab\x00", "ab\x1b"])
def test_a_search_that_cannot_be_run_is_refused_naming_q(app, client, auth, q):
    token = token_for(app, staff(app, "sara@example.com", "onboarding"))
    api = client.get("/api/v1/customers/", query_string={"q": q}, headers={"Authorization": f"Bearer {token}"})
    assert api.status_code in (400, 422) and "q" in api.get_data(as_text=True)
    auth.login("sara@example.com")
    page = client.get("/customers/", query_string={"q": q})
    assert page.status_code == 400
    assert "q" in page.get_data(as_text=True)


def test_search_service_refuses_what_no_database_can_search(session):
    from retention.customers import service

    for bad in ("x" * 201, "a\x00b", "\udc80"):
        with pytest.raises(service.InvalidSearch, match="^q: "):
            service.search(session, bad, 1)
    assert service.search(session, "  " + "x" * 200 + "  ", 1) == ([], 0)


def test_search_finds_arabic_and_persian_spelling_variants_digits_and_phones_in_any_format(app, client, auth, signer,
                                                                                          queue):
    people = [("مهدی رضایی", "+989121234567"), ("كريم الحداد", "+971501234567"), ("مُحَمَّد علی", "+966501112222"),
              ("می‌نو کریمی", "+989351119999"), ("Olivia Smith", "+442079460000")]
    for i, (name, phone) in enumerate(people):
        signer.post(client, sale_completed(f"S{i}", cust=customer(f"C{i}", name=name, phone=phone)))
    queue.drain()
    token = token_for(app, staff(app, "sara@example.com", "onboarding"))

    def names(q):
        body = client.get("/api/v1/customers/", query_string={"q": q},
                          headers={"Authorization": f"Bearer {token}"}).get_json()
        return sorted(item["name"] for item in body["items"])

    assert names("مهدي") == ["مهدی رضایی"]            # Arabic yeh finds the Persian spelling
    assert names("کریم") == ["كريم الحداد", "می‌نو کریمی"]  # Persian keheh and yeh find the Arabic spelling
    assert names("محمد") == ["مُحَمَّد علی"]             # without diacritics
    assert names("مینو") == ["می‌نو کریمی"]              # without the zero-width non-joiner
    assert names("۰۹۱۲ ۱۲۳ ۴۵۶۷") == ["مهدی رضایی"]     # Persian digits, national trunk prefix, spaces
    assert names("+44 (20) 7946-0000") == ["Olivia Smith"]
    assert names("020 7946 0000") == ["Olivia Smith"]
    assert names("OLIVIA") == ["Olivia Smith"]
    assert names("zzz") == []
    auth.login("sara@example.com")
    page = client.get("/customers/", query_string={"q": "مهدي"}).get_data(as_text=True)
    assert "مهدی رضایی" in page and "Olivia Smith" not in page


def test_changed_details_are_searchable_under_their_new_spelling(app, client, signer, queue):
    signer.post(client, sale_completed("S1", cust=customer("C1", name="Layla Haddad")))
    signer.post(client, event("customer.upserted", {"customer": customer("C1", name="ليلى حداد")},
                              occurred_at=dt.datetime(2026, 3, 3, 10, 0, tzinfo=dt.timezone.utc)))
    queue.drain()
    from retention.customers.service import search
    from retention.extensions import db

    assert search(db.session, "لیلی", page=1)[1] == 1     # Persian yeh for the Arabic yeh and alef maksura
    assert search(db.session, "Layla", page=1)[1] == 0    # the old name is no longer what she is found by
