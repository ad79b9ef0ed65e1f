"""The complaints API (H1): cases, moves (409 when the status does not allow it), reopen, assign, customer types,
categories; tokens per role; every refusal names the field and changes nothing."""
from __future__ import annotations

import pytest

from retention.complaints.models import Complaint
from retention.extensions import db
from tests.complaints.casekit import T0, cases, sold
from tests.factories import staff, token_for
from tests.journeys.conftest import world  # noqa: F401


@pytest.fixture
def tokens(app, world, clock):
    clock.set(T0)
    people = {"onboarding": world["owners"][0], "emma": world["owners"][1],
              "marketing": staff(app, "maya@example.com", "marketing"),
              "print": staff(app, "pat@example.com", "print"), "admin": staff(app, "root@example.com", "admin")}
    return {role: {"Authorization": f"Bearer {token_for(app, person)}"} for role, person in people.items()}


CASE = {"customer_id": "C1", "channel": "email", "category": "delivery", "summary": "Box crushed", "severity": "high"}


def test_open_read_list_and_move_a_case(client, signer, queue, tokens):
    sold(client, signer, queue)
    made = client.post("/api/v1/complaints/", json=CASE, headers=tokens["onboarding"])
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    assert (body["status"], body["source"], body["owner"]) == ("new", "staff", "omar@example.com")
    assert body["allowed_moves"] == ["acknowledged", "investigating", "closed"]  # a solution comes with its text
    case_id = body["id"]
    assert client.get(f"/api/v1/complaints/{case_id}", headers=tokens["onboarding"]).get_json()["summary"] == "Box crushed"
    listed = client.get("/api/v1/complaints/?status=open&category=delivery", headers=tokens["onboarding"]).get_json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == case_id
    assert client.get("/api/v1/complaints/?status=closed", headers=tokens["onboarding"]).get_json()["total"] == 0
    refused = client.post(f"/api/v1/complaints/{case_id}/status", json={"status": "verified"},
                          headers=tokens["onboarding"])
    assert refused.status_code == 409 and refused.get_json()["message"] == \
        "status: A case that is New cannot become Verified."
    moved = client.post(f"/api/v1/complaints/{case_id}/status", json={"status": "closed", "note": "Refunded"},
                        headers=tokens["onboarding"])
    assert moved.status_code == 200 and moved.get_json()["status"] == "closed"
    reopened = client.post(f"/api/v1/complaints/{case_id}/reopen", json={}, headers=tokens["onboarding"])
    assert reopened.status_code == 200 and reopened.get_json()["status"] == "investigating"
    assert client.post(f"/api/v1/complaints/{case_id}/reopen", json={}, headers=tokens["onboarding"]).status_code == 409
    assigned = client.post(f"/api/v1/complaints/{case_id}/assign", json={"owner": "emma@example.com"},
                           headers=tokens["onboarding"])
    assert assigned.status_code == 200 and assigned.get_json()["owner"] == "emma@example.com"


def test_a_case_from_a_call_of_the_customer(client, signer, queue, tokens):
    sold(client, signer, queue)
    from sqlalchemy import select

    from retention.journeys.models import Touchpoint

    call = db.session.scalar(select(Touchpoint).where(Touchpoint.kind == "call"))
    made = client.post("/api/v1/complaints/", json={**CASE, "channel": "phone", "from_touchpoint_id": call.id},
                       headers=tokens["onboarding"])
    assert made.status_code == 201 and made.get_json()["source"] == "call"
    other = client.post("/api/v1/complaints/", json={**CASE, "from_touchpoint_id": 999999},
                        headers=tokens["onboarding"])
    assert other.status_code == 422 and other.get_json()["message"].startswith("from_touchpoint_id")
    assert other.get_json()["errors"]["json"] == {"from_touchpoint_id": ["no call of this customer with this id"]}


@pytest.mark.parametrize("change, status, field", [
    ({"summary": ""}, 422, "summary"),
    ({"channel": "pigeon"}, 422, "channel"),
    ({"channel": "social"}, 422, "public_url"),
    ({"customer_id": "NOPE"}, 422, "customer_id"),  # the body is wrong, not the URL
    ({"category": "no-such"}, 422, "category"),
    ({"owner": "nobody@example.com"}, 422, "owner"),
    ({"owner": "maya@example.com"}, 422, "owner"),  # named as the body names it
])
def test_refusals_name_the_field_and_open_nothing(client, signer, queue, tokens, change, status, field):
    sold(client, signer, queue)
    refused = client.post("/api/v1/complaints/", json={**CASE, **change}, headers=tokens["onboarding"])
    assert refused.status_code == status
    body = refused.get_json()
    assert field in str(body.get("message")) or field in str(body.get("errors")), body
    assert cases() == []


