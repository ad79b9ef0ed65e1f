"""The Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""
from __future__ import annotations

import os
import uuid

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import create_engine, text

from retention.extensions import db
from tests.conftest import _SQLITE_DIR, make_app


def _fresh_database_url() -> tuple[str, callable]:
    url = os.environ.get("DATABASE_URL")
    if url and url.startswith("postgres"):
        name = f"retention_migrations_{uuid.uuid4().hex[:8]}"
        admin = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        base = url.rsplit("/", 1)[0]

        def drop():
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()

        return f"{base}/{name}", drop
    path = os.path.join(_SQLITE_DIR, f"migrations-{uuid.uuid4().hex[:8]}.db")
    return f"sqlite:///{path}", lambda: os.path.exists(path) and os.remove(path)


def test_migrated_schema_matches_the_models():
    url, drop = _fresh_database_url()
    app = make_app(DATABASE_URL=url)
    try:
        with app.app_context():
            upgrade()
            with db.engine.connect() as conn:
                diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), db.metadata)
            assert diff == []
            db.engine.dispose()
    finally:
        drop()


def test_customers_stored_before_search_folding_are_found_by_their_variants_after_upgrade():
    url, drop = _fresh_database_url()
    app = make_app(DATABASE_URL=url)
    try:
        with app.app_context():
            upgrade(revision="3f9c2d7e5a18")
            with db.engine.begin() as conn:
                conn.execute(text("INSERT INTO customers (external_id, name, email, phone, locale, timezone, "
                                  "address_lines, city, region, postal_code, created_at, updated_at) VALUES "
                                  "('C1', 'مهدی رضایی', 'm@example.com', '+989121234567', 'fa', 'Asia/Tehran', "
                                  "'[]', '', '', '', '2026-01-01 00:00:00', '2026-01-01 00:00:00')"))
            upgrade()
            from retention.customers.service import search

            found, total = search(db.session, "مهدي", page=1)
            assert total == 1 and found[0].external_id == "C1"
            assert search(db.session, "0912 123 4567", page=1)[1] == 1
            db.session.remove()
            db.engine.dispose()
    finally:
        drop()
