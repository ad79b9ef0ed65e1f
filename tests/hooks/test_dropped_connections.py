"""The database dropping the app's connections (a restart, a failover) costs no event and no error answer.

Connections are no longer pinged on every checkout (retention/dbpool.py): one that sat idle is pinged and replaced
before use; one in steady use that died fails its statement, and the hook says it once more on a fresh connection.
PostgreSQL only: SQLite has no server to drop connections.
"""
from __future__ import annotations

import os

import pytest
from sqlalchemy import create_engine, func, select, text

from retention import dbpool
from retention.extensions import db
from retention.hooks.models import InboundEvent
from tests.factories import customer, sale_completed

if not (os.environ.get("DATABASE_URL") or "").startswith("postgresql"):
    if os.environ.get("CI"):
        pytest.fail("CI runs these against PostgreSQL (DATABASE_URL)", pytrace=False)
    pytestmark = pytest.mark.skip(reason="needs PostgreSQL (DATABASE_URL)")


def drop_app_connections(app) -> int:
    """What a database restart does to the app: every one of its server connections is terminated."""
    other = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    with other.connect() as conn:
        dropped = conn.execute(text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        )).scalar()
    other.dispose()
    return dropped


def stored() -> int:
    """Counted on a connection of its own (the app's pooled ones may be the dropped ones)."""
    other = create_engine(db.engine.url)
    with other.connect() as conn:
        count = conn.scalar(select(func.count()).select_from(InboundEvent))
    other.dispose()
    return count


def test_hook_in_steady_use_answers_202_after_its_connection_was_dropped(app, client, signer, monkeypatch):
    monkeypatch.setattr(dbpool, "PING_AFTER_IDLE", 3600.0)  # in steady use: no connection counts as idle
    assert signer.post(client, sale_completed(sale_id="S1", cust=customer("C1"))).status_code == 202
    db.session.remove()
    assert drop_app_connections(app) >= 1

    # The pooled connection is fresh (not idle): no ping, the INSERT meets the dead connection and is retried.
    response = signer.post(client, sale_completed(sale_id="S2", cust=customer("C2")))

    assert response.status_code == 202
    assert stored() == 2


def test_idle_connection_is_pinged_and_replaced_before_a_page_uses_it(app, client, signer, monkeypatch):
    assert signer.post(client, sale_completed(sale_id="S1", cust=customer("C1"))).status_code == 202
    db.session.remove()
    assert drop_app_connections(app) >= 1
    monkeypatch.setattr(dbpool, "PING_AFTER_IDLE", 0.0)  # every pooled connection counts as idle now

    response = signer.post(client, sale_completed(sale_id="S2", cust=customer("C2")))

    assert response.status_code == 202
    assert stored() == 2


def test_a_repeated_delivery_after_a_drop_is_still_stored_once(app, client, signer):
    body = sale_completed(sale_id="S1", cust=customer("C1"))
    first = signer.post(client, body, msg_id="msg_same")
    db.session.remove()
    drop_app_connections(app)

    again = signer.post(client, body, msg_id="msg_same")

    assert (first.status_code, again.status_code) == (202, 200)
    assert again.get_json()["id"] == first.get_json()["id"]
    assert stored() == 1