def test_an_unknown_id_in_the_body_is_422_and_in_the_url_404(client, signer, queue, tokens):
    sold(client, signer, queue)
    refused = client.post("/api/v1/complaints/", json={**CASE, "customer_id": "NOPE"}, headers=tokens["onboarding"])
    assert refused.status_code == 422
    assert refused.get_json()["message"] == "customer_id: no customer with this id"
    assert refused.get_json()["errors"] == {"json": {"customer_id": ["no customer with this id"]}}
    case_id = client.post("/api/v1/complaints/", json=CASE, headers=tokens["onboarding"]).get_json()["id"]
    assign = client.post(f"/api/v1/complaints/{case_id}/assign", json={"owner": "nobody@example.com"},
                         headers=tokens["onboarding"])
    assert assign.status_code == 422 and assign.get_json()["message"] == "owner: nobody with this email"
    marketer = client.post(f"/api/v1/complaints/{case_id}/assign", json={"owner": "maya@example.com"},
                           headers=tokens["onboarding"])
    assert marketer.status_code == 422 and list(marketer.get_json()["errors"]["json"]) == ["owner"]
    assert client.get(f"/api/v1/complaints/{case_id}", headers=tokens["onboarding"]).get_json()["owner"] == \
        "omar@example.com"  # nothing changed
    assert client.post("/api/v1/complaints/999999/assign", json={"owner": "emma@example.com"},
                       headers=tokens["onboarding"]).status_code == 404  # an unknown case in the URL
    document = client.get("/api/openapi.json").get_json()
    assert "404" not in document["paths"]["/api/v1/complaints/"]["post"]["responses"]
    assert "422" in document["paths"]["/api/v1/complaints/"]["post"]["responses"]


def test_roles(client, signer, queue, tokens):
    sold(client, signer, queue)
    for role in ("marketing", "print"):
        assert client.get("/api/v1/complaints/", headers=tokens[role]).status_code == 403
        assert client.post("/api/v1/complaints/", json=CASE, headers=tokens[role]).status_code == 403
        assert client.put("/api/v1/customers/C1/type", json={"customer_type": "meek"},
                          headers=tokens[role]).status_code == 403
        assert client.post("/api/v1/complaint-categories/", json={"key": "x", "names": {"en": "X"}},
                           headers=tokens[role]).status_code == 403
    assert client.post("/api/v1/complaint-categories/", json={"key": "x", "names": {"en": "X"}},
                       headers=tokens["onboarding"]).status_code == 403
    assert client.get("/api/v1/complaints/").status_code == 401
    assert client.get("/api/v1/complaints/999", headers=tokens["admin"]).status_code == 404


def test_customer_type_over_the_api(client, signer, queue, tokens):
    customer = sold(client, signer, queue)
    for n in range(3):
        client.post("/api/v1/complaints/", json=CASE, headers=tokens["onboarding"])
    put = client.put("/api/v1/customers/C1/type", json={"customer_type": "rip_off"}, headers=tokens["onboarding"])
    assert put.status_code == 200
    assert put.get_json() == {"customer_id": "C1", "customer_type": "rip_off",
                              "suggestion": {"type": "chronic", "reason": "3 complaints in the last 90 days."}}
    assert client.put("/api/v1/customers/C1/type", json={"customer_type": "vip"},
                      headers=tokens["onboarding"]).status_code == 422
    assert client.put("/api/v1/customers/NOPE/type", json={"customer_type": "meek"},
                      headers=tokens["onboarding"]).status_code == 404
    assert client.get("/api/v1/customers/C1/type", headers=tokens["onboarding"]).get_json()["customer_type"] == "rip_off"
    assert client.get("/api/v1/customers/C1/type", headers=tokens["print"]).status_code == 403
    cleared = client.put("/api/v1/customers/C1/type", json={"customer_type": None}, headers=tokens["onboarding"])
    assert cleared.get_json()["customer_type"] is None
    db.session.expire_all()
    assert customer.customer_type is None
    listed = client.get("/api/v1/complaints/?customer_type=meek", headers=tokens["onboarding"]).get_json()
    assert listed["total"] == 0


def test_categories_over_the_api(client, signer, queue, tokens):
    sold(client, signer, queue)
    listed = client.get("/api/v1/complaint-categories/", headers=tokens["onboarding"]).get_json()
    assert [c["key"] for c in listed][:2] == ["delivery", "product_quality"]
    new = {"key": "warranty", "names": {"en": "Warranty", "fa": "گارانتی"},
           "questions": [{"text": {"en": "Which product?", "ar": "أي منتج؟"}}]}
    made = client.post("/api/v1/complaint-categories/", json=new, headers=tokens["admin"])
    assert made.status_code == 201
    body = made.get_json()
    assert body["questions"] == [{"key": "which_product", "text": {"en": "Which product?", "ar": "أي منتج؟"}}]
    assert client.post("/api/v1/complaint-categories/", json=new, headers=tokens["admin"]).status_code == 409
    refused = client.post("/api/v1/complaint-categories/", json={"key": "y", "names": {"fa": "ی"}},
                          headers=tokens["admin"])
    assert refused.status_code == 422 and "names" in str(refused.get_json())
    changed = client.put(f"/api/v1/complaint-categories/{body['id']}", json={
        "names": {"en": "Warranty claims"}, "active": False,
        "questions": [{"key": "which_product", "text": {"en": "Which product exactly?"}},
                      {"text": {"en": "Bought when?"}}]}, headers=tokens["admin"])
    assert changed.status_code == 200
    assert [q["key"] for q in changed.get_json()["questions"]] == ["which_product", "bought_when"]
    assert changed.get_json()["active"] is False
    assert client.put("/api/v1/complaint-categories/999", json={"names": {"en": "X"}},
                      headers=tokens["admin"]).status_code == 404
    # an inactive category cannot be chosen for a new case
    refused = client.post("/api/v1/complaints/", json={**CASE, "category": "warranty"}, headers=tokens["onboarding"])
    assert refused.status_code == 422 and refused.get_json()["message"].startswith("category:")
    assert db.session.query(Complaint).count() == 0
