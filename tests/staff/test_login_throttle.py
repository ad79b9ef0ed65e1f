"""Sign-in throttling: per (account, address) and per address, exact under parallel guesses, behind proxies."""
from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import func, select, update

from retention.extensions import db
from retention.staff.models import LoginThrottle
from tests.conftest import make_app
from tests.factories import PASSWORD, staff

UTC = dt.timezone.utc


def _sign_in(client, email, password, address="198.51.100.7", headers=None):
    page = client.get("/login", environ_base={"REMOTE_ADDR": address}).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token},
                       environ_base={"REMOTE_ADDR": address}, headers=headers or {})


def test_five_failures_lock_that_account_from_that_address_only(app, client):
    staff(app, "sara@example.com", "onboarding")
    staff(app, "omar@example.com", "onboarding")
    codes = [_sign_in(client, "sara@example.com", f"guess-{n}", "203.0.113.9").status_code for n in range(5)]
    assert codes == [401] * 5
    blocked = _sign_in(client, "sara@example.com", PASSWORD, "203.0.113.9")
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 0
    # Sara, at her own desk, still signs in: the stranger cannot lock her out from elsewhere.
    assert _sign_in(app.test_client(), "sara@example.com", PASSWORD, "198.51.100.7").status_code == 302
    # The guessing address may still sign in to another account (until its own address limit).
    assert _sign_in(app.test_client(), "omar@example.com", PASSWORD, "203.0.113.9").status_code == 302


def test_one_address_guessing_across_accounts_is_stopped_by_the_address_limit(app, client):
    app.config["LOGIN_MAX_FAILURES_PER_ADDRESS"] = 8
    staff(app, "sara@example.com", "onboarding")
    codes = [_sign_in(client, f"user{n}@example.com", "guess", "203.0.113.9").status_code for n in range(8)]
    assert codes == [401] * 8
    assert _sign_in(client, "sara@example.com", PASSWORD, "203.0.113.9").status_code == 429
    assert _sign_in(app.test_client(), "sara@example.com", PASSWORD, "198.51.100.7").status_code == 302


def test_a_success_clears_the_account_counter(app, client):
    staff(app, "sara@example.com", "onboarding")
    for n in range(4):
        _sign_in(client, "sara@example.com", f"typo-{n}")
    assert _sign_in(client, "sara@example.com", PASSWORD).status_code == 302
    client.post("/logout", data={"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', client.get(
        "/calls/").get_data(as_text=True)).group(1)})
    codes = [_sign_in(client, "sara@example.com", f"typo-{n}").status_code for n in range(5)]
    assert codes == [401] * 5  # five fresh tries, not one


def _at_once(count: int, work) -> list:
    """Run `work(app)` in `count` threads at the same moment, each app (and its connections) its own.

    The apps are built one after another first: building Flask routes in parallel trips a CPython 3.11 bug.
    """
    import threading

    apps = [make_app() for _ in range(count)]
    barrier = threading.Barrier(count, timeout=30)
    results = []

    def run(other):
        with other.app_context():
            try:
                barrier.wait()
                results.append(work(other))
            finally:
                db.session.remove()
                db.engine.dispose()

    threads = [threading.Thread(target=run, args=(a,)) for a in apps]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_parallel_guesses_get_no_more_password_checks_than_the_limit(app):
    """30 wrong passwords at the same moment from one address, each through its own app and connections."""
    staff(app, "sara@example.com", "onboarding")

    codes = _at_once(30, lambda other: _sign_in(other.test_client(), "sara@example.com", "wrong-password",
                                                "203.0.113.50").status_code)
    assert sorted(codes) == sorted([401] * 5 + [429] * 25), codes


def test_old_counters_are_purged_on_the_next_sign_in(app, client):
    staff(app, "sara@example.com", "onboarding")
    for n in range(5):
        _sign_in(client, "sara@example.com", f"guess-{n}")
    assert db.session.scalar(select(func.count()).select_from(LoginThrottle)) == 2
    window = app.config["LOGIN_WINDOW_SECONDS"]
    db.session.execute(update(LoginThrottle).values(
        window_start=dt.datetime.now(UTC) - dt.timedelta(seconds=window + 1)))
    db.session.commit()
    assert _sign_in(app.test_client(), "omar@example.com", "x", "192.0.2.1").status_code == 401
    db.session.expire_all()
    keys = db.session.scalars(select(LoginThrottle.key)).all()
    assert keys and all("192.0.2.1" in k for k in keys)  # only the new attempt's counters are left
    assert _sign_in(client, "sara@example.com", PASSWORD).status_code == 302  # the window has passed


def test_the_client_address_is_read_behind_the_configured_proxies(_schema):
    from tests.conftest import _empty_tables

    behind = make_app(TRUSTED_PROXIES=1)
    _empty_tables(behind)
    with behind.app_context():
        staff(behind, "sara@example.com", "onboarding")
        client = behind.test_client()
        proxy = "10.0.0.2"  # every request arrives from the proxy
        for n in range(5):
            r = _sign_in(client, "sara@example.com", f"g{n}", proxy, headers={"X-Forwarded-For": "203.0.113.9"})
            assert r.status_code == 401
        assert _sign_in(client, "sara@example.com", PASSWORD, proxy,
                        headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 429
        # Sara's own address, through the same proxy, is another client: not locked.
        assert _sign_in(behind.test_client(), "sara@example.com", PASSWORD, proxy,
                        headers={"X-Forwarded-For": "198.51.100.7"}).status_code == 302
        assert db.session.scalar(select(func.count()).select_from(LoginThrottle)
                                 .where(LoginThrottle.key.contains("10.0.0.2"))) == 0
        db.session.remove()
        db.engine.dispose()


def test_without_trusted_proxies_a_forged_forwarded_for_changes_nothing(app, client):
    staff(app, "sara@example.com", "onboarding")
    for n in range(5):
        _sign_in(client, "sara@example.com", f"g{n}", "203.0.113.9", headers={"X-Forwarded-For": f"192.0.2.{n}"})
    assert _sign_in(client, "sara@example.com", PASSWORD, "203.0.113.9",
                    headers={"X-Forwarded-For": "192.0.2.99"}).status_code == 429


def test_overlong_email_is_refused_not_crashed(app, client):
    response = _sign_in(client, "a" * 300 + "@example.com", "x")
    assert response.status_code == 400
