"""Fuzzing the signed webhook (issue 14, section 3): valid events from tests/factories.py, mutated.

Mutations: fields left out or added, values of the wrong type, huge/negative/NaN amounts, bad currencies, dates
and zones, unicode junk (NUL, lone surrogates, RTL marks), deep nesting, huge strings, bodies that are not JSON.
Every body is correctly signed, so what answers is the contract, not the signature check.

What a sender would notice: never a 5xx; a refusal is a 4xx whose message and `errors` name the field at fault
(`body`, `webhook-id` or the dotted path of an event field); a refused body leaves nothing stored; an accepted
one is processed by the queue without a failed event.
"""
from __future__ import annotations

import datetime as dt
import itertools
import json

from hypothesis import event as hypothesis_event, example, given
from hypothesis import strategies as st
from sqlalchemy import func, select

from retention.extensions import db
from retention.hooks.models import InboundEvent
from retention.hooks.views import field_name
from retention.journeys.service import ensure_default_journey
from retention.postal.service import ensure_default_templates
from tests.factories import customer, event, iso, sale_completed
from tests.fuzz.strategies import bounded, deep_json, huge_text, junk_text, junk_values, numbers

EXAMPLES = 120
_ids = itertools.count(1)
UTC = dt.timezone.utc

# --- Valid events, each type, with values varied inside the contract -----------------------------------------

AMOUNTS = {"USD": ["649.00", "0.5", "0", "999999999999999.99"], "JPY": ["1200", "0"], "KWD": ["12.125", "0.001"],
           "IRR": ["15000000"], "EUR": ["12.50", "100"]}
ZONES = ["UTC", "Asia/Dubai", "Asia/Tehran", "Europe/Berlin", "America/St_Johns", "Pacific/Kiritimati"]
WHEN = st.datetimes(min_value=dt.datetime(2000, 1, 2), max_value=dt.datetime(2099, 12, 30),
                    timezones=st.sampled_from([UTC, dt.timezone(dt.timedelta(hours=14)),
                                               dt.timezone(dt.timedelta(hours=-12)),
                                               dt.timezone(dt.timedelta(hours=5, minutes=45))]))
NAMES = st.sampled_from(["Layla Haddad", "علي رضايي", "مریم احمدی", "Zoë O'Brien-Łukasz", "李小龍", "x"])


# Records made before the run, so some mutated events land on a customer, sale and complaint that exist.
KNOWN_CUSTOMER, KNOWN_SALE, KNOWN_COMPLAINT = "FZC-known", "FZS-known", "FZK-known"


def _uid(prefix: str) -> str:
    return f"{prefix}{next(_ids)}"


@st.composite
def valid_events(draw) -> dict:
    kind = draw(st.sampled_from(["customer.upserted", "sale.completed", "sale.delivered", "sale.refunded",
                                 "complaint.opened", "complaint.resolved", "nps.response", "customer.churned"]))
    when = draw(WHEN)
    cust = customer(_uid("FZC"), draw(NAMES), timezone=draw(st.sampled_from(ZONES)),
                    locale=draw(st.sampled_from(["en", "ar", "fa", "en-GB"])))
    if kind == "customer.upserted":
        return event(kind, {"customer": cust}, when)
    if kind == "sale.completed":
        currency = draw(st.sampled_from(sorted(AMOUNTS)))
        return sale_completed(_uid("FZS"), cust, draw(st.sampled_from(AMOUNTS[currency])), currency, when)
    if kind == "sale.delivered":
        return event(kind, {"sale_id": draw(st.sampled_from([KNOWN_SALE, _uid("FZS")])),
                            "delivered_at": iso(draw(WHEN))}, when)
    if kind == "sale.refunded":
        return event(kind, {"sale_id": draw(st.sampled_from([KNOWN_SALE, _uid("FZS")])), "reason": "broken"}, when)
    if kind == "complaint.opened":
        return event(kind, {"complaint_id": _uid("FZK"), "customer_id": cust["id"], "channel": "phone",
                            "category": "delivery", "summary": "Late\nand damaged", "severity": "high"}, when)
    if kind == "complaint.resolved":
        return event(kind, {"complaint_id": draw(st.sampled_from([KNOWN_COMPLAINT, _uid("FZK")])),
                            "resolution": "Replaced"}, when)
    if kind == "nps.response":
        return event(kind, {"customer_id": draw(st.sampled_from([KNOWN_CUSTOMER, cust["id"]])), "score": draw(st.integers(0, 10)), "comment": "ok"}, when)
    return event(kind, {"customer_id": cust["id"], "reason": "moved away"}, when)


