"""A batch's PDF or manifest gone from disk (the disk cleaned, the app moved to another machine): the download says
which file is gone and what to do, in the reader's language, on the page and in the API; never an error page, and
nothing about the batch changes."""
from __future__ import annotations

import html
import re
from pathlib import Path

from sqlalchemy import func, select

from retention.audit.models import AuditEntry
from retention.extensions import db
from retention.postal import batches, service
from retention.postal.models import PrintBatch
from tests.factories import staff, token_for
from tests.postal.test_mail_room import PAGE_NOW, built_batch, post  # noqa: F401
from tests.postal.test_postal import NOW, letter_world, us_customer, welcome_letter_for  # noqa: F401

GONE = {
    ("pdf", "ready"): "pdf: the PDF of this batch is no longer on disk; lay the batch out again",
    ("manifest", "ready"): "manifest: the manifest of this batch is no longer on disk; lay the batch out again",
    ("pdf", "printed"): "pdf: the PDF of this batch is no longer on disk; the batch has been printed, so it is not "
                        "laid out again: reprint a spoiled sheet from its letter's row",
    ("manifest", "printed"): "manifest: the manifest of this batch is no longer on disk; the batch has been printed, "
                             "so it is not laid out again: its letters are listed on the batch's page",
}


def _state(batch_id: int) -> tuple:
    db.session.expire_all()
    b = db.session.get(PrintBatch, batch_id)
    return (b.status, b.pdf_path, b.manifest_path, b.done, b.pages,
            db.session.scalar(select(func.count()).select_from(AuditEntry)))


def _alert(page: str) -> str:
    found = re.search(r'<div class="error" role="alert" id="action-error">(.*?)</div>', page, re.S)
    return html.unescape(found.group(1)) if found else ""


def test_a_ready_batch_whose_files_are_gone_says_so_and_offers_to_lay_it_out_again(
        app, client, signer, letter_world, post):
    welcome_letter_for(client, signer, us_customer())
    batch = built_batch(app)
    headers = {"Authorization": f"Bearer {token_for(app, post)}"}
    for kind, path in (("pdf", batch.pdf_path), ("manifest", batch.manifest_path)):
        Path(path).unlink()
        before = _state(batch.id)
        page = client.get(f"/letters/batches/{batch.id}/{kind}")
        assert page.status_code == 409 and page.mimetype == "text/html"
        text = page.get_data(as_text=True)
        assert _alert(text) == GONE[kind, "ready"]
        assert 'id="action-rebuild"' in text and "Lay out the whole batch again" in text   # the way out, offered
        api = client.get(f"/api/v1/print-batches/{batch.id}/{kind}", headers=headers)
        assert api.status_code == 409 and api.get_json()["message"] == GONE[kind, "ready"]
        assert _state(batch.id) == before   # nothing changed
    # laid out again: both files are back and download
    batches.request_rebuild(db.session, db.session.get(PrintBatch, batch.id), actor="t", now=NOW)
    db.session.commit()
    batches.build_batch(db.session, batch.id, out_dir=Path(app.config["PRINT_PATH"]),
                        company=service.company_from(app.config), today=NOW.date(), now=NOW)
    pdf = client.get(f"/letters/batches/{batch.id}/pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert client.get(f"/letters/batches/{batch.id}/manifest").status_code == 200


def test_a_printed_batch_whose_files_are_gone_says_what_to_do_without_them(app, client, signer, letter_world, post):
    letter = welcome_letter_for(client, signer, us_customer())
    batch = built_batch(app)
    batches.mark_printed(db.session, batch, NOW, actor="t")
    db.session.commit()
    Path(batch.pdf_path).unlink()
    Path(batch.manifest_path).unlink()
    headers = {"Authorization": f"Bearer {token_for(app, post)}"}
    before = _state(batch.id)
    for kind in ("pdf", "manifest"):
        page = client.get(f"/letters/batches/{batch.id}/{kind}")
        assert page.status_code == 409
        text = page.get_data(as_text=True)
        assert _alert(text) == GONE[kind, "printed"]
        assert f'action="/letters/{letter.id}/reprint"' in text and 'id="action-rebuild"' not in text
        api = client.get(f"/api/v1/print-batches/{batch.id}/{kind}", headers=headers)
        assert api.status_code == 409 and api.get_json()["message"] == GONE[kind, "printed"]
    assert _state(batch.id) == before


def test_the_file_gone_is_said_in_the_readers_language(app, client, signer, letter_world, auth, clock):
    welcome_letter_for(client, signer, us_customer())
    batch = built_batch(app)
    Path(batch.pdf_path).unlink()
    Path(batch.manifest_path).unlink()
    clock.set(PAGE_NOW)
    staff(app, "post-fa@example.com", "print", locale="fa", timezone="Asia/Tehran")
    auth.login("post-fa@example.com")
    page = client.get(f"/letters/batches/{batch.id}/pdf")
    text = page.get_data(as_text=True)
    assert page.status_code == 409 and 'dir="rtl"' in text
    assert _alert(text) == "PDF: فایل PDF این دسته دیگر روی دیسک نیست؛ دسته را دوباره صفحه‌آرایی کنید"
    page = client.get(f"/letters/batches/{batch.id}/manifest")
    assert page.status_code == 409
    assert _alert(page.get_data(as_text=True)) == ("فهرست ارسال: فهرست ارسال این دسته دیگر روی دیسک نیست؛ "
                                                   "دسته را دوباره صفحه‌آرایی کنید")
