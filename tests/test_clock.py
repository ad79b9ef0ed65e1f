"""The app's clock: pages, API and commands read the time a test sets, and the real UTC time otherwise."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from retention import clock as app_clock
from retention.extensions import db
from retention.journeys.models import JourneyStep, Touchpoint
from retention.tick import run as tick
from retention.types import utcnow
from tests.factories import sale_completed, token_for
from tests.journeys.conftest import world  # noqa: F401  (the default journey and two owners)

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 3, 2, 6, 0, tzinfo=UTC)  # Monday 10:00 in Dubai


def _call(step_key: str) -> Touchpoint:
    db.session.expire_all()
    return db.session.scalar(select(Touchpoint).join(Touchpoint.step).where(JourneyStep.key == step_key))


def _section_of(page: str, touchpoint_id: int) -> str | None:
    """Which My calls section ("overdue", "today", "upcoming") shows the call, or None."""
    for key in ("overdue", "today", "upcoming"):
        section = re.search(rf'<section id="{key}"[^>]*>(.*?)</section>', page, flags=re.S).group(1)
        if f'id="call-{touchpoint_id}"' in section:
            return key
    return None


def test_production_reads_the_real_utc_clock(app):
    before = utcnow()
    now = app_clock.now()
    assert now.tzinfo is not None and before <= now <= utcnow()


def test_the_clock_takes_only_aware_times(clock):
    with pytest.raises(ValueError):
        clock.set(dt.datetime(2026, 3, 2, 6, 0))
    assert clock.set(dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=4)))) == T0
    assert clock.advance(days=1, hours=2) == T0 + dt.timedelta(days=1, hours=2)
    assert app_clock.now() == T0 + dt.timedelta(days=1, hours=2)


def test_my_calls_page_moves_with_the_clock(client, signer, auth, clock, world):
    clock.set(T0)
    signer.post(client, sale_completed(occurred_at=T0))
    tick(T0)
    check_in, later = _call("check_in_call"), _call("how_is_it_going_call")  # day 2 and day 14
    owner_email = check_in.owner.email
    assert later.owner_id == check_in.owner_id

    auth.login(owner_email)
    page = client.get("/calls/").get_data(as_text=True)
    assert _section_of(page, check_in.id) == "upcoming"
    assert _section_of(page, later.id) is None  # beyond the week ahead

    clock.advance(days=2)  # Wednesday: the check-in call is due today
    auth.login(owner_email)  # two days without a request ended the session, as it would for a person
    page = client.get("/calls/").get_data(as_text=True)
    assert _section_of(page, check_in.id) == "today"

    clock.advance(days=12)
    auth.login(owner_email)
    page = client.get("/calls/").get_data(as_text=True)
    assert _section_of(page, check_in.id) == "overdue"
    assert _section_of(page, later.id) in ("today", "upcoming")


def test_the_api_checks_call_back_times_against_the_set_clock(app, client, signer, clock, world):
    clock.set(T0)
    signer.post(client, sale_completed(occurred_at=T0))
    tick(T0)
    call = _call("check_in_call")
    clock.advance(days=2)
    headers = {"Authorization": f"Bearer {token_for(app, call.owner)}"}
    # Three days after the sale: long past by the real clock, tomorrow by the app's clock.
    call_back = (T0 + dt.timedelta(days=3)).isoformat()
    answer = client.post(f"/api/v1/touchpoints/{call.id}/outcome",
                         json={"outcome": "call_back", "call_back_at": call_back}, headers=headers)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert _call("check_in_call").due_at == T0 + dt.timedelta(days=3)
