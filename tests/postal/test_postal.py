"""Letters from the database: templates in a sandbox, personalising, print batches, returned mail."""
from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from retention.customers.models import Customer
from retention.extensions import db
from retention.postal import batches, service
from retention.postal.models import Letter, PrintBatch
from retention.tick import run as tick
from tests.factories import customer, sale_completed, staff, token_for
from tests.letters.letterkit import MM, open_pdf, page_text, visual_lines

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 3, 2, 6, 0, tzinfo=UTC)


@pytest.fixture
def letter_world(app):
    service.ensure_default_templates(db.session, NOW)
    from retention.journeys.service import ensure_default_journey

    ensure_default_journey(db.session, NOW)
    staff(app, "omar@example.com", "onboarding", name="Omar Haddad", title="Customer care",
          timezone="Asia/Dubai", country="AE")
    db.session.commit()
    return app


def persian_customer(cid="C1"):
    return customer(cid, name="زهرا محمدی", locale="fa", timezone="Asia/Tehran", phone="+989121234567",
                    address={"lines": ["خیابان ولیعصر، پلاک ۱۲"], "city": "تهران", "region": "تهران",
                             "postal_code": "1968713113", "country": "IR"})


def us_customer(cid="C2"):
    return customer(cid, name="Olivia Smith", locale="en", timezone="America/New_York", phone="+12125550100",
                    address={"lines": ["350 Fifth Avenue"], "city": "New York", "region": "NY", "postal_code": "10118",
                             "country": "US"})


def welcome_letter_for(client, signer, cust, sale_id="S1", product="Espresso machine Pro", amount="649.00",
                       currency="USD") -> Letter:
    signer.post(client, sale_completed(sale_id, cust=cust, product=product, amount=amount, currency=currency,
                                       occurred_at=NOW))
    tick(NOW + dt.timedelta(hours=12))  # past 10:00 local everywhere: the day-0 welcome letter is queued
    return db.session.scalar(select(Letter).where(Letter.customer.has(external_id=cust["id"])))


def render(app, letter, template=None) -> bytes:
    return service.render_one(db.session, letter, service.company_from(app.config), NOW.date(), template)


def test_welcome_letter_is_queued_in_the_customers_language(client, signer, letter_world):
    letter = welcome_letter_for(client, signer, persian_customer())
    assert letter.status == "queued" and letter.template_key == "welcome" and letter.language == "fa"


def test_persian_letter_with_an_english_product_name_and_a_price(app, client, signer, letter_world):
    letter = welcome_letter_for(client, signer, persian_customer(), product="Galaxy S24 Ultra", amount="54000000",
                                currency="IRR")
    service.save_template(db.session, "welcome", {
        "language": "fa", "digits": "arabext", "closing": "با احترام،",
        "body": "{{ customer.first_name }} عزیز، سفارش {{ sale.product }} به مبلغ {{ sale.amount }} ارسال شد."},
        actor="test", now=NOW)
    db.session.commit()
    pdf = open_pdf(render(app, letter))
    page = pdf.pages[0]
    body_line = next(l for l in visual_lines(page) if "Galaxy" in l.text)
    # the English product name keeps its left-to-right order inside the Persian line
    assert "Galaxy S24 Ultra" in body_line.text
    # the first Persian word of the sentence stands rightmost, the line is right-aligned
    assert body_line.words[-1].logical == "زهرا"
    assert page.width - body_line.x1 < 30 * MM
    # the price is in Persian digits with the rial's name, in the right order
    logical = [w.logical for w in reversed(body_line.words)]
    assert "۵۴٬۰۰۰٬۰۰۰" in " ".join(w.text for w in body_line.words)
    assert "ریال" in logical and logical.index("مبلغ") < logical.index("ریال")


def test_arabic_letter_of_two_pages(app, client, signer, letter_world):
    arabic = customer("C3", name="محمد الحسيني", locale="ar")
    letter = welcome_letter_for(client, signer, arabic)
    long_body = "\n\n".join(["{{ customer.first_name }}، نشكرك على ثقتك بنا. " * 12] * 8)
    service.save_template(db.session, "welcome", {"language": "ar", "digits": "arab", "body": long_body,
                                                  "closing": "مع التحية،"}, actor="test", now=NOW)
    db.session.commit()
    pdf = open_pdf(render(app, letter))
    assert len(pdf.pages) == 2
    footer = page_text(pdf.pages[1])
    assert "٢" in footer  # "page 2 of 2" in Arabic-Indic digits
    first = visual_lines(pdf.pages[1])[0]
    assert page_text(pdf.pages[1]).count("ﻧﺸﻜﺮﻙ") + page_text(pdf.pages[1]).count("نشكرك") > 0 or first.words


def test_paper_is_the_senders_a_london_sender_prints_a4_even_to_new_york(app, client, signer, letter_world):
    letter = welcome_letter_for(client, signer, us_customer())
    page = open_pdf(render(app, letter)).pages[0]
    assert round(page.width) == 595 and round(page.height) == 842  # A4: what the London printer holds
    lines = [l.text for l in visual_lines(page)]
    # Mail abroad: the destination's order, then the country last, as the sender's post office asks.
    assert lines.index("NEW YORK, NY 10118") + 1 == lines.index("UNITED STATES")


