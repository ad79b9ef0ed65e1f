"""Print batches: one bad letter is taken out with its reason and the rest print; the manifest is safe to
open in a spreadsheet; batch filters and returned mail refuse bad input with a 4xx naming the field."""
from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

import letters.batch
from retention.customers.models import Customer
from retention.extensions import db
from retention.postal import batches, service
from retention.postal.models import Letter, LetterTemplate, PrintBatch
from tests.factories import customer, staff, token_for
from tests.letters.letterkit import open_pdf, page_text
from tests.postal.test_postal import (  # noqa: F401
    NOW, letter_world, persian_customer, us_customer, welcome_letter_for,
)


def _set_body(key: str, language: str, body: str, qr_url: str = "") -> None:
    """Change a stored template in place, as one saved before today's checks would be."""
    stored = db.session.scalar(select(LetterTemplate).where(LetterTemplate.key == key, LetterTemplate.language == language,
                                                            LetterTemplate.is_current.is_(True)))
    stored.body, stored.qr_url = body, qr_url
    db.session.commit()


def _build(app, **filters):
    batch = batches.create_batch(db.session, filters=filters, duplex=False, actor="t", now=NOW)
    db.session.commit()
    return batches.build_batch(db.session, batch.id, out_dir=Path(app.config["PRINT_PATH"]),
                               company=service.company_from(app.config), today=NOW.date(), now=NOW)


# Each makes the Persian letter fail in its own way; the English letter must print all the same.
BAD_PERSIAN = [
    ("{{ 100 // (customer.name|length - customer.name|length) }}", "", "division by zero"),
    ("{{ 10 ** 400 / 3 }}", "", "too large"),
    ("{{ 2.0 ** 5000 }}", "", "too large"),
    ("سلام", "https://shop.example/r/{{ customer.id }}/{{ 'x' * 2990 }}", "QR code"),
    ("{% for i in range(3000) %}{{ customer.first_name }}\n\n{% endfor %}", "", "pages"),
    ("{{ 'x' * 10**9 }}", "", "longer than 100,000 characters"),
    ("{{ customer.address_lines }}", "", "customer.address_lines does not exist"),
]


@pytest.mark.parametrize("body,qr_url,reason", BAD_PERSIAN)
def test_one_bad_letter_is_taken_out_and_the_rest_print(app, client, signer, letter_world, body, qr_url, reason):
    good = welcome_letter_for(client, signer, us_customer("C5"), sale_id="S5")
    bad = welcome_letter_for(client, signer, persian_customer("C6"), sale_id="S6")
    _set_body("welcome", "fa", body, qr_url)
    built = _build(app)
    assert built.status == "ready" and built.done == 1 and built.skipped == 1 and built.pages == 1
    db.session.expire_all()
    taken_out = db.session.get(Letter, bad.id)
    assert taken_out.batch_id is None and taken_out.status == "queued" and reason in taken_out.error
    printed = db.session.get(Letter, good.id)
    assert printed.batch_id == built.id and printed.first_page == 1 and printed.page_count == 1
    with open_pdf(built.pdf_path) as pdf:
        assert len(pdf.pages) == 1 and "Olivia Smith" in page_text(pdf.pages[0])
    rows = list(csv.DictReader(open(built.manifest_path, encoding="utf-8-sig")))
    assert [r["customer"] for r in rows] == ["C5"]


def test_a_letter_that_fails_while_being_drawn_is_taken_out(app, client, signer, letter_world, monkeypatch):
    # Nothing a template can do makes drawing fail (layout checks it all first), so the failure is made here:
    # drawing the Persian letter breaks half-way, after its first page is on the canvas.
    welcome_letter_for(client, signer, us_customer("C5"), sale_id="S5")
    bad = welcome_letter_for(client, signer, persian_customer("C6"), sale_id="S6")
    welcome_letter_for(client, signer, us_customer("C7"), sale_id="S7")
    real_draw = letters.batch.draw

    def draw(canvas, composed):
        if composed.reference == f"L-{bad.id:06d}":
            canvas.drawString(100, 100, "half a letter")
            canvas.showPage()
            raise RuntimeError("the printer font broke")
        return real_draw(canvas, composed)

    monkeypatch.setattr(letters.batch, "draw", draw)
    built = _build(app)
    assert built.status == "ready" and built.done == 2 and built.skipped == 1
    db.session.expire_all()
    assert "the printer font broke" in db.session.get(Letter, bad.id).error
    with open_pdf(built.pdf_path) as pdf:
        texts = [page_text(p) for p in pdf.pages]
    assert len(texts) == 2 and not any("half a letter" in t for t in texts)
    assert [int(r["first_page"]) for r in csv.DictReader(open(built.manifest_path, encoding="utf-8-sig"))] == [1, 2]


