"""The mail room's pages and API: only the actions a batch's state allows (others refused with 409), a single
letter reprinted from its row, returned mail with a reason that gives the owner a call to fix the address,
undone with its call cancelled, listed by reason and date; in Persian and Arabic with no English left over."""
from __future__ import annotations

import datetime as dt
import html
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from retention.audit.models import AuditEntry
from retention.customers.models import Customer
from retention.extensions import db
from retention.journeys.models import Touchpoint
from retention.postal import batches, service
from retention.postal.models import Letter, PrintBatch, ReturnedMail
from retention.staff.models import StaffUser
from tests.factories import customer, staff, token_for
from tests.letters.letterkit import open_pdf, page_text
from tests.postal.test_postal import (  # noqa: F401
    NOW, letter_world, persian_customer, us_customer, welcome_letter_for,
)


PAGE_NOW = NOW + dt.timedelta(hours=13)   # the pages' clock: the evening the letters were queued


def built_batch(app, **filters) -> PrintBatch:
    batch = batches.create_batch(db.session, filters=filters, duplex=False, actor="t", now=NOW)
    db.session.commit()
    return batches.build_batch(db.session, batch.id, out_dir=Path(app.config["PRINT_PATH"]),
                               company=service.company_from(app.config), today=NOW.date(), now=NOW)


def mailed_letters(app, client, signer, *people) -> tuple[PrintBatch, list[Letter]]:
    """Letters to these customers, in one batch, printed and mailed."""
    made = [welcome_letter_for(client, signer, cust, sale_id=f"S-{cust['id']}") for cust in people]
    batch = built_batch(app)
    batches.mark_printed(db.session, batch, NOW, actor="t")
    batches.mark_mailed(db.session, batch, NOW, actor="t")
    db.session.commit()
    return batch, made


@pytest.fixture
def post(app, auth, clock):
    """The mail room, signed in (English), on the day the letters were made."""
    clock.set(PAGE_NOW)
    user = staff(app, "post@example.com", "print", locale="en")
    auth.login("post@example.com")
    return user


def _actions(client, batch_id: int) -> set[str]:
    page = client.get(f"/letters/batches/{batch_id}").get_data(as_text=True)
    return set(re.findall(rf'action="/letters/batches/{batch_id}/(printed|mailed|rebuild)"', page))


def _audit_actions(since: int) -> list[str]:
    db.session.expire_all()
    return [e.action for e in db.session.scalars(select(AuditEntry).where(AuditEntry.id > since)
                                                  .order_by(AuditEntry.id))]


def _last_audit() -> int:
    return db.session.scalar(select(func.max(AuditEntry.id))) or 0


# --- Only the actions the state allows ----------------------------------------------------------------

def test_batch_page_offers_only_what_the_batch_state_allows(app, client, signer, letter_world, post):
    welcome_letter_for(client, signer, us_customer())
    batch = batches.create_batch(db.session, filters={}, duplex=False, actor="t", now=PAGE_NOW)
    db.session.commit()
    assert _actions(client, batch.id) == set()   # being laid out (and queued just now): nothing to press
    batch = built_batch_from(app, batch.id)
    assert _actions(client, batch.id) == {"printed", "rebuild"}
    page = client.get(f"/letters/batches/{batch.id}").get_data(as_text=True)
    assert "Ready to print" in page and "Waiting for a batch" not in page   # its letters are not "queued"
    assert 'data-confirm="Mark all 1 letter of this batch as printed? This cannot be undone."' in page
    batches.mark_printed(db.session, batch, NOW, actor="t")
    db.session.commit()
    assert _actions(client, batch.id) == {"mailed"}
    batches.mark_mailed(db.session, batch, NOW, actor="t")
    db.session.commit()
    assert _actions(client, batch.id) == set()


def built_batch_from(app, batch_id: int) -> PrintBatch:
    return batches.build_batch(db.session, batch_id, out_dir=Path(app.config["PRINT_PATH"]),
                               company=service.company_from(app.config), today=NOW.date(), now=NOW)


