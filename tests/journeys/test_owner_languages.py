"""New customers go to an owner who speaks their language (issue 9, item 6): round-robin within capacity among
the speakers, falling back to anyone (flagged on the enrollment, the timeline and the load report)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from retention.extensions import db
from retention.journeys.models import NO_ROOM, NO_SPEAKER, Enrollment
from retention.journeys.reports import call_load
from retention.journeys.service import ensure_default_journey
from retention.postal.service import ensure_default_templates
from retention.tick import run as tick
from tests.factories import customer, sale_completed, staff

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 3, 2, 6, 0, tzinfo=UTC)  # a Monday


def _journey():
    ensure_default_journey(db.session, dt.datetime(2026, 1, 1, tzinfo=UTC))
    ensure_default_templates(db.session, dt.datetime(2026, 1, 1, tzinfo=UTC))
    db.session.commit()


def _sell(client, signer, n, locale, **extra):
    cust = customer(f"C{n}", locale=locale, **extra)
    assert signer.post(client, sale_completed(f"S{n}", cust=cust, occurred_at=T0)).status_code == 202


def _enrollment(n) -> Enrollment:
    db.session.expire_all()
    return db.session.scalar(select(Enrollment).where(Enrollment.customer.has(external_id=f"C{n}")))


def test_a_persian_customer_goes_to_the_persian_speaker(app, client, signer):
    _journey()
    emma = staff(app, "emma@example.com", "onboarding", name="Emma", languages=["en"])
    sara = staff(app, "sara@example.com", "onboarding", name="Sara", locale="fa", languages=["fa", "en"])
    omar = staff(app, "omar@example.com", "onboarding", name="Omar", locale="ar", languages=["ar"])
    for n, locale in enumerate(["fa", "fa-IR", "ar_AE", "en-GB", "fa"]):
        _sell(client, signer, n, locale, timezone="Asia/Tehran")
    tick(T0)
    owners = [_enrollment(n).customer.owner_id for n in range(5)]
    assert owners[0] == owners[1] == owners[4] == sara.id  # Persian, however the locale is written
    assert owners[2] == omar.id
    assert owners[3] in (emma.id, sara.id)  # both speak English
    assert all(_enrollment(n).owner_fallback is None for n in range(5))
    assert all(_enrollment(n).assigned_owner_id == owners[n] for n in range(5))


def test_round_robin_among_several_speakers(app, client, signer):
    _journey()
    staff(app, "emma@example.com", "onboarding", name="Emma", languages=["en"])
    speakers = [staff(app, f"fa{i}@example.com", "onboarding", name=f"Speaker {i}", locale="fa", languages=["fa"])
                for i in range(3)]
    for n in range(6):
        _sell(client, signer, n, "fa", timezone="Asia/Tehran")
        if n == 2:  # an English customer in between does not take a Persian speaker's turn
            _sell(client, signer, 100, "en")
    tick(T0)
    owners = [_enrollment(n).customer.owner_id for n in range(6)]
    ids = [s.id for s in speakers]
    assert sorted(owners[:3]) == sorted(ids) and sorted(owners[3:]) == sorted(ids)  # each in turn, twice
    # The turn is kept between batches: the next Persian customer goes to the one after the last.
    _sell(client, signer, 7, "fa", timezone="Asia/Tehran")
    tick(T0 + dt.timedelta(minutes=5))
    assert _enrollment(7).customer.owner_id == ids[(ids.index(owners[5]) + 1) % 3]


def test_all_persian_speakers_full_gives_someone_else_flagged(app, client, signer):
    _journey()
    sara = staff(app, "sara@example.com", "onboarding", name="Sara", locale="fa", languages=["fa"],
                 daily_call_capacity=1)
    emma = staff(app, "emma@example.com", "onboarding", name="Emma Clarke", languages=["en"])
    _sell(client, signer, 1, "fa", timezone="Asia/Tehran")
    _sell(client, signer, 2, "fa", timezone="Asia/Tehran")
    tick(T0)
    first, second = _enrollment(1), _enrollment(2)
    assert first.customer.owner_id == sara.id and first.owner_fallback is None
    assert second.customer.owner_id == emma.id
    assert (second.owner_fallback, second.owner_language, second.assigned_owner_id) == (NO_ROOM, "fa", emma.id)
    # counted on the load report, against the owner who got them
    load = call_load(db.session, T0, days=7)
    assert load["rows"][emma.id]["fallbacks"] == 1 and load["rows"][sara.id]["fallbacks"] == 0


def test_nobody_speaks_it_is_flagged_as_such_and_shown_on_the_timeline(app, client, signer, auth):
    _journey()
    staff(app, "emma@example.com", "onboarding", name="Emma Clarke", languages=["en"])
    _sell(client, signer, 1, "tr", timezone="Europe/Istanbul")
    tick(T0)
    assert (_enrollment(1).owner_fallback, _enrollment(1).owner_language) == (NO_SPEAKER, "tr")
    auth.login("emma@example.com")
    page = client.get("/customers/C1").get_data(as_text=True)
    assert "Assigned to" in page and "Emma Clarke" in page
    assert "does not speak Turkish: nobody in onboarding speaks it" in page


def test_the_fallback_reads_in_the_viewers_language_on_the_timeline(app, client, signer, auth):
    _journey()
    staff(app, "sara@example.com", "onboarding", name="Sara", locale="fa", languages=["fa"], daily_call_capacity=1)
    staff(app, "emma@example.com", "onboarding", name="Emma Clarke", locale="fa", languages=["en"])
    _sell(client, signer, 1, "fa", timezone="Asia/Tehran")
    _sell(client, signer, 2, "fa", timezone="Asia/Tehran")
    tick(T0)
    assert _enrollment(2).owner_fallback == NO_ROOM
    auth.login("emma@example.com")  # her pages are in Persian
    page = client.get("/customers/C2").get_data(as_text=True)
    assert "فارسی صحبت نمی‌کند" in page and "does not speak" not in page


def test_everyone_full_still_prefers_a_speaker(app, client, signer):
    _journey()
    sara = staff(app, "sara@example.com", "onboarding", name="Sara", languages=["fa"], daily_call_capacity=1)
    staff(app, "emma@example.com", "onboarding", name="Emma", languages=["en"], daily_call_capacity=1)
    for n in range(4):
        _sell(client, signer, n, "fa" if n else "en", timezone="Asia/Tehran")
    tick(T0)
    # C0 (English) -> Emma, C1 -> Sara; then everyone is full: the Persian customers stay with Sara, unflagged.
    assert [_enrollment(n).customer.owner_id for n in (2, 3)] == [sara.id, sara.id]
    assert _enrollment(3).owner_fallback is None


def test_the_batch_reads_the_owners_once(app, client, signer):
    """Enrolling a batch of customers of mixed languages: the people are read once, not per customer."""
    from sqlalchemy import event

    _journey()
    for i, langs in enumerate((["fa"], ["ar"], ["en"], ["en", "fa"])):
        staff(app, f"s{i}@example.com", "onboarding", name=f"S{i}", languages=langs)
    for n in range(40):
        _sell(client, signer, n, ("fa", "ar", "en", "de")[n % 4])
    statements = []

    def count(conn, cursor, statement, *args):
        if "FROM staff_users" in statement and "round_robin" not in statement:
            statements.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        tick(T0)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert db.session.scalar(select(func.count()).select_from(Enrollment)) == 40
    people_reads = [s for s in statements if "staff_users.role" in s]
    assert len(people_reads) == 1, people_reads


def test_the_load_report_page_counts_customers_in_a_language_the_owner_does_not_speak(app, client, signer, auth,
                                                                                      clock):
    clock.set(T0)
    _journey()
    staff(app, "sara@example.com", "onboarding", name="Sara", locale="fa", languages=["fa"], daily_call_capacity=1)
    staff(app, "emma@example.com", "onboarding", name="Emma Clarke", languages=["en"])
    for n in (1, 2, 3):
        _sell(client, signer, n, "fa", timezone="Asia/Tehran")
    tick(T0)
    auth.login("emma@example.com")
    page = client.get("/reports/work").get_data(as_text=True)
    assert 'data-fallbacks="2"' in page and "2 customers in a language they don't speak" in page
    assert page.count("owner-fallbacks") == 1  # Sara's own Persian customer is not counted


def test_an_owner_whose_hours_never_meet_the_customers_goes_after_one_whose_do(app, client, signer):
    """Found by the ninety-day simulation (seed 3): an English customer in New York went to an English speaker in
    Tehran, whose 09:00-17:00 never meets 10:00-18:00 in New York, so every call was due outside the owner's hours."""
    from retention.journeys.models import Touchpoint
    from retention.journeys.planning import customer_window, owner_window
    from retention.journeys import calendar

    _journey()
    reza = staff(app, "reza@example.com", "onboarding", name="Reza", locale="fa", languages=["fa", "en"],
                 timezone="Asia/Tehran", country="IR")
    noah = staff(app, "noah@example.com", "onboarding", name="Noah", languages=["en"],
                 timezone="America/New_York", country="US")
    for n in range(4):
        _sell(client, signer, n, "en", timezone="America/New_York",
              address={"lines": ["350 Fifth Avenue"], "city": "New York", "region": "NY", "postal_code": "10118",
                       "country": "US"})
    _sell(client, signer, 9, "fa", timezone="Asia/Tehran")
    tick(T0)
    assert {_enrollment(n).customer.owner_id for n in range(4)} == {noah.id}  # not every other one to Reza
    assert _enrollment(9).customer.owner_id == reza.id  # a Persian customer in Tehran still goes to Reza
    db.session.expire_all()
    for tp in db.session.scalars(select(Touchpoint).where(Touchpoint.kind == "call", Touchpoint.step_id.is_not(None))):
        windows = [customer_window(tp.step, tp.customer), owner_window(tp.owner)]
        assert calendar.in_window(tp.due_at, windows[0]) and calendar.in_window(tp.due_at, windows[1]), tp.id


def test_when_no_speaker_can_reach_the_customer_someone_who_can_gets_them_flagged(app, client, signer):
    from retention.journeys.models import NO_HOURS

    _journey()
    staff(app, "reza@example.com", "onboarding", name="Reza", locale="fa", languages=["fa"],
          timezone="Asia/Tehran", country="IR")
    noah = staff(app, "noah@example.com", "onboarding", name="Noah", languages=["en"], timezone="America/New_York",
                 country="US")
    _sell(client, signer, 1, "fa", timezone="America/Los_Angeles",
          address={"lines": ["1 Main St"], "city": "Los Angeles", "region": "CA", "postal_code": "90001",
                   "country": "US"})
    tick(T0)
    enrollment = _enrollment(1)
    assert enrollment.customer.owner_id == noah.id and enrollment.owner_fallback == NO_HOURS
