"""Escalation: a missed target is marked once (the tick), the owner and the admins are told (notice + email),
someone else can take the case over (audited, targets restart), a reopened case can breach again; the queue and
My calls show it, and only to the roles that work complaints."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from retention.audit.models import AuditEntry
from retention.complaints import escalation, service, sla
from retention.complaints.models import CaseChange, ComplaintNotice
from retention.extensions import db
from retention.mail.models import OutboundEmail
from retention.tick import run as tick
from tests.complaints.test_sla import at, customer, open_case
from tests.factories import staff

OPENED = at("Europe/London", 2026, 11, 24, 10)  # a Tuesday; high: first response due 14:00, solution Thu 10:00


def people(app):
    owner = staff(app, "owner@example.com", timezone="Europe/London", country="GB", name="Olive Owner")
    colleague = staff(app, "colleague@example.com", timezone="Asia/Tehran", country="IR", name="Kian Colleague",
                      locale="fa")
    admin = staff(app, "admin@example.com", "admin", timezone="Asia/Riyadh", name="Amal Admin", locale="ar")
    return owner, colleague, admin


def notices(case_id):
    db.session.expire_all()
    return db.session.scalars(select(ComplaintNotice).where(ComplaintNotice.case_id == case_id)
                              .order_by(ComplaintNotice.id)).all()


def test_a_missed_first_response_is_escalated_once_to_the_owner_and_admins(app):
    owner, colleague, admin = people(app)
    case = open_case(customer("C1"), OPENED, owner=owner)
    assert tick(at("Europe/London", 2026, 11, 24, 13, 59))["complaints_escalated"] == 0
    assert tick(at("Europe/London", 2026, 11, 24, 14, 1))["complaints_escalated"] == 1
    assert tick(at("Europe/London", 2026, 11, 24, 14, 2))["complaints_escalated"] == 0  # the same breach
    assert {(n.staff_id, n.target) for n in notices(case.id)} == {(owner.id, "first_response"),
                                                                  (admin.id, "first_response")}
    changes = db.session.scalars(select(CaseChange).where(CaseChange.case_id == case.id,
                                                          CaseChange.action == "escalated")).all()
    assert len(changes) == 1
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "complaint.escalated")).changes["told"] \
        == ["owner@example.com", "admin@example.com"]
    # Each told by email too, in their own language.
    emails = {e.to_address: e for e in db.session.scalars(select(OutboundEmail).where(
        OutboundEmail.kind == "complaint_breach"))}
    assert set(emails) == {"owner@example.com", "admin@example.com"}
    assert emails["owner@example.com"].subject == f"Complaint case {case.id} missed its target"
    assert emails["admin@example.com"].locale == "ar" and "Complaint case" not in emails["admin@example.com"].subject


def test_the_missed_solution_is_a_new_breach_and_a_reopened_case_can_breach_again(app):
    owner, colleague, admin = people(app)
    case = open_case(customer("C1"), OPENED, owner=owner)
    tick(at("Europe/London", 2026, 11, 24, 15))  # first response missed
    assert tick(at("Europe/London", 2026, 11, 26, 10, 1))["complaints_escalated"] == 1  # then the solution
    assert [n.target for n in notices(case.id) if n.staff_id == owner.id] == ["first_response", "resolution"]
    case = service.get_case(db.session, case.id)
    service.move(db.session, case, "solution_offered", now=at("Europe/London", 2026, 11, 26, 11), actor="t")
    service.reopen(db.session, case, now=at("Europe/London", 2026, 12, 1, 9), actor="t")
    db.session.commit()
    assert tick(at("Europe/London", 2026, 12, 2, 16, 59))["complaints_escalated"] == 0
    assert tick(at("Europe/London", 2026, 12, 2, 17, 1))["complaints_escalated"] == 1
    assert tick(at("Europe/London", 2026, 12, 2, 17, 2))["complaints_escalated"] == 0


def test_two_ticks_at_once_escalate_once(app):
    from tests.factories import in_other_apps

    owner, _, _ = people(app)
    case = open_case(customer("C1"), OPENED, owner=owner)
    now = at("Europe/London", 2026, 11, 24, 15)

    def run(other):
        done = escalation.escalate_breaches(db.session, now)
        db.session.commit()
        return done

    assert sorted(in_other_apps(2, run)) == [0, 1]
    assert len(notices(case.id)) == 2


def test_a_colleague_takes_over_a_breached_case(app, client, auth, clock):
    owner, colleague, admin = people(app)
    case = open_case(customer("C1"), OPENED, owner=owner)
    clock.set(at("Europe/London", 2026, 11, 24, 15))
    tick(clock.now())
    auth.login("colleague@example.com")
    page = client.get("/complaints/queue?who=all")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f'data-case="{case.id}" data-state="breached"' in html
    token = auth.csrf("/complaints/queue")
    answer = client.post(f"/complaints/{case.id}/take-over", data={"csrf_token": token})
    assert answer.status_code == 303
    case = service.get_case(db.session, case.id)
    db.session.refresh(case)
    assert case.owner_id == colleague.id
    audit = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "complaint.owner"))
    assert audit.actor == f"staff:{colleague.id}" and audit.changes["to"] == "colleague@example.com"
    # Targets restart on the new owner's calendar (Tehran, 09:00-17:00): 15:00 London is 18:30 there.
    assert case.first_response_due_at == at("Asia/Tehran", 2026, 11, 25, 13)
    assert all(n.seen_at is not None for n in notices(case.id))
    # Not breached any more: taking it over again is refused, nothing changes.
    auth.login("owner@example.com")
    again = client.post(f"/complaints/{case.id}/take-over", data={"csrf_token": auth.csrf("/complaints/queue")})
    assert again.status_code == 409
    assert "Only a case that missed a target can be taken over" in again.get_data(as_text=True)
    db.session.expire_all()
    assert service.get_case(db.session, case.id).owner_id == colleague.id


def test_breaches_show_first_on_my_calls_with_the_notice(app, client, auth, clock):
    owner, _, _ = people(app)
    case = open_case(customer("C1"), OPENED, owner=owner)
    clock.set(at("Europe/London", 2026, 11, 24, 15))
    tick(clock.now())
    auth.login("owner@example.com")
    html = client.get("/calls/").get_data(as_text=True)
    assert 'id="complaint-attention"' in html
    assert f'<li data-case="{case.id}" data-state="breached">' in html
    assert "overdue by 1 hour" in html
    notice = notices(case.id)[0]
    # The "Seen" form on a list showing more upcoming calls carries that view, and comes back to it.
    more = client.get("/calls/?upcoming=30").get_data(as_text=True)
    form = more[more.index(f"/complaints/notices/{notice.id}/seen"):]
    assert '<input type="hidden" name="upcoming" value="30">' in form[:form.index("</form>")]
    seen = client.post(f"/complaints/notices/{notice.id}/seen",
                       data={"csrf_token": auth.csrf("/calls/"), "back": "calls", "upcoming": "30"})
    assert seen.status_code == 303 and seen.headers["Location"].endswith("/calls/?upcoming=30")
    assert notices(case.id)[0].seen_at is not None
    # Someone else's notice is not theirs to dismiss.
    other = [n for n in notices(case.id) if n.staff_id != owner.id][0]
    assert client.post(f"/complaints/notices/{other.id}/seen",
                       data={"csrf_token": auth.csrf("/calls/")}).status_code == 404


def test_the_queue_in_persian_says_time_left_in_persian(app, client, auth, clock):
    owner, colleague, _ = people(app)
    open_case(customer("C1"), OPENED, owner=colleague)
    clock.set(at("Europe/London", 2026, 11, 24, 11))
    auth.login("colleague@example.com")
    html = client.get("/complaints/queue").get_data(as_text=True)
    assert 'dir="rtl"' in html and "ساعت" in html and "۳" in html


def test_roles_on_the_queue_and_trends(app, client, auth):
    staff(app, "m@example.com", "marketing")
    staff(app, "p@example.com", "print")
    auth.login("m@example.com")
    assert client.get("/complaints/queue").status_code == 403
    assert client.get("/complaints/trends").status_code == 200
    auth.login("p@example.com")
    assert client.get("/complaints/trends").status_code == 403
    assert client.get("/complaints/queue").status_code == 403


def test_bad_filter_is_refused_not_a_server_error(app, client, auth):
    staff(app, "o@example.com")
    auth.login("o@example.com")
    assert client.get("/complaints/queue?who=nobody").status_code == 400


def test_sla_hooks_are_registered(app):
    assert sla.on_open in service.ON_OPEN and sla.on_owner in service.ON_OWNER


def test_the_case_page_shows_its_targets_and_takes_over_back_to_the_case(app, client, auth, clock):
    owner, colleague, admin = people(app)
    case = open_case(customer("C1"), OPENED, owner=owner)
    clock.set(at("Europe/London", 2026, 11, 24, 15))
    tick(clock.now())
    auth.login("admin@example.com")
    html = client.get(f"/complaints/{case.id}").get_data(as_text=True)
    assert 'id="case-sla"' in html and 'data-state="breached"' in html
    from flask_babel import force_locale, gettext
    with force_locale("ar"):
        told = gettext("owner and admins told")
    assert told != "owner and admins told" and told in html  # owner and admins told, in the admin's Arabic
    with force_locale("ar"):
        missed = gettext("Complaint case missed its target: owner and admins told")
    assert missed.startswith("تجاوز ملف الشكوى") and missed in html  # the case's timeline says it missed its target
    answer = client.post(f"/complaints/{case.id}/take-over",
                         data={"csrf_token": auth.csrf(f"/complaints/{case.id}"), "back": "case"})
    assert answer.status_code == 303 and answer.headers["Location"].endswith(f"/complaints/{case.id}")
    db.session.expire_all()
    assert service.get_case(db.session, case.id).owner_id == admin.id