def test_forced_actions_are_refused_with_409_and_change_nothing(app, client, signer, letter_world, post, auth):
    welcome_letter_for(client, signer, us_customer())
    batch = built_batch(app)
    headers = {"Authorization": f"Bearer {token_for(app, post)}"}
    csrf = auth.csrf(f"/letters/batches/{batch.id}")
    seen = _last_audit()
    page = client.post(f"/letters/batches/{batch.id}/mailed", data={"csrf_token": csrf})
    assert page.status_code == 409
    assert "only a printed batch can be marked mailed; this one is Ready to print" in page.get_data(as_text=True)
    api = client.post(f"/api/v1/print-batches/{batch.id}/mailed", headers=headers)
    assert api.status_code == 409 and "only a printed batch can be marked mailed" in api.get_json()["message"]
    assert client.get(f"/api/v1/print-batches/{batch.id}", headers=headers).get_json()["actions"] == [
        "printed", "rebuild"]
    batches.mark_printed(db.session, batch, NOW, actor="t")
    db.session.commit()
    seen = _last_audit()
    for action in ("printed", "rebuild"):
        assert client.post(f"/letters/batches/{batch.id}/{action}", data={"csrf_token": csrf}).status_code == 409
        assert client.post(f"/api/v1/print-batches/{batch.id}/{action}", headers=headers).status_code == 409
    rebuilt = client.post(f"/api/v1/print-batches/{batch.id}/rebuild", headers=headers).get_json()["message"]
    assert "reprint single letters from their rows" in rebuilt
    db.session.expire_all()
    assert db.session.get(PrintBatch, batch.id).status == "printed" and _audit_actions(seen) == []


def test_a_build_nothing_is_doing_may_be_started_again(app, client, signer, letter_world):
    welcome_letter_for(client, signer, us_customer())
    batch = batches.create_batch(db.session, filters={}, duplex=False, actor="t", now=NOW)
    db.session.commit()
    assert batches.batch_actions(batch, NOW + dt.timedelta(minutes=5)) == []
    with pytest.raises(service.LetterConflict, match="still being laid out"):
        batches.request_rebuild(db.session, batch, actor="t", now=NOW + dt.timedelta(minutes=5))
    later = NOW + batches.BUILD_STALLED_AFTER
    assert batches.batch_actions(batch, later) == ["rebuild"]
    batches.request_rebuild(db.session, batch, actor="t", now=later)
    assert batch.build_requested_at == later and batches.batch_actions(batch, later) == []
    batch.build_requested_at = None     # the queue could not be reached: nothing will build it
    assert batches.batch_actions(batch, later) == ["rebuild"]


# --- A letter cancelled after its batch was laid out: pull its sheet --------------------------------------

def _pull_notice(client, batch_id: int) -> str | None:
    page = client.get(f"/letters/batches/{batch_id}").get_data(as_text=True)
    found = re.search(r'<section class="card pull-sheets" id="pull-sheets" role="alert">(.*?)</section>', page, re.S)
    return html.unescape(re.sub(r"<[^>]+>", "", found.group(1))) if found else None


