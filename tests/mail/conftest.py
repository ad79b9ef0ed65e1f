"""Customers to email, and the app sending through the test's SMTP server."""
from __future__ import annotations

import datetime as dt
import itertools

import pytest

from retention.customers.models import Customer
from retention.extensions import db
from tests.journeys.conftest import world  # noqa: F401  (the default journey, its letter templates, owners)

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone.utc)
_numbers = itertools.count(1)


def add_customer(locale: str = "en", email: str | None = "auto", name: str = "Layla Haddad") -> Customer:
    n = next(_numbers)
    customer = Customer(external_id=f"M{n:05d}", name=name, locale=locale, timezone="UTC",
                        email=f"customer{n}@example.net" if email == "auto" else email, address_lines=[])
    db.session.add(customer)
    db.session.commit()
    return customer


@pytest.fixture
def smtp_app(app, smtp_server):
    """The app sending through the in-process SMTP server."""
    app.config["SMTP_URL"] = smtp_server.url
    app.config["MAIL_SMTP_TIMEOUT"] = 5
    return app