def test_us_sender_prints_letter_paper_and_no_country_line_at_home(app, client, signer, letter_world):
    app.config["COMPANY_COUNTRY"] = "US"
    letter = welcome_letter_for(client, signer, us_customer())
    pdf = open_pdf(render(app, letter))
    page = pdf.pages[0]
    assert "UNITED STATES" not in page_text(page)   # domestic mail: no country line
    assert round(page.width) == 612 and round(page.height) == 792  # US Letter
    name = [c for c in page.chars if c["text"] == "O" and c["top"] < 3.2 * 72]
    # #10 window: 7/8" from the left, 2" from the top, 4.5" wide, 1.125" tall
    line = next(l for l in visual_lines(page) if l.text.startswith("Olivia"))
    assert 0.875 * 72 - 1 <= line.x0 and line.x1 <= (0.875 + 4.5) * 72
    assert 2.0 * 72 <= line.baseline <= (2.0 + 1.125) * 72
    assert any(l.text == "NEW YORK, NY 10118" for l in visual_lines(page))  # the US Postal Service order
    assert name


def test_fonts_are_embedded_and_subset(app, client, signer, letter_world):
    letter = welcome_letter_for(client, signer, persian_customer())
    pdf = open_pdf(render(app, letter))
    fonts = {c["fontname"] for c in pdf.pages[0].chars}
    assert fonts and all("+" in f and len(f.split("+")[0]) == 6 for f in fonts)


def test_sandbox_refuses_escape_attempts(letter_world):
    for source, expected in [
        ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "not allowed"),
        ("{{ customer.__init__.__globals__ }}", "not allowed"),
        ("{% include '/etc/passwd' %}", "not allowed"),
        ("{{ cycler.__init__.__globals__.os.popen('id').read() }}", "not allowed"),
    ]:
        with pytest.raises(service.LetterError, match=expected):
            service.save_template(db.session, "welcome", {"language": "en", "body": source}, actor="t", now=NOW)


def test_missing_variable_is_a_clear_error_and_the_batch_skips_that_letter(app, client, signer, letter_world):
    good = welcome_letter_for(client, signer, us_customer("C5"), sale_id="S5")
    persian = welcome_letter_for(client, signer, persian_customer("C6"), sale_id="S6")
    # a template saved before a field was renamed: it names a variable that does not exist
    from retention.postal.models import LetterTemplate

    broken = db.session.scalar(select(LetterTemplate).where(LetterTemplate.key == "welcome",
                                                            LetterTemplate.language == "fa",
                                                            LetterTemplate.is_current.is_(True)))
    broken.body = "{{ customer.nickname }} عزیز"
    db.session.commit()
    with pytest.raises(service.LetterError, match="body: customer.nickname does not exist; you can use: customer.id, customer.name, "):
        render(app, persian)
    batch = batches.create_batch(db.session, filters={}, duplex=False, actor="t", now=NOW)
    db.session.commit()
    built = batches.build_batch(db.session, batch.id, out_dir=Path(app.config["PRINT_PATH"]),
                                company=service.company_from(app.config), today=NOW.date(), now=NOW)
    assert built.done == 1 and built.skipped == 1
    db.session.expire_all()
    skipped = db.session.get(Letter, persian.id)
    assert skipped.batch_id is None and skipped.status == "queued" and "nickname" in skipped.error
    assert db.session.get(Letter, good.id).first_page == 1


def test_preview_shows_the_error_for_a_bad_template(app, client, auth, letter_world, signer):
    welcome_letter_for(client, signer, us_customer())
    staff(app, "maya@example.com", "marketing")
    auth.login("maya@example.com")
    csrf = auth.csrf("/letters/templates/welcome/en")
    bad = client.post("/letters/templates/welcome/en/preview", data={"csrf_token": csrf, "body": "Hi {{ custmer.name }}"})
    assert bad.status_code == 422 and "custmer" in bad.get_json()["message"]
    ok = client.post("/letters/templates/welcome/en/preview", data={"csrf_token": csrf, "body": "Hi {{ customer.name }}"})
    assert ok.status_code == 200 and ok.mimetype == "application/pdf"
    assert "Hi Olivia Smith" in page_text(open_pdf(ok.data).pages[0])