def test_a_letter_cancelled_after_the_layout_is_to_be_pulled_before_posting(app, client, signer, letter_world, post,
                                                                          auth):
    from retention.mail import optouts

    kept = welcome_letter_for(client, signer, us_customer("C2"), sale_id="S2")
    pulled = welcome_letter_for(client, signer, us_customer("C3"), sale_id="S3")
    batch = built_batch(app)
    db.session.expire_all()
    pulled = db.session.get(Letter, pulled.id)
    first, count = pulled.first_page, pulled.page_count
    assert first is not None and _pull_notice(client, batch.id) is None   # nothing cancelled: no notice
    optouts.opt_out(db.session, pulled.customer_id, "letter", source="staff", now=NOW, actor="t")  # printed already
    db.session.commit()
    notice = " ".join(_pull_notice(client, batch.id).split())
    assert "Pull 1 letter before posting" in notice and "do not post it" in notice
    pages = f"Page {first}" if count == 1 else f"Pages {first} to {first + count - 1}"
    assert f"{pages}: L-{pulled.id:06d}, Olivia Smith" in notice
    page = client.get(f"/letters/batches/{batch.id}").get_data(as_text=True)
    row = re.search(rf'<tr id="letter-{pulled.id}">.*?</tr>', page, re.S).group(0)
    assert "Not sent: the customer opted out of letters" in row and "Pull from the stack before posting" in row
    assert "Pull from the stack" not in re.search(rf'<tr id="letter-{kept.id}">.*?</tr>', page, re.S).group(0)
    batches.mark_printed(db.session, batch, NOW, actor="t")   # the stack is printed: the notice stays until posted
    db.session.commit()
    assert "Pull 1 letter before posting" in " ".join(_pull_notice(client, batch.id).split())
    # in the reader's language
    staff(app, "post-ar@example.com", "print", locale="ar")
    auth.login("post-ar@example.com")
    arabic = _pull_notice(client, batch.id)
    assert arabic and "Pull" not in arabic and "Page" not in arabic and f"L-{pulled.id:06d}" in arabic
    batches.mark_mailed(db.session, batch, NOW, actor="t")
    db.session.commit()
    assert _pull_notice(client, batch.id) is None   # posted: nothing left to pull


def test_a_batch_laid_out_again_has_no_sheet_of_a_cancelled_letter(app, client, signer, letter_world, post):
    from retention.mail import optouts

    welcome_letter_for(client, signer, us_customer("C2"), sale_id="S2")
    cancelled = welcome_letter_for(client, signer, us_customer("C3"), sale_id="S3")
    batch = built_batch(app)
    optouts.opt_out(db.session, cancelled.customer_id, "letter", source="staff", now=NOW, actor="t")
    db.session.commit()
    assert _pull_notice(client, batch.id) is not None
    batches.request_rebuild(db.session, batch, actor="t", now=NOW)
    db.session.commit()
    batch = built_batch_from(app, batch.id)   # the new PDF leaves the cancelled letter out
    assert batch.total == 1 and _pull_notice(client, batch.id) is None
    db.session.expire_all()
    assert db.session.get(Letter, cancelled.id).first_page is None


def test_a_letter_printed_in_a_batch_not_mailed_yet_is_pulled_when_its_customer_opts_out(app, client, signer,
                                                                                         letter_world, post, auth):
    from retention.mail import optouts

    posted_before = welcome_letter_for(client, signer, us_customer("C1"), sale_id="S1")
    earlier = built_batch(app)
    batches.mark_printed(db.session, earlier, NOW, actor="t")
    batches.mark_mailed(db.session, earlier, NOW, actor="t")   # posted last week: history
    db.session.commit()
    kept = welcome_letter_for(client, signer, us_customer("C2"), sale_id="S2")
    pulled = welcome_letter_for(client, signer, us_customer("C3"), sale_id="S3")
    same_customer = Letter(customer_id=posted_before.customer_id, sale_id=posted_before.sale_id,  # another to them
                           template_key="welcome", language="en", status="queued", created_at=NOW)
    db.session.add(same_customer)
    db.session.commit()
    batch = built_batch(app)
    batches.mark_printed(db.session, batch, NOW, actor="t")   # the sheets are printed and in the stack
    db.session.commit()
    assert _pull_notice(client, batch.id) is None
    for cid in (pulled.customer_id, posted_before.customer_id):
        optouts.opt_out(db.session, cid, "letter", source="staff", now=NOW, actor="t")
    db.session.commit()
    db.session.expire_all()
    letters = {name: db.session.get(Letter, x.id) for name, x in
               (("posted_before", posted_before), ("kept", kept), ("pulled", pulled), ("same", same_customer))}
    assert {name: l.status for name, l in letters.items()} == {
        "posted_before": "mailed", "kept": "printed", "pulled": "cancelled", "same": "cancelled"}
    notice = " ".join(_pull_notice(client, batch.id).split())
    assert "Pull 2 letters before posting" in notice and "opted out of letters" in notice
    for letter in (letters["pulled"], letters["same"]):
        first, count = letter.first_page, letter.page_count
        pages = f"Page {first}" if count == 1 else f"Pages {first} to {first + count - 1}"
        assert f"{pages}: L-{letter.id:06d}" in notice
    page = client.get(f"/letters/batches/{batch.id}").get_data(as_text=True)
    row = re.search(rf'<tr id="letter-{pulled.id}">.*?</tr>', page, re.S).group(0)
    assert "Not sent: the customer opted out of letters" in row and "Pull from the stack before posting" in row
    assert ">Reprint<" not in row   # its sheet is pulled, not printed again
    assert 'data-confirm="Mark 1 letter as handed to the post? This cannot be undone."' in page
    # marked mailed: only the letter still printed goes to the post; the pulled ones stay not sent
    csrf = auth.csrf(f"/letters/batches/{batch.id}")
    done = client.post(f"/letters/batches/{batch.id}/mailed", data={"csrf_token": csrf}, follow_redirects=True)
    assert f"Batch {batch.id} marked mailed (1 letters)." in html.unescape(done.get_data(as_text=True))
    db.session.expire_all()
    assert [(db.session.get(Letter, x.id).status, db.session.get(Letter, x.id).mailed_at is None)
            for x in (kept, pulled, same_customer)] == [("mailed", False), ("cancelled", True), ("cancelled", True)]
    assert db.session.get(Letter, posted_before.id).status == "mailed"   # history is left as it was
    assert _pull_notice(client, batch.id) is None


