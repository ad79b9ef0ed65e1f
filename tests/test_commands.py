"""The command-line interface documented in the README."""
from __future__ import annotations

from sqlalchemy import select

from retention.extensions import db
from retention.staff.models import StaffUser


def test_users_create_and_tokens_create(app, client):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "create", "Ops@Example.com", "--role", "admin", "--password", "s3cret-pass"])
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(StaffUser))
    assert user.email == "ops@example.com" and user.password_hash.startswith("$argon2id$")
    result = runner.invoke(args=["tokens", "create", "ops@example.com"])
    assert result.exit_code == 0
    token = result.stdout.strip()
    assert token.startswith("rt_") and "\n" not in token
    assert client.get("/api/v1/customers/", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_users_create_refuses_an_unknown_role(app):
    result = app.test_cli_runner().invoke(args=["users", "create", "a@b.c", "--role", "boss", "--password", "long-enough"])
    assert result.exit_code != 0 and "role" in result.output


def test_seed_creates_demo_data_once(app):
    runner = app.test_cli_runner()
    assert "demo data created" in runner.invoke(args=["seed", "--customers", "20"]).output
    assert "already present" in runner.invoke(args=["seed", "--customers", "20"]).output
    from retention.customers.models import Customer

    customers = db.session.scalars(select(Customer)).all()
    assert len(customers) == 20
    assert {c.locale for c in customers} == {"en", "ar", "fa"}
    assert len({c.country for c in customers}) >= 5