def test_manifest_cells_cannot_be_formulas_and_arabic_names_survive(app, client, signer, letter_world):
    hostile = {"C10": ("=HYPERLINK(\"https://evil.example\",\"click\")", ["+1 Main Street"], "-10115", "Berlin"),
               "C11": ("@SUM(A1:A9)", ["\tTab Street 1"], "\r12345", "Bonn"),
               "C12": ("Sam\x1bu\x07el\x7f Smith", ["Line\nbreak 2"], "10117", "=cmd|' /C calc'!A0")}
    for cid in hostile:
        welcome_letter_for(client, signer, customer(cid, name="placeholder", locale="en",
                                                    address={"lines": ["x"], "city": "Berlin", "postal_code": "10115",
                                                             "country": "DE"}), sale_id=f"S{cid}")
    welcome_letter_for(client, signer, customer("C13", name="محمد الحسيني", locale="ar"), sale_id="S13")
    welcome_letter_for(client, signer, persian_customer("C14"), sale_id="S14")
    for cid, (name, lines, postal, city) in hostile.items():
        c = db.session.scalar(select(Customer).where(Customer.external_id == cid))
        c.name, c.address_lines, c.postal_code, c.city = name, lines, postal, city
    # a customer id that starts like a formula (ids come from the shop)
    db.session.scalar(select(Customer).where(Customer.external_id == "C13")).external_id = "=1+2"
    db.session.commit()
    built = _build(app)
    assert built.done == 5
    raw = Path(built.manifest_path).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")                       # UTF-8 with a BOM
    assert b"\x00" not in raw and b"\x1b" not in raw and b"\x07" not in raw
    rows = list(csv.DictReader(open(built.manifest_path, encoding="utf-8-sig", newline="")))
    assert len(rows) == 5
    for row in rows:
        for column in ("letter", "customer", "name", "address", "country", "postal_code"):
            cell = row[column]
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), (column, cell)
            assert not any(ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F for ch in cell), (column, cell)
    by_customer = {r["customer"]: r for r in rows}
    assert by_customer["C10"]["name"] == "'=HYPERLINK(\"https://evil.example\",\"click\")"
    # The address column is the block exactly as printed in the window (name first, country last).
    assert by_customer["C10"]["address"] == "'=HYPERLINK(\"https://evil.example\",\"click\") / +1 Main Street / " \
                                            "-10115 BERLIN / GERMANY"
    assert by_customer["C11"]["name"] == "'@SUM(A1:A9)"
    assert by_customer["C12"]["name"] == "Samuel Smith"
    assert by_customer["'=1+2"]["name"] == "محمد الحسيني"
    assert by_customer["C14"]["name"] == "زهرا محمدی"


def test_manifest_cell_rule():
    assert batches.manifest_cell("=1+1") == "'=1+1"
    assert batches.manifest_cell("a\x00b") == "ab"
    assert batches.manifest_cell("\t=1") == "' =1"
    assert batches.manifest_cell("Layla Haddad") == "Layla Haddad"
    assert batches.manifest_cell(None) == ""


def test_batch_filters_refuse_bad_values_naming_the_field(app, client, signer, letter_world, auth):
    welcome_letter_for(client, signer, us_customer())
    headers = {"Authorization": f"Bearer {token_for(app, staff(app, 'post@example.com', 'print'))}"}
    for body, field in [({"since": "0001-01-01T00:00:00+05:00"}, "since"), ({"until": "9999-12-31T23:59:59+00:00"}, "until"),
                        ({"country": "U\x00"}, "country"), ({"template_key": "wel\x00come"}, "template_key"),
                        ({"template_key": "k" * 61}, "template_key"), ({"language": "xx"}, "language")]:
        answer = client.post("/api/v1/print-batches/", json=body, headers=headers)
        assert answer.status_code == 422 and field in answer.get_data(as_text=True), body
    auth.login("post@example.com")
    csrf = auth.csrf("/letters/")
    for form, field in [({"since": "0001-01-01"}, "since"), ({"until": "9999-12-31"}, "until"),
                        ({"since": "2026-13-45"}, "since"), ({"since": "x\x00"}, "since"),
                        ({"country": "U\x00"}, "country"), ({"language": "f\x00"}, "language"),
                        ({"template_key": "w\x00"}, "template_key")]:
        answer = client.post("/letters/batches", data={"csrf_token": csrf, **form}, follow_redirects=True)
        assert answer.status_code == 200 and f"{field}:" in answer.get_data(as_text=True), form
    assert db.session.scalar(select(PrintBatch.id)) is None   # nothing was created
    for since in ("0001-01-01", "9999-12-31", "soon"):
        result = app.test_cli_runner().invoke(args=["letters", "print-batch", "--since", since])
        assert result.exit_code == 2 and "since" in result.output
    ok = client.post("/api/v1/print-batches/", json={"since": (NOW - dt.timedelta(days=1)).isoformat()}, headers=headers)
    assert ok.status_code == 202


def test_returned_mail_goes_back_only_to_a_page_of_this_site(app, client, signer, letter_world, auth):
    letter = welcome_letter_for(client, signer, us_customer())
    built = _build(app)
    batches.mark_printed(db.session, db.session.get(PrintBatch, built.id), NOW, actor="test")
    db.session.commit()
    staff(app, "post@example.com", "print")
    auth.login("post@example.com")
    csrf = auth.csrf("/letters/")
    for referer in ("https://evil.example/letters/", "//evil.example/", "http://localhost/\t/evil.example"):
        answer = client.post(f"/letters/{letter.id}/returned", data={"csrf_token": csrf, "reason": "moved"},
                             headers={"Referer": referer})
        assert answer.status_code in (302, 303) and "evil" not in answer.headers["Location"]
        assert client.post(f"/letters/{letter.id}/undo-return", data={"csrf_token": csrf},
                           headers={"Referer": referer}).status_code == 302
    same_site = client.post(f"/letters/{letter.id}/returned", data={"csrf_token": csrf, "reason": "moved"},
                            headers={"Referer": f"http://localhost/letters/batches/{built.id}"})
    assert same_site.headers["Location"].endswith(f"/letters/batches/{built.id}")