def _manifest(response) -> list[list[str]]:
    import csv
    import io

    assert response.status_code == 200
    raw = response.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")   # UTF-8 with a BOM, as the file on disk
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


def test_the_manifest_marks_the_sheets_to_pull_and_why(app, client, signer, letter_world, post, auth):
    from retention.mail import optouts

    kept = welcome_letter_for(client, signer, us_customer("C2"), sale_id="S2")
    pulled = welcome_letter_for(client, signer, us_customer("C3"), sale_id="S3")
    batch = built_batch(app)
    batches.mark_printed(db.session, batch, NOW, actor="t")
    optouts.opt_out(db.session, pulled.customer_id, "letter", source="staff", now=NOW, actor="t")
    db.session.commit()

    header, *lines = _manifest(client.get(f"/letters/batches/{batch.id}/manifest"))
    assert header == ["Reference", "Customer id", "Name", "Template", "Language", "Paper", "Sheets",
                      "Address as printed", "Country", "Postal code", "First page", "Number of pages",
                      "Pull before posting"]
    by_ref = {line[0]: line for line in lines}
    assert len(lines) == 2 and by_ref[f"L-{kept.id:06d}"][-1] == ""
    assert by_ref[f"L-{pulled.id:06d}"][-1] == "Pull, do not post: the customer opted out of letters"
    assert by_ref[f"L-{pulled.id:06d}"][2] == "Olivia Smith"   # the rest of the line as laid out

    staff(app, "post-fa@example.com", "print", locale="fa")   # in the reader's language
    auth.login("post-fa@example.com")
    header, *lines = _manifest(client.get(f"/letters/batches/{batch.id}/manifest"))
    pull = {line[0]: line[-1] for line in lines}[f"L-{pulled.id:06d}"]
    assert header[-1] and not re.search("[A-Za-z]", header[-1] + "".join(header[:5]) + pull)
    assert "نامه" in pull

    headers = {"Authorization": f"Bearer {token_for(app, post)}"}   # the API keeps the keys
    header, *lines = _manifest(client.get(f"/api/v1/print-batches/{batch.id}/manifest", headers=headers))
    assert header == [*batches.MANIFEST_COLUMNS, "pull"]
    assert {line[0]: line[-1] for line in lines} == {f"L-{kept.id:06d}": "", f"L-{pulled.id:06d}": "opted_out"}


# --- Reprint one letter -------------------------------------------------------------------------------

