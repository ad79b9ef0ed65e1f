"""Input checked at the door: ids past the database's range, control characters, page numbers - 4xx, never 500."""
from __future__ import annotations

import pytest

from retention.request_input import MAX_ID, MAX_PAGE
from tests.factories import staff, token_for

HUGE = str(2**31)  # one past the largest 32-bit id
HUGER = "9" * 40


@pytest.fixture
def admin_client(app, client, auth):
    staff(app, "root@example.com", "admin")
    auth.login("root@example.com")
    client.csrf_token = auth.csrf("/customers/")
    return client


@pytest.fixture
def bearer(app):
    return {"Authorization": f"Bearer {token_for(app, staff(app, 'api@example.com', 'admin'))}"}


def _int_routes(app):
    """Every route with an <int:...> part, as (method, url with that id set to `value`)."""
    for rule in app.url_map.iter_rules():
        if "int" not in str(rule.arguments) and "<int:" not in rule.rule:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, rule


def _url(rule, value: str) -> str:
    import re

    url = re.sub(r"<int:[^>]+>", value, rule.rule)
    url = re.sub(r"<any\(([a-z]+)[^>]*\):[^>]+>", r"\1", url)
    return re.sub(r"<[^>]+>", "x", url)


@pytest.mark.parametrize("value", [HUGE, HUGER])
def test_ids_past_the_database_range_are_not_found_on_every_route(app, admin_client, bearer, value):
    routes = list(_int_routes(app))
    assert len(routes) >= 15  # pages and API alike
    for method, rule in routes:
        url = _url(rule, value)
        if url.startswith("/api/"):
            response = admin_client.open(url, method=method, headers=bearer, json={})
        else:
            response = admin_client.open(url, method=method, data={"csrf_token": admin_client.csrf_token})
        assert response.status_code == 404, (method, url, response.status_code)


def test_largest_id_is_still_a_plain_not_found(app, admin_client, bearer):
    assert admin_client.get(f"/letters/batches/{MAX_ID}").status_code == 404
    assert admin_client.get(f"/api/v1/print-batches/{MAX_ID}", headers=bearer).status_code == 404


@pytest.mark.parametrize("url", [
    "/customers/?q=a%00b", "/customers/?page=1%00", "/customers/a%00b", "/api/v1/customers/?q=%00",
    "/api/v1/customers/a%00b", "/api/v1/journeys/x%00y", "/letters/templates/k%00/en", "/customers/?q=%0d%0a",
    "/customers/?%00=1", "/admin/events/?status=failed%01",
])
def test_control_characters_in_path_or_query_are_refused(app, admin_client, bearer, url):
    response = admin_client.get(url, headers=bearer)
    assert response.status_code == 400, (url, response.status_code)
    assert "control characters" in response.get_data(as_text=True)


def test_control_characters_are_refused_before_anything_else(app, client):
    """Even anonymous and on the hooks endpoint: 400, not a sign-in redirect or a 401."""
    assert client.get("/customers/?q=%00").status_code == 400
    assert client.post("/hooks/events?x=%00", data=b"{}").status_code == 400


@pytest.mark.parametrize("page, status", [("0", 400), ("-1", 400), (str(MAX_PAGE + 1), 400), (HUGER, 400),
                                          ("abc", 400), ("1.5", 400), ("٣", 400), (str(MAX_PAGE), 200)])
def test_customer_list_page_is_bounded(app, admin_client, page, status):
    response = admin_client.get(f"/customers/?page={page}")
    assert response.status_code == status, (page, response.status_code)
    if status == 400:
        assert "page" in response.get_data(as_text=True)


@pytest.mark.parametrize("page, status", [("0", 422), (str(MAX_PAGE + 1), 422), (HUGER, 422), ("abc", 422),
                                          (str(MAX_PAGE), 200)])
def test_customer_api_page_is_bounded(app, client, bearer, page, status):
    response = client.get(f"/api/v1/customers/?page={page}", headers=bearer)
    assert response.status_code == status, (page, response.status_code)
    if status == 422:
        assert "page" in response.get_json()["errors"]["query"]


@pytest.mark.parametrize("owner", [HUGE, HUGER, "abc"])
def test_my_calls_owner_is_bounded(app, admin_client, owner):
    assert admin_client.get(f"/calls/?owner={owner}").status_code in (400, 404)


def test_reassign_with_ids_past_the_range_is_refused(app, admin_client):
    for field, value in (("touchpoint_id", HUGER), ("owner_id", HUGER)):
        data = {"touchpoint_id": "1", "owner_id": "1", "csrf_token": admin_client.csrf_token, field: value}
        response = admin_client.post("/calls/reassign", data=data, follow_redirects=True)
        assert response.status_code in (400, 422), (field, response.status_code)
        # the refusal is shown next to the reassign form, in words (calls/views.py re-renders the page)
        page = response.get_data(as_text=True)
        assert '<p class="field-error" role="alert">' in page[page.index('id="reassign-form"'):], field


def test_trace_answers_405_with_allow(app, client):
    for url in ("/api/v1/customers/", "/customers/", "/hooks/events"):
        response = client.open(url, method="TRACE")
        assert response.status_code == 405
        assert "GET" in response.headers["Allow"] or "POST" in response.headers["Allow"]
