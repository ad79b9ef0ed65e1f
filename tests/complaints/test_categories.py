"""Complaint categories (H1): the defaults (seeded once, and by the migration), the admin pages (names per
language, questions added, edited, removed and reordered, active flag), validation next to the field, roles."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from retention.audit.models import AuditEntry
from retention.complaints import categories
from retention.complaints.models import ComplaintCategory
from retention.extensions import db
from tests.complaints.casekit import T0, csrf_of
from tests.factories import staff


def _admin(client, auth, clock):
    staff(client.application, "root@example.com", "admin", name="Root")
    clock.set(T0)
    auth.login("root@example.com")


def _category(key: str) -> ComplaintCategory:
    db.session.expire_all()
    return db.session.scalar(select(ComplaintCategory).where(ComplaintCategory.key == key))


def test_the_default_categories_come_once_with_questions_in_three_languages(app):
    assert categories.ensure_default_categories(db.session, T0) == 6
    assert categories.ensure_default_categories(db.session, T0) == 0
    db.session.commit()
    found = categories.all_categories(db.session)
    assert [c.key for c in found] == ["delivery", "product_quality", "billing", "service", "outage", "other"]
    for c in found:
        assert set(c.names) == {"en", "ar", "fa"} and c.questions
        assert all(set(q["text"]) == {"en", "ar", "fa"} for q in c.questions)
    assert "ی" in found[0].names["fa"] and "ي" not in found[0].names["fa"]  # Persian yeh, not Arabic


def test_the_migration_writes_the_same_defaults():
    from importlib import import_module

    migration = import_module("migrations.versions.d9b1c0a1e011_complaints_cases_h1")
    assert migration.DEFAULTS == categories.DEFAULTS


def test_an_admin_adds_a_category_and_a_missing_english_name_is_said_next_to_the_field(client, auth, clock):
    _admin(client, auth, clock)
    form = client.get("/admin/complaint-categories/new").get_data(as_text=True)
    token = csrf_of(form)
    refused = client.post("/admin/complaint-categories/new", data={
        "csrf_token": token, "key": "warranty", "name_en": "", "name_fa": "گارانتی", "active": "on", "rows": "1",
        "q-0-order": "10", "q-0-en": "Which product?", "q-0-fa": "کدام کالا؟"})
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert "Give the category a name in English." in page and "گارانتی" in page and "کدام کالا؟" in page
    assert _category("warranty") is None
    refused = client.post("/admin/complaint-categories/new", data={"csrf_token": token, "key": "Bad Key!",
                                                                   "name_en": "Warranty", "rows": "0"})
    assert refused.status_code == 422 and "lowercase letters" in refused.get_data(as_text=True)
    saved = client.post("/admin/complaint-categories/new", data={
        "csrf_token": token, "key": "warranty", "name_en": "Warranty", "name_ar": "الضمان", "name_fa": "گارانتی",
        "active": "on", "rows": "2", "q-0-order": "10", "q-0-en": "Which product?", "q-0-fa": "کدام کالا؟",
        "q-1-order": "20", "q-1-en": "", "q-1-ar": "", "q-1-fa": ""})
    assert saved.status_code == 303
    category = _category("warranty")
    assert category.names == {"en": "Warranty", "ar": "الضمان", "fa": "گارانتی"} and category.active
    assert category.questions == [{"key": "which_product", "text": {"en": "Which product?", "fa": "کدام کالا؟"}}]
    duplicate = client.post("/admin/complaint-categories/new", data={"csrf_token": token, "key": "warranty",
                                                                     "name_en": "Again", "rows": "0"})
    assert duplicate.status_code == 409


def test_questions_are_edited_reordered_removed_and_added_keeping_their_keys(app, client, auth, clock):
    categories.ensure_default_categories(db.session, T0)
    db.session.commit()
    _admin(client, auth, clock)
    delivery = _category("delivery")
    page = client.get(f"/admin/complaint-categories/{delivery.id}").get_data(as_text=True)
    assert "In what condition did the package arrive?" in page
    saved = client.post(f"/admin/complaint-categories/{delivery.id}", data={
        "csrf_token": csrf_of(page), "name_en": "Delivery", "name_ar": "التوصيل", "name_fa": "ارسال و تحویل",
        "position": "10", "rows": "4",  # not active any more
        "q-0-key": "when", "q-0-order": "30", "q-0-en": "When was it due?", "q-0-ar": "", "q-0-fa": "",
        "q-1-key": "condition", "q-1-order": "20", "q-1-en": "x", "q-1-remove": "on",
        "q-2-key": "tracking", "q-2-order": "10", "q-2-en": "Tracking number?", "q-2-ar": "رقم التتبع؟",
        "q-2-fa": "کد رهگیری؟",
        "q-3-order": "40", "q-3-en": "Was anyone at home?", "q-3-ar": "", "q-3-fa": ""})
    assert saved.status_code == 303
    delivery = _category("delivery")
    assert [q["key"] for q in delivery.questions] == ["tracking", "when", "was_anyone_at_home"]
    assert delivery.questions[1]["text"] == {"en": "When was it due?"} and not delivery.active
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "complaint_category.changed"))
    assert set(entry.changes) >= {"key", "questions", "active"}
    # an inactive category is not offered when opening a case
    assert "delivery" not in [c.key for c in categories.active_categories(db.session)]
    refused = client.post(f"/admin/complaint-categories/{delivery.id}", data={
        "csrf_token": csrf_of(page), "name_en": "Delivery", "rows": "1", "q-0-key": "when", "q-0-order": "soon",
        "q-0-en": "When?"})
    assert refused.status_code == 422 and "A whole number" in refused.get_data(as_text=True)
    too_long = client.post(f"/admin/complaint-categories/{delivery.id}", data={
        "csrf_token": csrf_of(page), "name_en": "Delivery", "rows": "1", "q-0-key": "when", "q-0-order": "1",
        "q-0-en": "?" * 301})
    assert too_long.status_code == 422 and "At most 300 characters." in too_long.get_data(as_text=True)
    assert [q["key"] for q in _category("delivery").questions] == ["tracking", "when", "was_anyone_at_home"]


def test_only_admins_edit_categories_and_names_follow_the_readers_language(app, client, auth, clock):
    categories.ensure_default_categories(db.session, T0)
    db.session.commit()
    staff(app, "sara@example.com", "onboarding", name="Sara", locale="fa")
    clock.set(T0)
    auth.login("sara@example.com")
    assert client.get("/admin/complaint-categories/").status_code == 403
    assert client.post("/admin/complaint-categories/new", data={"csrf_token": auth.csrf("/customers/")}).status_code == 403
    page = client.get("/complaints/").get_data(as_text=True)
    assert "کیفیت یا ایراد کالا" in page and "Product quality" not in page
    assert db.session.scalar(select(func.count()).select_from(ComplaintCategory)) == 6


def test_an_unknown_category_is_404(client, auth, clock):
    _admin(client, auth, clock)
    assert client.get("/admin/complaint-categories/999").status_code == 404
    assert client.get("/admin/complaint-categories/").status_code == 200


def test_a_migrated_database_has_the_defaults_once_and_a_downgrade_takes_them_away():
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import text

    from tests.conftest import make_app
    from tests.test_migrations import _fresh_database_url

    url, drop = _fresh_database_url()
    other = make_app(DATABASE_URL=url)
    try:
        with other.app_context():
            def keys():
                with db.engine.connect() as conn:
                    return sorted(conn.execute(text("SELECT key FROM complaint_categories")).scalars())

            upgrade(revision="d9b1c0a1e011")
            assert keys() == sorted(c["key"] for c in categories.DEFAULTS)
            downgrade(revision="d9b0c0a1e010")
            assert keys() == []
            with db.engine.begin() as conn:  # an admin's own "delivery" before the upgrade: kept, not doubled
                conn.execute(text("INSERT INTO complaint_categories (key, names, questions, active, position) "
                                  "VALUES ('delivery', '{\"en\": \"Shipping\"}', '[]', true, 1)"))
            upgrade(revision="d9b1c0a1e011")
            assert keys() == sorted(c["key"] for c in categories.DEFAULTS)
            with db.engine.connect() as conn:
                assert "Shipping" in conn.execute(text("SELECT names FROM complaint_categories "
                                                       "WHERE key = 'delivery'")).scalar_one().__str__()
            db.engine.dispose()
    finally:
        drop()