def test_reprint_one_letter_from_its_row(app, client, signer, letter_world, post, auth):
    letter = welcome_letter_for(client, signer, us_customer())
    waiting = welcome_letter_for(client, signer, persian_customer("C9"), sale_id="S9")
    batch = built_batch(app, country="US")
    batches.mark_printed(db.session, batch, NOW, actor="t")
    db.session.commit()
    page = client.get(f"/letters/batches/{batch.id}").get_data(as_text=True)
    assert f'action="/letters/{letter.id}/reprint"' in page
    csrf = auth.csrf(f"/letters/batches/{batch.id}")
    headers = {"Authorization": f"Bearer {token_for(app, post)}"}
    seen = _last_audit()
    answer = client.post(f"/letters/{letter.id}/reprint", data={"csrf_token": csrf})
    assert answer.status_code == 200 and answer.mimetype == "application/pdf"
    assert "attachment" in answer.headers["Content-Disposition"]
    with open_pdf(answer.data) as pdf:
        assert len(pdf.pages) == 1 and "Olivia Smith" in page_text(pdf.pages[0])
    assert _audit_actions(seen) == ["letter.reprinted"]
    db.session.expire_all()
    again = db.session.get(Letter, letter.id)
    assert (again.status, again.batch_id, again.reprint_count) == ("printed", batch.id, 1)  # it stays in its batch
    assert "reprinted once" in client.get(f"/letters/batches/{batch.id}").get_data(as_text=True)
    # a letter not laid out in a batch yet prints with its batch: refused, on both doors
    seen = _last_audit()
    assert client.post(f"/letters/{waiting.id}/reprint", data={"csrf_token": csrf}).status_code == 409
    refused = client.post(f"/api/v1/letters/{waiting.id}/reprint", headers=headers)
    assert refused.status_code == 409 and "not in a laid-out batch" in refused.get_json()["message"]
    assert client.post(f"/api/v1/letters/{letter.id}/reprint", headers=headers).mimetype == "application/pdf"
    assert _audit_actions(seen) == ["letter.reprinted"]
    # on the customer's timeline
    staff(app, "sara@example.com", "onboarding")
    auth.login("sara@example.com")
    assert "Letter “Welcome” reprinted" in client.get("/customers/C2").get_data(as_text=True)


# --- Returned mail ------------------------------------------------------------------------------------

def test_returned_mail_takes_a_reason_and_gives_the_owner_a_call(app, client, signer, letter_world, post, auth):
    batch, (letter,) = mailed_letters(app, client, signer, us_customer())
    owner = db.session.scalar(select(StaffUser).where(StaffUser.email == "omar@example.com"))
    assert letter.customer.owner_id == owner.id
    form = client.get(f"/letters/{letter.id}/return").get_data(as_text=True)
    for label in ("Moved away", "Unknown address", "Refused by the recipient", "Incomplete address", "Other reason"):
        assert label in form
    csrf = auth.csrf(f"/letters/{letter.id}/return")
    # no reason, or "other" without a note: refused, naming the field, keeping what was typed; nothing changes
    missing = client.post(f"/letters/{letter.id}/returned", data={"csrf_token": csrf, "note": "door was shut"})
    assert missing.status_code == 422 and "reason: choose why the letter came back" in missing.get_data(as_text=True)
    assert "door was shut" in missing.get_data(as_text=True)
    other = client.post(f"/letters/{letter.id}/returned", data={"csrf_token": csrf, "reason": "other"})
    assert other.status_code == 422 and "note: say why" in html.unescape(other.get_data(as_text=True))
    db.session.expire_all()
    assert db.session.get(Letter, letter.id).status == "mailed" and db.session.scalar(select(ReturnedMail.id)) is None
    answer = client.post(f"/letters/{letter.id}/returned", data={
        "csrf_token": csrf, "reason": "moved", "note": "Neighbour says they moved to Boston"},
        headers={"Referer": f"http://localhost/letters/batches/{batch.id}"})
    assert answer.status_code == 302 and answer.headers["Location"].endswith(f"/letters/batches/{batch.id}")
    db.session.expire_all()
    returned = db.session.scalar(select(ReturnedMail))
    assert (returned.reason, returned.note, returned.previous_status) == (
        "moved", "Neighbour says they moved to Boston", "mailed")
    call = db.session.get(Touchpoint, returned.call_id)
    assert (call.purpose, call.status, call.owner_id, call.customer_id) == ("fix_address", "open", owner.id,
                                                                          letter.customer_id)
    assert f"L-{letter.id:06d}" in call.note and "Moved away" in call.note and "moved to Boston" in call.note
    assert db.session.get(Customer, letter.customer_id).address_flagged_at is not None
    # the second time it is refused: the letter is already back
    again = client.post(f"/letters/{letter.id}/returned", data={"csrf_token": csrf, "reason": "moved"})
    assert again.status_code == 409