# --- Mutations -------------------------------------------------------------------------------------------------

# Values aimed at one kind of field (chosen by the field's name).
AIMED = {
    "amount": st.one_of(numbers, st.sampled_from(["-1", "-0", "NaN", "Infinity", "1e3", "1_000", " 5", "5 ",
                                                  "1234567890123456", "0.0001", "٣٠٠", "5,00", "+5", "",
                                                  "9" * 5000, "12.345"])),
    "currency": st.sampled_from(["usd", "XXX", "EURO", "", "ÉUR", "XTS", "DEM", "US", "U\x00D", 840, None]),
    "occurred_at": st.sampled_from(["2026-13-01T00:00:00Z", "2026-03-02T10:00:00", "2026-03-02", "yesterday",
                                    "2026-03-02T10:00:00+15:00", "2026-03-02T10:00:00+05:30:30", "1999-12-31T23:59Z",
                                    "2100-01-01T00:00:00Z", "0001-01-01T00:00:00-14:00", "9999-12-31T23:59:59+14:00",
                                    "2026-03-02T10:00:00.1234567890Z", "２０２６-03-02T10:00:00Z", 1767225600]),
    "timezone": st.sampled_from(["Mars/Olympus", "localtime", "Factory", "../../etc/passwd", "UTC\n", "utc", "",
                                 "EST5EDT", "+04:00", "Asia/Dubai\x00", 4]),
    "score": st.one_of(numbers, st.sampled_from(["9", 9.0, 9.5, True, -1, 11])),
    "country": st.sampled_from(["ae", "XX", "ZZ", "EU", "AEE", "", "A\u200f", 1]),
    "phone": st.sampled_from(["12", "+999999999999999999", "phone", "+971 50 123 4567\x00", "٠٥٠١٢٣٤٥٦٧", ""]),
    "email": st.sampled_from(["not-an-email", "a@b", "@example.com", "a" * 300 + "@example.com", "a@\u202eb.com"]),
    "locale": st.sampled_from(["EN", "english", "en_\n", "x", "en-GB-oxendict", ""]),
    "type": st.sampled_from(["sale.completed", "sale.cancelled", "", "SALE.COMPLETED", None, 1]),
}
AIMED["delivered_at"] = AIMED["occurred_at"]


def _paths(value, prefix=()):
    """Every (path, value) in a JSON tree, the root excluded."""
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in items:
        yield prefix + (key,), child
        yield from _paths(child, prefix + (key,))


def _parent(body, path):
    node = body
    for key in path[:-1]:
        node = node[key]
    return node


@st.composite
def mutated(draw):
    """(body bytes, the path mutated or None, what was done)."""
    body = draw(valid_events())
    kind = draw(st.sampled_from(["none", "drop", "extra", "replace", "replace", "replace", "aimed", "aimed",
                                 "raw"]))
    if kind == "raw":
        raw = draw(st.one_of(
            st.binary(max_size=40),
            st.sampled_from([b"", b"{", b"null", b"[]", b'"event"', b"42", b"\xff\xfe{}", b'{"type": NaN}',
                             b"\xef\xbb\xbf{}", deep_json(5000), deep_json(5000, "dict"), b'{"a": 1, "a": 2}',
                             '{"type": "sale.completed\ud800"}'.encode("utf-8", "surrogatepass")]),
            st.just(json.dumps(body, ensure_ascii=False).encode()[:-1]),         # cut short
        ))
        return raw, None, "raw"
    path = None
    if kind != "none":
        paths = [p for p, _ in _paths(body)]
        path = draw(st.sampled_from(paths))
        parent = _parent(body, path)
        if kind == "drop":
            if isinstance(parent, dict):
                del parent[path[-1]]
            else:
                parent.pop(path[-1])
        elif kind == "extra":
            holder = parent if isinstance(parent, dict) else body
            name = draw(st.one_of(junk_text, st.just("unexpected")))
            if name in holder:
                name += "_extra"
            holder[name] = draw(junk_values)
            path = (path[:-1] if holder is parent else ()) + (name,)
        elif kind == "aimed" and path[-1] in AIMED:
            parent[path[-1]] = draw(AIMED[path[-1]])
        else:
            parent[path[-1]] = draw(st.one_of(junk_values, huge_text(500)))
    ascii_only = draw(st.booleans())
    try:
        raw = json.dumps(body, ensure_ascii=ascii_only).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate sent as raw (invalid) UTF-8 bytes
        raw = json.dumps(body, ensure_ascii=False).encode("utf-8", "surrogatepass")
    return raw, path, kind


