"""queue_email: a row in the caller's transaction, sent after the commit, once per ref; who may be emailed."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from retention.extensions import db
from retention.mail import optouts
from retention.mail.models import OutboundEmail
from retention.mail.sending import send_queued
from retention.mail.service import MailError, can_email, queue_email, queue_staff_email, render_email
from tests.factories import staff
from tests.mail.conftest import NOW, add_customer


def _queue(customer, ref="test:1", **kwargs):
    values = dict(kind="test", subject="Your espresso machine", text="Hello Layla", html="<p>Hello Layla</p>",
                  now=NOW, ref=ref)
    values.update(kwargs)
    return queue_email(db.session, customer, **values)


def test_a_queued_email_is_sent_after_the_commit_by_the_job_the_commit_queued(smtp_app, smtp_server, queue):
    customer = add_customer()
    row = _queue(customer)
    assert row.status == "queued" and smtp_server.messages == []
    queue.drain()  # nothing committed yet: no job
    assert smtp_server.messages == []
    db.session.commit()
    queue.drain()
    assert [m["Subject"] for m in smtp_server.messages] == ["Your espresso machine"]
    received = smtp_server.messages[0]
    assert received["To"] == customer.email and received["Message-ID"] == row.message_id
    assert received.get_body(("plain",)).get_content().startswith("Hello Layla")
    assert "<p>Hello Layla</p>" in received.get_body(("html",)).get_content()
    db.session.expire_all()
    assert db.session.get(OutboundEmail, row.id).status == "sent"


def test_the_same_ref_queued_again_returns_the_first_row_and_one_email_goes(smtp_app, smtp_server):
    customer = add_customer()
    first = _queue(customer, ref="survey:12")
    db.session.commit()
    again = _queue(customer, ref="survey:12", subject="Something else")
    db.session.commit()
    assert again.id == first.id and again.subject == "Your espresso machine"
    assert db.session.scalar(select(func.count()).select_from(OutboundEmail)) == 1
    send_queued(db.session, NOW)
    send_queued(db.session, NOW + dt.timedelta(hours=1))
    assert len(smtp_server.messages) == 1


def test_a_customer_without_email_or_opted_out_is_refused_with_the_reason(app):
    nobody = add_customer(email=None)
    broken = add_customer(email="not an address")
    opted = add_customer()
    optouts.opt_out(db.session, opted.id, "email", source="staff", now=NOW, actor="test")
    db.session.commit()
    assert can_email(db.session, nobody) == "no_email" and can_email(db.session, broken) == "no_email"
    assert can_email(db.session, opted) == "opted_out"
    for customer, reason in ((nobody, "no_email"), (opted, "opted_out")):
        with pytest.raises(MailError) as refused:
            _queue(customer, ref=f"x:{customer.id}")
        assert refused.value.field == "email" and refused.value.reason == reason
    assert db.session.scalar(select(func.count()).select_from(OutboundEmail)) == 0


def test_every_customer_email_carries_list_unsubscribe_and_a_footer_link_in_its_language(smtp_app, smtp_server):
    smtp_app.config["MAIL_UNSUBSCRIBE_MAILTO"] = "unsubscribe@shop.example.com"
    customer = add_customer(locale="fa-IR")
    html, text = render_email("message", "fa", subject="خرید شما", paragraphs=["سلام"])
    _queue(customer, subject="خرید شما", html=html, text=text)
    db.session.commit()
    send_queued(db.session, NOW)
    received = smtp_server.messages[0]
    header = str(received["List-Unsubscribe"]).strip()  # folded after the name: legal, and read back with a space
    assert header.startswith("<http://127.0.0.1:5000/unsubscribe/") and "<mailto:unsubscribe@shop.example.com" in header
    assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert customer.external_id not in header
    link = header[1:header.index(">")]
    body = received.get_body(("html",)).get_content()
    assert 'lang="fa" dir="rtl"' in body and link in body and "لغو اشتراک" in body
    assert link in received.get_body(("plain",)).get_content()
    assert received["Subject"] == "خرید شما" and received["Content-Language"] == "fa"


def test_staff_notices_have_no_unsubscribe(smtp_app, smtp_server):
    person = staff(smtp_app, email="owner@example.com")
    queue_staff_email(db.session, person, kind="notice", subject="A case is overdue", text="Case 7", now=NOW,
                      ref="notice:7")
    db.session.commit()
    send_queued(db.session, NOW)
    assert smtp_server.messages[0]["To"] == "owner@example.com"
    assert smtp_server.messages[0]["List-Unsubscribe"] is None


def test_headers_cannot_smuggle_lines_or_replace_the_modules_own(app):
    customer = add_customer()
    for headers in ({"X-Tag": "a\r\nBcc: x@y.z"}, {"Bcc": "x@y.z"}, {"List-Unsubscribe": "<http://evil>"}):
        with pytest.raises(MailError):
            _queue(customer, ref="h:1", headers=headers)
    row = _queue(customer, ref="h:2", headers={"X-Survey": "12"}, subject="Two\r\nlines")
    assert row.headers["X-Survey"] == "12" and row.subject == "Two lines"


def test_two_callers_queueing_the_same_ref_at_once_store_one_email(app):
    from tests.factories import in_other_apps

    customer_id = add_customer().id

    def work(other):
        from retention.customers.models import Customer

        row = queue_email(db.session, db.session.get(Customer, customer_id), kind="test", subject="Once", text="x",
                          html=None, now=NOW, ref="race:1")
        db.session.commit()
        return row.id

    ids = in_other_apps(2, work)
    assert len(set(ids)) == 1
    assert db.session.scalar(select(func.count()).select_from(OutboundEmail)) == 1


def _tokens_out(value: str) -> str:
    import re

    return re.sub(r"/unsubscribe/[A-Za-z0-9_-]+", "/unsubscribe/TOKEN", value)


def test_queue_emails_gives_each_email_what_queue_email_gives_it_and_refuses_the_same(smtp_app, smtp_server, queue):
    from retention.mail.service import CustomerEmail, queue_emails

    smtp_app.config["MAIL_UNSUBSCRIBE_MAILTO"] = "unsubscribe@shop.example.com"
    english, arabic, persian = add_customer("en"), add_customer("ar"), add_customer("fa-IR", name="مریم رضایی")
    nobody, opted = add_customer(email=None), add_customer()
    optouts.opt_out(db.session, opted.id, "email", source="staff", now=NOW, actor="test")
    before = _queue(english, ref="batch:old")
    db.session.commit()
    queue.drain()  # sent
    html, text = render_email("message", "fa", subject="خرید شما", paragraphs=["سلام"])

    def email(customer, ref, **kwargs):
        values = dict(customer=customer, kind="test", subject="Your espresso machine", text="Hello", html="<p>Hi</p>",
                      ref=ref)
        return CustomerEmail(**{**values, **kwargs})

    results = queue_emails(db.session, [
        email(english, "batch:1", headers={"X-Survey": "1"}), email(arabic, "batch:2"),
        email(persian, "batch:3", subject="خرید شما", html=html, text=text), email(english, "batch:old"),
        email(arabic, "batch:2"), email(nobody, "batch:4"), email(opted, "batch:5"), email(english, "")], now=NOW)
    assert [type(r).__name__ for r in results] == ["OutboundEmail"] * 5 + ["MailError"] * 3
    assert results[3].id == before.id and results[4] is results[1]  # a ref queued before, or twice: one row
    assert [(r.field, r.reason) for r in results[5:]] == [("email", "no_email"), ("email", "opted_out"), ("ref", None)]
    # Each row is the one queue_email makes of the same email (but for its own unsubscribe token and Message-ID).
    for row, customer, kwargs in ((results[0], english, {"headers": {"X-Survey": "1"}}), (results[1], arabic, {}),
                                  (results[2], persian, {"subject": "خرید شما", "html": html, "text": text})):
        alone = _queue(customer, ref=f"alone:{row.ref}", **{"text": "Hello", "html": "<p>Hi</p>", **kwargs})
        assert row.id is not None and row.status == "queued" and row.unsubscribe_hash != alone.unsubscribe_hash
        for field in ("kind", "customer_id", "to_address", "locale", "subject", "next_attempt_at", "created_at"):
            assert getattr(row, field) == getattr(alone, field)
        assert _tokens_out(row.text) == _tokens_out(alone.text) and _tokens_out(row.html) == _tokens_out(alone.html)
        assert {k: _tokens_out(v) for k, v in row.headers.items()} == \
            {k: _tokens_out(v) for k, v in alone.headers.items()}
    assert "لغو اشتراک" in results[2].html and 'dir="rtl"' in results[2].html
    assert queue.drain() == 0 and len(smtp_server.messages) == 1  # no send job before the commit
    db.session.commit()
    queue.drain()  # the commit queued the send job
    sent = sorted(m["Subject"] for m in smtp_server.messages)
    assert len(sent) == 1 + 3 + 3 and sent.count("خرید شما") == 2  # before, the batch's three, the three alone
    assert db.session.scalar(select(func.count()).select_from(OutboundEmail)) == 7


def test_two_callers_queueing_overlapping_batches_at_once_store_each_email_once(app):
    from retention.customers.models import Customer
    from retention.mail.service import CustomerEmail, queue_emails
    from tests.factories import in_other_apps

    import itertools

    ids = [add_customer().id for _ in range(4)]
    starts = itertools.count()  # one caller queues refs 0-2, the other 1-3

    def work(other):
        first = next(starts)
        emails = [CustomerEmail(customer=db.session.get(Customer, ids[n]), kind="test", subject="Once", text="x",
                                html=None, ref=f"race:{n}") for n in range(first, first + 3)]
        rows = queue_emails(db.session, emails, now=NOW)
        db.session.commit()
        return {row.ref: row.id for row in rows}

    first, second = in_other_apps(2, work)
    assert {ref: first[ref] for ref in first if ref in second} == {ref: second[ref] for ref in second if ref in first}
    assert db.session.scalar(select(func.count()).select_from(OutboundEmail)) == 4