def test_the_reference_on_a_returned_envelope_opens_its_form(app, client, signer, letter_world, post):
    _batch, (letter,) = mailed_letters(app, client, signer, us_customer())
    persian_digits = str(letter.id).translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    for typed in (f"L-{letter.id:06d}", f"l-{letter.id:06d}", str(letter.id), persian_digits):
        answer = client.get("/letters/find", query_string={"ref": typed})
        assert answer.status_code == 302 and answer.headers["Location"].endswith(f"/letters/{letter.id}/return"), typed
    for typed in ("L-999999", "hello", ""):
        answer = client.get("/letters/find", query_string={"ref": typed}, follow_redirects=True)
        assert answer.request.path == "/letters/returned" and "reference:" in answer.get_data(as_text=True), typed


def test_a_return_is_kept_when_nobody_makes_calls_yet(app, client, signer, letter_world, post, auth):
    _batch, (letter,) = mailed_letters(app, client, signer, us_customer())
    omar = db.session.scalar(select(StaffUser).where(StaffUser.email == "omar@example.com"))
    omar.active = False
    db.session.commit()
    answer = client.post(f"/letters/{letter.id}/returned", data={"csrf_token": auth.csrf("/letters/returned"),
                                                                 "reason": "refused"}, follow_redirects=True)
    assert answer.status_code == 200 and "nobody makes calls yet, so no call was opened" in answer.get_data(
        as_text=True)
    db.session.expire_all()
    returned = db.session.scalar(select(ReturnedMail))
    assert returned.call_id is None and db.session.get(Letter, letter.id).status == "returned"
    assert db.session.get(Customer, letter.customer_id).address_flagged_at is not None
    assert db.session.scalar(select(func.count()).select_from(Touchpoint).where(
        Touchpoint.purpose == "fix_address")) == 0


def test_the_owners_call_note_is_in_the_owners_language(app, client, signer, letter_world):
    omar = db.session.scalar(select(StaffUser).where(StaffUser.email == "omar@example.com"))
    omar.locale = "fa"
    db.session.commit()
    _batch, (letter,) = mailed_letters(app, client, signer, persian_customer())
    with app.test_request_context():
        returned = batches.record_returned(db.session, letter, NOW, actor="t", reason="unknown_address")
        db.session.commit()
    note = db.session.get(Touchpoint, returned.call_id).note
    assert "نشانی ناشناخته" in note and f"L-{letter.id:06d}" in note


