"""The journeys, touchpoints and enrollments API, and its refusals."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from retention.extensions import db
from retention.journeys.models import Enrollment
from retention.staff.models import StaffUser
from retention.tick import run as tick
from tests.factories import sale_completed, staff, token_for

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 3, 2, 6, 0, tzinfo=UTC)


def bearer(app, email, role):
    return {"Authorization": f"Bearer {token_for(app, staff(app, email, role))}"}


def test_customer_touchpoints_contract(app, client, signer, world):
    signer.post(client, sale_completed(occurred_at=T0))
    tick(T0)
    headers = bearer(app, "ops@example.com", "marketing")
    body = client.get("/api/v1/customers/C1/touchpoints", headers=headers).get_json()
    assert len(body) == 10
    first = body[0]
    assert set(first) >= {"id", "kind", "step", "due_at", "status", "owner", "outcome"}
    assert first["step"] == "welcome_letter" and first["status"] == "handed"
    call = next(t for t in body if t["step"] == "check_in_call")
    assert call["due_at"] == "2026-03-04T06:00:00+00:00" and call["owner"].endswith("@example.com")
    assert client.get("/api/v1/customers/NOPE/touchpoints", headers=headers).status_code == 404


def test_log_outcome_by_api_and_its_errors(app, client, signer, world):
    signer.post(client, sale_completed(occurred_at=T0))
    tick(T0)
    owner_email = client.get("/api/v1/customers/C1/touchpoints", headers=bearer(app, "m@example.com", "marketing")
                             ).get_json()[1]["owner"]
    owner = db.session.scalar(select(StaffUser).where(StaffUser.email == owner_email))
    headers = {"Authorization": f"Bearer {token_for(app, owner)}"}
    calls = client.get(f"/api/v1/touchpoints/?owner={owner_email}&kind=call", headers=headers).get_json()
    assert calls and all(c["kind"] == "call" and c["owner"] == owner_email for c in calls)
    tid = calls[0]["id"]
    bad = client.post(f"/api/v1/touchpoints/{tid}/outcome", json={"outcome": "shrug"}, headers=headers)
    assert bad.status_code == 422 and "outcome" in bad.get_json()["errors"]["json"]
    ok = client.post(f"/api/v1/touchpoints/{tid}/outcome", json={"outcome": "reached", "notes": "fine"}, headers=headers)
    assert ok.status_code == 200 and ok.get_json()["status"] == "done"
    again = client.post(f"/api/v1/touchpoints/{tid}/outcome", json={"outcome": "reached"}, headers=headers)
    assert again.status_code == 409
    assert client.post("/api/v1/touchpoints/999999/outcome", json={"outcome": "reached"}, headers=headers).status_code == 404


def test_pause_and_resume_by_api(app, client, signer, world):
    signer.post(client, sale_completed(occurred_at=T0))
    tick(T0)
    headers = bearer(app, "o@example.com", "onboarding")
    eid = db.session.scalar(select(Enrollment.id))
    assert client.post(f"/api/v1/enrollments/{eid}/pause", headers=headers).get_json()["status"] == "paused"
    assert client.post(f"/api/v1/enrollments/{eid}/pause", headers=headers).status_code == 409
    assert client.post(f"/api/v1/enrollments/{eid}/resume", headers=headers).get_json()["status"] == "active"


def test_journey_read_impact_and_edit_by_api(app, client, signer, world):
    signer.post(client, sale_completed(occurred_at=T0))
    tick(T0)
    admin = bearer(app, "root@example.com", "admin")
    journey = client.get("/api/v1/journeys/first-90-days", headers=admin).get_json()
    assert journey["version"] == 1 and len(journey["steps"]) == 10
    impact = client.get("/api/v1/journeys/first-90-days/impact", headers=admin).get_json()
    assert {choice: impact[choice] for choice in ("keep", "move", "new_only")} == {"keep": 0, "move": 1, "new_only": 0}
    steps = journey["steps"]
    steps[1]["day_offset"] = 3
    bad = client.put("/api/v1/journeys/first-90-days", json={"steps": steps, "choice": "sometimes"}, headers=admin)
    assert bad.status_code == 422 and "choice" in bad.get_json()["errors"]["json"]
    steps[4]["condition"] = "latest_nps <<= 3"
    bad = client.put("/api/v1/journeys/first-90-days", json={"steps": steps, "choice": "move"}, headers=admin)
    assert bad.status_code == 422 and "step 5 (Recovery call): condition" in bad.get_json()["message"]
    steps[4]["condition"] = "latest_nps <= 6"
    ok = client.put("/api/v1/journeys/first-90-days", json={"steps": steps, "choice": "move"}, headers=admin)
    assert ok.status_code == 200 and ok.get_json()["moved"] == 1 and ok.get_json()["journey"]["version"] == 2
    marketing = bearer(app, "mk@example.com", "marketing")
    assert client.put("/api/v1/journeys/first-90-days", json={"steps": steps, "choice": "keep"},
                      headers=marketing).status_code == 403


def test_print_role_cannot_read_touchpoints(app, client):
    headers = bearer(app, "post@example.com", "print")
    assert client.get("/api/v1/touchpoints/", headers=headers).status_code == 403
    assert client.get("/api/v1/journeys/", headers=headers).status_code == 403