def test_batch_of_a_few_hundred_letters_manifest_matches_the_pdf(app, client, signer, letter_world):
    people = [us_customer, persian_customer, lambda cid: customer(cid, name=f"Layla {cid}"),
              lambda cid: customer(cid, name="Jonas Weber", locale="en", timezone="Europe/Berlin",
                                   address={"lines": ["Invalidenstraße 117"], "city": "Berlin", "postal_code": "10115",
                                            "country": "DE"})]
    for n in range(240):
        cust = people[n % 4](f"B{n:03d}")
        signer.post(client, sale_completed(f"SB{n}", cust=cust, occurred_at=NOW))
    tick(NOW + dt.timedelta(hours=12))
    batch = batches.create_batch(db.session, filters={}, duplex=True, actor="t", now=NOW)
    db.session.commit()
    seen = []
    built = batches.build_batch(db.session, batch.id, out_dir=Path(app.config["PRINT_PATH"]),
                                company=service.company_from(app.config), today=NOW.date(), now=NOW,
                                progress=lambda done, total: seen.append((done, total)))
    assert built.done == 240 and seen[-1] == (240, 240)
    rows = list(csv.DictReader(open(built.manifest_path, encoding="utf-8-sig")))
    assert len(rows) == 240
    # mailing order: by country, then postal code
    keys = [(r["country"], r["postal_code"]) for r in rows]
    assert keys == sorted(keys)
    with open_pdf(built.pdf_path) as pdf:
        assert len(pdf.pages) == built.pages
        for row in rows[::23]:
            first = int(row["first_page"])
            assert first % 2 == 1  # duplex: every letter starts on a front side
            text = page_text(pdf.pages[first - 1])
            assert row["letter"] in text  # the letter's reference is on its own first page


def test_printed_mailed_and_returned_mail_flags_the_address(app, client, signer, letter_world, auth):
    letter = welcome_letter_for(client, signer, us_customer())
    batch = batches.create_batch(db.session, filters={"country": "US"}, duplex=False, actor="t", now=NOW)
    db.session.commit()
    batches.build_batch(db.session, batch.id, out_dir=Path(app.config["PRINT_PATH"]),
                        company=service.company_from(app.config), today=NOW.date(), now=NOW)
    batch = db.session.get(PrintBatch, batch.id)
    with pytest.raises(service.LetterError, match="printed batch"):
        batches.mark_mailed(db.session, batch, NOW, actor="test")
    assert batches.mark_printed(db.session, batch, NOW, actor="test") == 1
    assert batches.mark_mailed(db.session, batch, NOW, actor="test") == 1
    db.session.commit()
    staff(app, "post@example.com", "print")
    auth.login("post@example.com")
    response = client.post(f"/letters/{letter.id}/returned", data={"csrf_token": auth.csrf("/letters/"),
                                                                    "reason": "moved"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.scalar(select(Customer).where(Customer.external_id == "C2")).address_flagged_at is not None
    staff(app, "sara@example.com", "onboarding")
    auth.login("sara@example.com")
    page = client.get("/customers/C2").get_data(as_text=True)
    assert "Letter “Welcome” came back: Moved away" in page


def test_batch_api_builds_and_serves_pdf_and_manifest(app, client, signer, letter_world, queue):
    welcome_letter_for(client, signer, us_customer())
    headers = {"Authorization": f"Bearer {token_for(app, staff(app, 'post@example.com', 'print'))}"}
    none = client.post("/api/v1/print-batches/", json={"country": "FR"}, headers=headers)
    assert none.status_code == 409 and "no queued letter" in none.get_json()["message"]
    created = client.post("/api/v1/print-batches/", json={"duplex": True}, headers=headers)
    assert created.status_code == 202
    batch_id = created.get_json()["id"]
    assert client.get(f"/api/v1/print-batches/{batch_id}/pdf", headers=headers).status_code == 409
    queue.drain()
    status = client.get(f"/api/v1/print-batches/{batch_id}", headers=headers).get_json()
    assert status["status"] == "ready" and status["done"] == 1
    pdf = client.get(f"/api/v1/print-batches/{batch_id}/pdf", headers=headers)
    assert pdf.status_code == 200 and "Olivia Smith" in page_text(open_pdf(pdf.data).pages[0])
    manifest = client.get(f"/api/v1/print-batches/{batch_id}/manifest", headers=headers).get_data(as_text=True)
    assert "Olivia Smith" in manifest
    marketing = {"Authorization": f"Bearer {token_for(app, staff(app, 'maya@example.com', 'marketing'))}"}
    assert client.post("/api/v1/print-batches/", json={}, headers=marketing).status_code == 403


def test_template_api_versions_and_refuses_bad_text(app, client, letter_world):
    headers = {"Authorization": f"Bearer {token_for(app, staff(app, 'maya@example.com', 'marketing'))}"}
    current = client.get("/api/v1/letter-templates/welcome/fa", headers=headers).get_json()
    assert current["version"] == 1 and current["digits"] == "arabext"
    saved = client.put("/api/v1/letter-templates/welcome/fa", json={**{k: current[k] for k in (
        "body", "closing", "digits")}, "body": current["body"] + "\n\nسپاس."}, headers=headers)
    assert saved.status_code == 200 and saved.get_json()["version"] == 2
    bad = client.put("/api/v1/letter-templates/welcome/fa", json={"body": "{{ self.__dict__ }}"}, headers=headers)
    assert bad.status_code == 422 and "not allowed" in bad.get_json()["message"]


def test_print_batch_command_shows_progress(app, client, signer, letter_world):
    welcome_letter_for(client, signer, us_customer())
    result = app.test_cli_runner().invoke(args=["letters", "print-batch", "--duplex"])
    assert result.exit_code == 0, result.output
    assert "1 letters" in result.output and result.output.strip().endswith(".csv")
