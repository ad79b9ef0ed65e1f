"""The manifest and mailing order a mail room works from (issue 13): template, language, paper, sheets, the
address exactly as printed; domestic mail first, then international mail grouped by country; one paper per PDF."""
from __future__ import annotations

import csv
from pathlib import Path

from retention.extensions import db
from retention.postal import batches, service
from tests.factories import customer
from tests.letters.letterkit import MM, open_pdf, visual_lines
from tests.postal.test_postal import NOW, letter_world, persian_customer, us_customer, welcome_letter_for  # noqa: F401


def _build(app):
    batch = batches.create_batch(db.session, filters={}, duplex=True, actor="t", now=NOW)
    db.session.commit()
    return batches.build_batch(db.session, batch.id, out_dir=Path(app.config["PRINT_PATH"]),
                               company=service.company_from(app.config), today=NOW.date(), now=NOW)


def _uk(cid, postal_code, name):
    return customer(cid, name=name, locale="en", timezone="Europe/London",
                    address={"lines": ["1 High Street"], "city": "London", "region": "", "postal_code": postal_code,
                             "country": "GB"})


def test_manifest_columns_order_and_paper(app, client, signer, letter_world):
    welcome_letter_for(client, signer, persian_customer("C1"), sale_id="S1")
    welcome_letter_for(client, signer, us_customer("C2"), sale_id="S2")
    welcome_letter_for(client, signer, _uk("C3", "SW1A 1AA", "Amelia Jones"), sale_id="S3")
    welcome_letter_for(client, signer, customer("C4", name="Layla Haddad"), sale_id="S4")   # Dubai
    welcome_letter_for(client, signer, _uk("C5", "EC1A 1BB", "Oliver Brown"), sale_id="S5")
    built = _build(app)
    assert built.done == 5 and built.paper == "A4"   # a London sender: A4 for every letter, New York too
    raw = Path(built.manifest_path).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(open(built.manifest_path, encoding="utf-8-sig", newline="")))
    assert list(rows[0]) == ["letter", "customer", "name", "template", "language", "paper", "sheets", "address",
                             "country", "postal_code", "first_page", "page_count"]
    # Domestic (GB) first by postcode, then international grouped by country.
    assert [r["customer"] for r in rows] == ["C5", "C3", "C4", "C1", "C2"]
    by = {r["customer"]: r for r in rows}
    assert by["C1"]["language"] == "fa" and by["C1"]["template"] == "welcome"
    assert {r["paper"] for r in rows} == {"A4"}
    assert all(int(r["sheets"]) == (int(r["page_count"]) + 1) // 2 for r in rows)
    # The address as printed: US order and the country line for mail abroad; none for mail at home.
    assert by["C2"]["address"] == "Olivia Smith / 350 Fifth Avenue / NEW YORK, NY 10118 / UNITED STATES"
    assert by["C5"]["address"] == "Oliver Brown / 1 High Street / LONDON / EC1A 1BB"
    # And that is what the PDF shows in the window of that letter.
    pdf = open_pdf(built.pdf_path)
    page = pdf.pages[int(by["C2"]["first_page"]) - 1]
    window = visual_lines(page, top=45 * MM, bottom=90 * MM, right=105 * MM)
    assert [ln.text.replace("\u00a0", " ") for ln in window][-4:] == by["C2"]["address"].split(" / ")
    uk_page = pdf.pages[int(by["C5"]["first_page"]) - 1]
    assert "UNITED KINGDOM" not in (uk_page.extract_text() or "")
    assert all(round(p.width) == 595 for p in pdf.pages)


def test_the_batch_page_says_which_paper_the_pdf_needs(app, client, signer, letter_world, auth, clock):
    import datetime as dt

    from tests.factories import staff

    welcome_letter_for(client, signer, us_customer("C2"), sale_id="S2")
    built = _build(app)
    clock.set(NOW + dt.timedelta(hours=13))
    staff(app, "post-fa@example.com", "print", locale="fa", timezone="Asia/Tehran")
    auth.login("post-fa@example.com")
    page = client.get(f"/letters/batches/{built.id}").get_data(as_text=True)
    assert "کاغذ: A4، برای پاکت‌های پنجره‌دار DL/C5 (برای کل فایل PDF)" in page
    app.config["COMPANY_COUNTRY"] = "US"
    welcome_letter_for(client, signer, us_customer("C3"), sale_id="S3")
    built = _build(app)
    assert built.paper == "LETTER"
    page = client.get(f"/letters/batches/{built.id}").get_data(as_text=True)
    assert "کاغذ آمریکایی" in page