def test_undoing_a_return_cancels_the_open_call_and_restores_the_letter(app, client, signer, letter_world, post,
                                                                        auth):
    batch, (first, second) = mailed_letters(app, client, signer, us_customer(), us_customer("C3"))
    csrf = auth.csrf("/letters/returned")
    for letter in (first, second):
        assert client.post(f"/letters/{letter.id}/returned", data={"csrf_token": csrf, "reason": "refused"}
                           ).status_code == 302
    db.session.expire_all()
    calls = {r.letter_id: r.call_id for r in db.session.scalars(select(ReturnedMail))}
    # the second call was worked already: it stays as it is
    worked = db.session.get(Touchpoint, calls[second.id])
    worked.status = "done"
    db.session.commit()
    listed = client.get("/letters/returned").get_data(as_text=True)
    assert f'action="/letters/{first.id}/undo-return"' in listed and "data-confirm" in listed
    seen = _last_audit()
    for letter in (first, second):
        assert client.post(f"/letters/{letter.id}/undo-return", data={"csrf_token": csrf}).status_code == 302
    assert _audit_actions(seen) == ["call.cancelled", "letter.return_undone", "letter.return_undone"]
    db.session.expire_all()
    assert db.session.get(Touchpoint, calls[first.id]).status == "skipped"
    assert db.session.get(Touchpoint, calls[second.id]).status == "done"
    assert {db.session.get(Letter, i).status for i in (first.id, second.id)} == {"mailed"}
    assert db.session.get(Customer, first.customer_id).address_flagged_at is None
    assert "No returned mail matches." in client.get("/letters/returned").get_data(as_text=True)
    # nothing to undo now: 409 on both doors
    assert client.post(f"/letters/{first.id}/undo-return", data={"csrf_token": csrf}).status_code == 409
    headers = {"Authorization": f"Bearer {token_for(app, post)}"}
    assert client.post(f"/api/v1/letters/{first.id}/undo-return", headers=headers).status_code == 409


def test_returned_mail_list_filters_by_reason_and_date_and_pages(app, client, signer, letter_world, post,
                                                                 monkeypatch):
    people = [us_customer(f"R{i}") for i in range(5)]
    _batch, made = mailed_letters(app, client, signer, *people)
    reasons = ["moved", "moved", "refused", "unknown_address", "moved"]
    with app.test_request_context():
        for i, (letter, reason) in enumerate(zip(made, reasons)):
            batches.record_returned(db.session, letter, NOW + dt.timedelta(days=i), actor="t", reason=reason)
        db.session.commit()

    def refs(query: str) -> list[str]:
        page = client.get(f"/letters/returned{query}")
        assert page.status_code == 200
        return re.findall(r"L-(\d{6})</bdi></a>", page.get_data(as_text=True))

    ref = {i: f"{letter.id:06d}" for i, letter in enumerate(made)}
    assert refs("") == [ref[4], ref[3], ref[2], ref[1], ref[0]]     # newest first
    assert refs("?reason=moved") == [ref[4], ref[1], ref[0]]
    day = lambda n: (NOW + dt.timedelta(days=n)).date().isoformat()  # noqa: E731
    assert refs(f"?since={day(1)}&until={day(2)}") == [ref[2], ref[1]]   # "until" takes in the whole day
    assert refs(f"?reason=moved&since={day(1)}") == [ref[4], ref[1]]
    monkeypatch.setattr(batches, "RETURNS_PER_PAGE", 2)
    assert refs("?page=2") == [ref[2], ref[1]] and refs("?page=3") == [ref[0]]
    bad = client.get("/letters/returned?since=2026-02-31")
    assert bad.status_code == 400 and "since: not a date" in bad.get_data(as_text=True)
    assert client.get("/letters/returned?page=0").status_code == 400
    headers = {"Authorization": f"Bearer {token_for(app, post)}"}
    api = client.get("/api/v1/letters/returned?reason=moved&limit=2", headers=headers)
    assert api.status_code == 200 and [r["letter_id"] for r in api.get_json()] == [made[4].id, made[1].id]
    assert client.get("/api/v1/letters/returned?reason=lost", headers=headers).status_code == 422


def test_api_returns_take_a_reason_and_undo(app, client, signer, letter_world, post):
    _batch, (letter,) = mailed_letters(app, client, signer, us_customer())
    headers = {"Authorization": f"Bearer {token_for(app, post)}"}
    url = f"/api/v1/letters/{letter.id}/returned"
    assert client.post(url, json={}, headers=headers).status_code == 422
    assert client.post(url, json={"reason": "lost"}, headers=headers).status_code == 422
    other = client.post(url, json={"reason": "other"}, headers=headers)
    assert other.status_code == 422 and "note" in other.get_json()["message"]
    made = client.post(url, json={"reason": "incomplete_address", "note": "no flat number"}, headers=headers)
    assert made.status_code == 201
    body = made.get_json()
    assert body["reason"] == "incomplete_address" and body["call_id"] and body["undone_at"] is None
    shown = client.get("/api/v1/letters/?status=returned", headers=headers).get_json()
    assert shown[0]["stage"] == "returned" and shown[0]["actions"] == ["undo_return"]
    assert client.post(url, json={"reason": "moved"}, headers=headers).status_code == 409
    undone = client.post(f"/api/v1/letters/{letter.id}/undo-return", headers=headers)
    assert undone.status_code == 200 and undone.get_json()["undone_at"]