def _error_paths(messages, prefix=()):
    """Each field the answer's `errors` names, as a tuple of keys."""
    for key, value in messages.items():
        if isinstance(value, dict):
            yield from _error_paths(value, prefix + (key,))
        else:
            yield prefix + (key,)


def _related(a: tuple, b: tuple) -> bool:
    """One path holds the other (an error on an object names the object; a list's error may name the item)."""
    n = min(len(a), len(b))
    return tuple(map(str, a[:n])) == tuple(map(str, b[:n]))


def _stored() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(InboundEvent))


def _check(client, signer, queue, raw: bytes, path, kind: str):
    before = _stored()
    answer = client.post("/hooks/events", data=raw, headers=signer.headers(raw))
    status = answer.status_code
    hypothesis_event(f"{kind}: {status}")
    assert status < 500, answer.get_data(as_text=True)[:500]
    if status >= 400:
        assert status in (413, 422), (status, answer.get_data(as_text=True)[:300])
        reply = answer.get_json()
        assert reply["status"] == "rejected"
        message = reply["message"]
        assert _stored() == before, "a refused body was stored"
        if status == 413:
            assert message.startswith("body: ")
            return
        named = list(_error_paths(reply["errors"]))
        shown = [".".join(field_name(k) for k in p) for p in named]
        assert named and all(shown), reply
        if message.startswith("invalid fields: "):
            assert sorted(message[len("invalid fields: "):].split(", ")) == sorted(shown), reply
        else:
            assert len(named) == 1 and message.startswith(shown[0] + ": "), reply
        if path is not None and kind != "none" and path[0] != "type":
            # the error names the field that was changed, or the object holding it (a check of several fields)
            assert any(_related(path, p) or p == ("body",) for p in named), (path, named)
        return
    assert status == 202, (status, answer.get_data(as_text=True)[:300])
    assert _stored() == before + 1
    queue.drain()
    db.session.rollback()
    row = db.session.scalars(select(InboundEvent).order_by(InboundEvent.id.desc()).limit(1)).one()
    assert row.status in ("processed", "waiting"), (row.type, row.status, row.last_error)
    assert row.status == "waiting" or row.last_error is None, (row.type, row.last_error)


def test_mutated_webhook_bodies_are_refused_by_field_or_processed(app, client, signer, queue):
    start = dt.datetime(2026, 1, 1, tzinfo=UTC)
    ensure_default_journey(db.session, start)
    ensure_default_templates(db.session, start)
    db.session.commit()
    assert signer.post(client, sale_completed(KNOWN_SALE, customer(KNOWN_CUSTOMER))).status_code == 202
    assert signer.post(client, event("complaint.opened", {
        "complaint_id": KNOWN_COMPLAINT, "customer_id": KNOWN_CUSTOMER, "channel": "email", "category": "delivery",
        "summary": "Late"})).status_code == 202
    queue.drain()

    @given(case=mutated())
    @example(case=(json.dumps(sale_completed("FZS-nan", amount=float("nan"))).encode(), ("data", "amount"),
                   "replace"))
    @example(case=(json.dumps(sale_completed("FZS-big", amount="1" * 16)).encode(), ("data", "amount"), "aimed"))
    @example(case=(json.dumps(sale_completed("FZS-cur", currency="usd")).encode(), ("data", "currency"), "aimed"))
    @example(case=(deep_json(100_000), None, "raw"))
    # an unknown field named "" was listed as "data" in the message: now `data.""`
    @example(case=(json.dumps(event("customer.churned", {"customer_id": "C1", "": None})).encode(), ("data", ""),
                   "extra"))
    @example(case=(json.dumps(sale_completed("FZS-tz", customer(timezone="localtime"))).encode(),
                   ("data", "customer", "timezone"), "aimed"))
    @bounded(EXAMPLES)
    def run(case):
        raw, path, kind = case
        _check(client, signer, queue, raw, path, kind)

    run()
