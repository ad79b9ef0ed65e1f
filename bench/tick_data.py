"""Bulk data for bench/tick.py: 100,000 customers and 1,000,000 touchpoints in plain SQL.

Everything is generated server-side with INSERT ... SELECT generate_series, in one transaction with
foreign-key triggers off (session_replication_role = replica; the rows are consistent by
construction) and the secondary indexes dropped and rebuilt afterwards, then VACUUM ANALYZE.

Layout (N customers, g = 1..N; ids are explicit and the sequences are moved past them):

* customer g, sale g and enrollment g (on the default journey) belong together.
* Owners: customers with g % 800 == 400 (N/800 of them, 125 at 100,000) belong to the "page owner"
  (the staff member whose My calls page is timed); the others to the 9 other onboarding staff.
* Touchpoint (g, j) for step position j = 0..9 has id (g - 1) * 10 + j + 1; calls carry the owner.
* Exactly one touchpoint per enrollment is due at `now` (0-72 h overdue, a backlog), the step
  being g % 10 (so every kind is in the mix), except:
    - the page owner's customers: mostly a non-call step, a call for every 25th, so the owner
      ends up with a few overdue calls rather than a thousand;
    - the showcase customer (g = 400, the page owner's): a consistent 31-day-old journey with its
      steps 0-3 due, for a full customer page;
    - enrollments N-3, N-2, N-1: none due, making up for the showcase's three extra.
  All other touchpoints are 1-90 days in the future.
* History around it: 3 processed inbound events per customer (upserted, sale.completed,
  delivered), NPS answers (and their events) for 30 % of customers, complaints for 2 % (half
  open), one no-answer call attempt for 20 % (on their check-in call), extra history on the
  showcase customer.
"""
from __future__ import annotations

import datetime as dt

SHOWCASE = 400
PAGE_OWNER_MOD, PAGE_OWNER_REM = 800, 400

FIRST = ["Layla", "Omar", "Fatima", "Ahmed", "Noura", "Yusuf", "Mariam", "Khalid", "Sara", "Hassan", "Emma",
         "Oliver", "Amelia", "George", "Isla", "Harry", "Olivia", "Jack", "Sophia", "Liam", "Ava", "Noah",
         "Mia", "Ethan", "Zahra", "Reza", "Maryam", "Ali", "Hannah", "Lukas", "Aisha", "Daniel"]
LAST = ["Haddad", "Al Mansouri", "Khan", "Rahimi", "Smith", "Jones", "Taylor", "Brown", "Williams", "Johnson",
        "Garcia", "Miller", "Davis", "Nasser", "Farouk", "Hosseini", "Karimi", "Schmidt", "Wilson", "Evans",
        "Thomas", "Roberts", "Al Hashimi", "Saleh", "O'Brien", "Kowalski", "Nguyen"]
ARABIC = ["ليلى حداد", "عمر المنصوري", "فاطمة خان", "أحمد الهاشمي", "نورة صالح", "يوسف ناصر", "مريم فاروق"]
# zone, country, locale, currency, city, phone prefix
ZONES = [("Asia/Dubai", "AE", "ar", "AED", "Dubai", "+97150"),
         ("Europe/London", "GB", "en", "GBP", "London", "+44770"),
         ("America/New_York", "US", "en", "USD", "New York", "+1212"),
         ("Asia/Riyadh", "SA", "ar", "SAR", "Riyadh", "+96655"),
         ("Europe/Berlin", "DE", "en", "EUR", "Berlin", "+49151")]
PRODUCTS = [("Espresso machine Pro", "kitchen"), ("Robot vacuum S8", "home"), ("Standing desk", "office"),
            ("Road bike Carbon", "sports"), ("Sofa Oslo 3-seat", "furniture"), ("Air purifier", "home"),
            ("Smart TV 65\"", "electronics"), ("Washing machine 9 kg", "appliances")]
STREETS = ["Sheikh Zayed Road", "High Street", "Main Street", "King Fahd Road", "Hauptstrasse", "Al Wasl Road"]


def _arr(values) -> str:
    """A SQL text[] literal (values never come from outside this file)."""
    return "ARRAY[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]::text[]"