# --- Names, not keys; the viewer's language -----------------------------------------------------------

def test_mail_room_shows_names_and_a_country_select(app, client, signer, letter_world, post):
    welcome_letter_for(client, signer, us_customer())
    welcome_letter_for(client, signer, persian_customer("C7"), sale_id="S7")
    page = client.get("/letters/").get_data(as_text=True)
    assert '<select name="country" id="bf-country">' in page and 'name="country" size' not in page
    assert '<option value="IR" >Iran (1 letter)</option>' in page
    assert "United States" in page and ">welcome<" not in page and "Welcome" in page
    fa = client.get("/letters/?lang=fa").get_data(as_text=True)
    assert "ایران" in fa and "ایالات متحده" in fa


def test_a_batch_built_from_the_page_with_a_country_from_the_select(app, client, signer, letter_world, post, auth,
                                                                    queue):
    welcome_letter_for(client, signer, us_customer())
    welcome_letter_for(client, signer, persian_customer("C7"), sale_id="S7")
    csrf = auth.csrf("/letters/")
    answer = client.post("/letters/batches", data={"csrf_token": csrf, "country": "IR"})
    assert answer.status_code == 302
    queue.drain()
    db.session.expire_all()
    batch = db.session.scalar(select(PrintBatch))
    assert batch.total == 1 and batch.filters == {"country": "IR"}
    # nothing left for a country: said so, and the choice is kept in the form
    again = client.post("/letters/batches", data={"csrf_token": csrf, "country": "IR"}, follow_redirects=True)
    text = again.get_data(as_text=True)
    assert "filters: no queued letter matches" in text


# Words a page in Persian or Arabic may hold in Latin letters: codes (envelope sizes), file kinds, the product name.
ALLOWED_LATIN = {"PDF", "DL", "Retention", "L", "csrf_token"}


def _visible_text(page: str) -> str:
    body = page.split("<main>", 1)[1].rsplit("</main>", 1)[0]
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S)
    body = re.sub(r"<bdi[^>]*>.*?</bdi>", " ", body, flags=re.S)   # names, references, codes: data
    attributes = " ".join(re.findall(r'(?:data-confirm|data-label|placeholder|title|aria-label)="([^"]*)"', body))
    text = re.sub(r"<[^>]+>", " ", body)
    return html.unescape(text + " " + attributes)


@pytest.mark.parametrize("language", ["fa", "ar"])
def test_persian_and_arabic_mail_room_pages_have_no_english_left(app, client, signer, letter_world, auth, clock,
                                                                 language):
    clock.set(NOW + dt.timedelta(hours=13))
    staff(app, f"post-{language}@example.com", "print", locale=language,
          timezone={"fa": "Asia/Tehran", "ar": "Asia/Riyadh"}[language])
    auth.login(f"post-{language}@example.com")
    batch, (letter, other) = mailed_letters(app, client, signer, us_customer(), persian_customer("C8"))
    with app.test_request_context():
        batches.record_returned(db.session, other, NOW, actor="t", reason="moved")
        db.session.commit()
    welcome_letter_for(client, signer, us_customer("C9"), sale_id="S9")    # one waiting for a batch
    pages = ["/letters/", f"/letters/batches/{batch.id}", f"/letters/{letter.id}/return",
             f"/letters/{other.id}/return", "/letters/returned", "/letters/returned?since=nope"]
    for url in pages:
        answer = client.get(url)
        assert answer.status_code in (200, 400), url
        words = set(re.findall(r"[A-Za-z]{2,}", _visible_text(answer.get_data(as_text=True))))
        assert words <= ALLOWED_LATIN, (url, words - ALLOWED_LATIN)