def _owner_expr(col: str, page_owner: int, others: list[int]) -> str:
    return (f"CASE WHEN {col} % {PAGE_OWNER_MOD} = {PAGE_OWNER_REM} THEN {page_owner} "
            f"ELSE ({'ARRAY[' + ','.join(map(str, others)) + ']'})[1 + {col} % {len(others)}] END")


def statements(n: int, page_owner: int, others: list[int], journey_id: int, steps: list[dict]) -> list[tuple[str, str]]:
    """(label, SQL) pairs; the SQL takes the parameter %(now)s (timestamptz)."""
    z = lambda i: _arr([row[i] for row in ZONES])
    nz = len(ZONES)
    step_ids = "(ARRAY[" + ",".join(str(s["id"]) for s in steps) + "])"
    kinds = "(" + _arr([s["kind"] for s in steps]) + ")"
    offsets = "(ARRAY[" + ",".join(str(s["day_offset"]) for s in steps) + "])"
    zero_due = f"({n - 3}, {n - 2}, {n - 1})"
    # Page owner's customers: k-th of them; a call (step 1) is due for every 25th, else a non-call step.
    k = f"((g - {PAGE_OWNER_REM}) / {PAGE_OWNER_MOD})"
    due_pos = (f"CASE WHEN g % {PAGE_OWNER_MOD} = {PAGE_OWNER_REM} THEN "
               f"(CASE WHEN {k} % 25 = 0 THEN 1 ELSE (ARRAY[0,3,7,8,9])[1 + {k} % 5] END) ELSE g % 10 END")
    anchor = (f"CASE WHEN g = {SHOWCASE} THEN %(now)s - interval '31 days' "
              f"ELSE %(now)s - (g % 60) * interval '1 day' - (g % 1440) * interval '1 minute' END")
    name = (f"CASE WHEN g % 7 = 3 THEN ({_arr(ARABIC)})[1 + g % {len(ARABIC)}] "
            f"ELSE ({_arr(FIRST)})[1 + g % {len(FIRST)}] || ' ' || ({_arr(LAST)})[1 + (g / 7) % {len(LAST)}] END")
    ext = "'C' || lpad(g::text, 7, '0')"
    sale_ext = "'S' || lpad(g::text, 7, '0')"
    amount = "round((49 + (g * 7919) % 300000 / 100.0)::numeric, 2)"
    product = f"({_arr([p for p, _ in PRODUCTS])})[1 + g % {len(PRODUCTS)}]"
    category = f"({_arr([c for _, c in PRODUCTS])})[1 + g % {len(PRODUCTS)}]"
    out = []

    out.append(("customers", f"""
        INSERT INTO customers (id, external_id, name, email, phone, locale, timezone, address_lines, city, region,
                               postal_code, country, source_updated_at, owner_id, created_at, updated_at)
        SELECT g, {ext}, {name}, 'customer' || g || '@example.net',
               ({z(5)})[1 + g % {nz}] || lpad(((g * 7919) % 10000000)::text, 7, '0'),
               ({z(2)})[1 + g % {nz}], ({z(0)})[1 + g % {nz}],
               json_build_array((1 + g % 200)::text || ' ' || ({_arr(STREETS)})[1 + g % {len(STREETS)}]),
               ({z(4)})[1 + g % {nz}], '', lpad((10000 + g % 89999)::text, 5, '0'), ({z(1)})[1 + g % {nz}],
               ({anchor}) - interval '3 days', {_owner_expr('g', page_owner, others)},
               ({anchor}) - interval '3 days', ({anchor}) - interval '3 days'
        FROM generate_series(1, {n}) g"""))

    out.append(("sales", f"""
        INSERT INTO sales (id, external_id, customer_id, amount, currency, product, category, sold_at, delivered_at,
                           created_at)
        SELECT g, {sale_ext}, g, {amount}, ({z(3)})[1 + g % {nz}], {product}, {category},
               ({anchor}) - interval '3 days', {anchor}, ({anchor}) - interval '3 days'
        FROM generate_series(1, {n}) g"""))

    out.append(("enrollments", f"""
        INSERT INTO enrollments (id, customer_id, sale_id, journey_id, status, anchor_at, enrolled_at)
        SELECT g, g, g, {journey_id}, 'active', {anchor}, ({anchor}) - interval '3 days'
        FROM generate_series(1, {n}) g"""))

    is_due = (f"CASE WHEN g = {SHOWCASE} THEN j <= 3 WHEN g IN {zero_due} THEN false "
              f"ELSE j = ({due_pos}) END")
    due_at = (f"CASE WHEN g = {SHOWCASE} THEN %(now)s - interval '31 days' + {offsets}[j + 1] * interval '1 day' "
              f"+ interval '11 hours' "
              f"WHEN {is_due} THEN %(now)s - (1 + (g * 37) % 4320) * interval '1 minute' "
              f"ELSE %(now)s + interval '1 day' + ((g * 7 + j * 13) % 89) * interval '1 day' "
              f"+ ((g * 13 + j * 61) % 600) * interval '1 minute' END")
    retried = "(g % 5 = 0 AND j = 1)"
    out.append(("touchpoints", f"""
        INSERT INTO touchpoints (id, enrollment_id, step_id, customer_id, kind, due_at, status, owner_id, attempts,
                                 reason)
        SELECT (g - 1) * 10 + j + 1, g, {step_ids}[j + 1], g, {kinds}[j + 1], {due_at}, 'scheduled',
               CASE WHEN {kinds}[j + 1] = 'call' THEN c.owner_id END,
               CASE WHEN {retried} THEN 1 ELSE 0 END,
               CASE WHEN {retried} THEN 'retry 2 of 3 after no_answer' END
        FROM (SELECT id AS g, owner_id FROM customers) c CROSS JOIN generate_series(0, 9) j"""))

    out.append(("call_attempts", """
        INSERT INTO call_attempts (id, touchpoint_id, customer_id, staff_id, at, outcome, sentiment, notes)
        SELECT g / 5, (g - 1) * 10 + 2, g, c.owner_id, %(now)s - interval '1 day' - (g % 72) * interval '1 hour',
               'no_answer', NULL, CASE WHEN g % 15 = 0 THEN 'left a message with the front desk' ELSE '' END
        FROM (SELECT id AS g, owner_id FROM customers WHERE id % 5 = 0) c"""))

    customer_json = ("json_build_object('id', c.external_id, 'name', c.name, 'email', c.email, 'phone', c.phone, "
                     "'locale', c.locale, 'timezone', c.timezone, 'address', json_build_object('lines', "
                     "c.address_lines, 'city', c.city, 'region', '', 'postal_code', c.postal_code, "
                     "'country', c.country))")
    out.append(("inbound_events", f"""
        INSERT INTO inbound_events (id, webhook_id, type, occurred_at, received_at, data, customer_ref, sale_ref,
                                    status, attempts, processed_at)
        SELECT (c.id - 1) * 3 + t, 'msg_' || c.id || '_' || t,
               (ARRAY['customer.upserted', 'sale.completed', 'sale.delivered'])[t],
               s.sold_at + (t - 1) * interval '1 minute' + (t / 3) * (s.delivered_at - s.sold_at),
               s.sold_at + (t - 1) * interval '1 minute' + (t / 3) * (s.delivered_at - s.sold_at) + interval '2 seconds',
               CASE t WHEN 1 THEN json_build_object('customer', {customer_json})
                      WHEN 2 THEN json_build_object('sale_id', s.external_id, 'customer', {customer_json},
                                                    'amount', s.amount::text, 'currency', s.currency,
                                                    'product', s.product, 'category', s.category)
                      ELSE json_build_object('sale_id', s.external_id, 'delivered_at', s.delivered_at) END,
               c.external_id, CASE WHEN t > 1 THEN s.external_id END, 'processed', 1,
               s.sold_at + (t - 1) * interval '1 minute' + (t / 3) * (s.delivered_at - s.sold_at) + interval '3 seconds'
        FROM customers c JOIN sales s ON s.customer_id = c.id CROSS JOIN generate_series(1, 3) t"""))

    nps_event_id = f"{3 * n} + ((g - 1) / 10) * 3 + g % 10"
    nps_at = "%(now)s - (2 + g % 20) * interval '1 day'"
    out.append(("nps events", f"""
        INSERT INTO inbound_events (id, webhook_id, type, occurred_at, received_at, data, customer_ref, status,
                                    attempts, processed_at)
        SELECT {nps_event_id}, 'msg_nps_' || g, 'nps.response', {nps_at}, {nps_at}, json_build_object(
                   'customer_id', {ext}, 'score', (g * 7) % 11,
                   'comment', CASE WHEN g % 3 = 0 THEN 'Works well, delivery was late' END),
               {ext}, 'processed', 1, {nps_at}
        FROM generate_series(1, {n}) g WHERE g % 10 IN (1, 2, 3)"""))
    out.append(("nps_answers", f"""
        INSERT INTO nps_answers (id, customer_id, score, comment, answered_at, source, event_id)
        SELECT {nps_event_id} - {3 * n}, g, (g * 7) % 11,
               CASE WHEN g % 3 = 0 THEN 'Works well, delivery was late' END, {nps_at}, 'event', {nps_event_id}
        FROM generate_series(1, {n}) g WHERE g % 10 IN (1, 2, 3)"""))

    first_complaint_event = 3 * n + 3 * ((n + 9) // 10) + 1
    opened = "%(now)s - (1 + g % 10) * interval '1 day'"
    out.append(("complaints", f"""
        INSERT INTO complaints (id, external_id, customer_id, status, source, answers, reopened_count, channel,
                                category, summary, severity, opened_at, resolved_at, resolution)
        SELECT (g - 7) / 50 + 1, 'CMP-' || g, g, CASE WHEN g % 100 = 7 THEN 'new' ELSE 'closed' END,
               'event', '{{}}', 0, 'phone', 'delivery', 'Parcel arrived damaged', 'medium', {opened},
               CASE WHEN g % 100 <> 7 THEN {opened} + interval '1 day' END,
               CASE WHEN g % 100 <> 7 THEN 'Replacement sent' END
        FROM generate_series(1, {n}) g WHERE g % 50 = 7"""))
    out.append(("complaint events", f"""
        INSERT INTO inbound_events (id, webhook_id, type, occurred_at, received_at, data, customer_ref, status,
                                    attempts, processed_at)
        SELECT {first_complaint_event} + ((g - 7) / 50) * 2 + t - 1, 'msg_cmp_' || g || '_' || t,
               (ARRAY['complaint.opened', 'complaint.resolved'])[t], {opened} + (t - 1) * interval '1 day',
               {opened} + (t - 1) * interval '1 day',
               CASE t WHEN 1 THEN json_build_object('complaint_id', 'CMP-' || g, 'customer_id', {ext},
                                                    'channel', 'phone', 'category', 'delivery',
                                                    'summary', 'Parcel arrived damaged')
                      ELSE json_build_object('complaint_id', 'CMP-' || g, 'resolution', 'Replacement sent') END,
               {ext}, 'processed', 1, {opened} + (t - 1) * interval '1 day'
        FROM generate_series(1, {n}) g CROSS JOIN generate_series(1, 2) t
        WHERE g % 50 = 7 AND (t = 1 OR g % 100 <> 7)"""))

    # The showcase customer: a 31-day-old journey with a detractor answer, a complaint and several calls.
    sg = SHOWCASE
    sext = f"'C{sg:07d}'"
    extra = 10 * n  # ids far past the generated ones
    out.append(("showcase", f"""
        INSERT INTO inbound_events (id, webhook_id, type, occurred_at, received_at, data, customer_ref, status,
                                    attempts, processed_at)
        VALUES ({extra + 1}, 'msg_show_1', 'nps.response', %(now)s - interval '3 days', %(now)s - interval '3 days',
                json_build_object('customer_id', {sext}, 'score', 5, 'comment', 'The milk frother broke after a week'),
                {sext}, 'processed', 1, %(now)s - interval '3 days'),
               ({extra + 2}, 'msg_show_2', 'complaint.opened', %(now)s - interval '2 days',
                %(now)s - interval '2 days', json_build_object('complaint_id', 'CMP-SHOW', 'customer_id', {sext},
                'channel', 'email', 'category', 'product', 'summary', 'Milk frother broken'),
                {sext}, 'processed', 1, %(now)s - interval '2 days'),
               ({extra + 3}, 'msg_show_3', 'customer.upserted', %(now)s - interval '20 days',
                %(now)s - interval '20 days', json_build_object('customer', json_build_object('id', {sext},
                'phone', '+971501112233')), {sext}, 'processed', 1, %(now)s - interval '20 days');
        INSERT INTO nps_answers (id, customer_id, score, comment, answered_at, source, event_id)
        VALUES ({extra + 1}, {sg}, 5, 'The milk frother broke after a week', %(now)s - interval '3 days', 'event',
                {extra + 1});
        INSERT INTO complaints (id, external_id, customer_id, status, source, answers, reopened_count, channel,
                                category, summary, severity, opened_at)
        VALUES ({extra + 1}, 'CMP-SHOW', {sg}, 'new', 'event', '{{}}', 0, 'email', 'product', 'Milk frother broken', 'high',
                %(now)s - interval '2 days');
        INSERT INTO call_attempts (id, touchpoint_id, customer_id, staff_id, at, outcome, sentiment, notes)
        VALUES ({extra + 1}, {(sg - 1) * 10 + 2}, {sg}, {page_owner}, %(now)s - interval '26 days', 'voicemail',
                NULL, 'left a voicemail'),
               ({extra + 2}, {(sg - 1) * 10 + 2}, {sg}, {page_owner}, %(now)s - interval '25 days', 'reached',
                'happy', 'All fine, set up with the installer'),
               ({extra + 3}, {(sg - 1) * 10 + 3}, {sg}, {page_owner}, %(now)s - interval '16 days', 'reached',
                'neutral', 'Uses it daily; asks about descaling')"""))
    return out


SEQUENCE_TABLES = ("customers", "sales", "enrollments", "touchpoints", "call_attempts", "inbound_events",
                   "nps_answers", "complaints")
BULK_TABLES = SEQUENCE_TABLES


def load(url: str, metadata, n: int, page_owner: int, others: list[int], journey_id: int, steps: list[dict],
         now: dt.datetime, log=print) -> dict[str, float]:
    """Insert everything, rebuild the indexes, VACUUM ANALYZE; returns seconds per phase."""
    import time

    import psycopg
    from sqlalchemy.dialects import postgresql
    from sqlalchemy.schema import CreateIndex

    dialect = postgresql.dialect()
    indexes = [ix for name in BULK_TABLES for ix in metadata.tables[name].indexes]
    timings: dict[str, float] = {}
    with psycopg.connect(url, connect_timeout=5, options="-c statement_timeout=600000") as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute("SET maintenance_work_mem = '512MB'")
        for ix in indexes:
            conn.execute(f'DROP INDEX IF EXISTS "{ix.name}"')
        for label, sql in statements(n, page_owner, others, journey_id, steps):
            t0 = time.perf_counter()
            for part in [p for p in sql.split(";\n") if p.strip()]:
                # psycopg placeholders: every literal % (modulo) doubled, %(now)s kept.
                conn.execute(part.replace("%", "%%").replace("%%(now)s", "%(now)s"), {"now": now})
            timings[label] = time.perf_counter() - t0
            log(f"  loaded {label:<17} {timings[label]:6.1f} s")
        t0 = time.perf_counter()
        for ix in indexes:
            conn.execute(str(CreateIndex(ix).compile(dialect=dialect)))
        timings["indexes"] = time.perf_counter() - t0
        log(f"  rebuilt {len(indexes)} indexes   {timings['indexes']:6.1f} s")
        for table in SEQUENCE_TABLES:
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                         f"(SELECT coalesce(max(id), 1) FROM {table}))")
        conn.commit()
    t0 = time.perf_counter()
    with psycopg.connect(url, connect_timeout=5, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    timings["vacuum analyze"] = time.perf_counter() - t0
    log(f"  VACUUM ANALYZE           {timings['vacuum analyze']:6.1f} s")
    return timings
