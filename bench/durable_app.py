"""The durable baseline of bench/ingest.py: a bare Flask endpoint that verifies the same signature and stores the
raw event in PostgreSQL with one commit before it answers.

It is the least an endpoint can do and still keep the promise the real hook keeps (a 202 means the event is on
disk and is never lost, a repeated webhook-id is stored once), so the real hook's throughput divided by this one's
is the cost of everything else it does: validating the contract, the app's framework (sessions of SQLAlchemy,
Flask-Babel, security headers), queueing the job. Served by gunicorn with exactly the real app's settings.

Settings from the environment: DATABASE_URL (the bench database; `bench_raw_events` is created there by
bench/ingest.py) and RETENTION_WEBHOOK_SECRETS, as for the app. One psycopg connection per thread, kept open,
in autocommit: the INSERT is its own transaction, committed (and flushed to the WAL) before the answer.
"""
from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

import psycopg
from flask import Flask, jsonify, request

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from retention.hooks.signatures import SignatureError, verify  # noqa: E402  (the same check the app makes)

TABLE_DDL = ("CREATE TABLE IF NOT EXISTS bench_raw_events (id bigserial PRIMARY KEY, webhook_id text NOT NULL UNIQUE,"
             " body jsonb NOT NULL, received_at timestamptz NOT NULL DEFAULT now())")
INSERT = ("INSERT INTO bench_raw_events (webhook_id, body) VALUES (%s, %s) ON CONFLICT (webhook_id) DO NOTHING"
          " RETURNING id")

SECRETS = os.environ.get("RETENTION_WEBHOOK_SECRETS", "").split()
DATABASE_URL = os.environ.get("DATABASE_URL", "")
MAX_BYTES = 256 * 1024
TOLERANCE = 300

app = Flask(__name__)
_local = threading.local()


def connection() -> psycopg.Connection:
    conn = getattr(_local, "conn", None)
    if conn is None or conn.closed:
        # Autocommit: the INSERT is its own transaction and commit, one round trip (the fastest durable store; the
        # app does the same, so the ratio measures everything else).
        conn = _local.conn = psycopg.connect(DATABASE_URL, autocommit=True)
    return conn


@app.post("/hooks/events")
def receive_event():
    body = request.stream.read(MAX_BYTES + 1)
    if len(body) > MAX_BYTES:
        return jsonify({"status": "rejected", "message": "body: too large"}), 413
    headers = request.headers
    webhook_id = headers.get("webhook-id")
    try:
        verify(SECRETS, webhook_id, headers.get("webhook-timestamp"), headers.get("webhook-signature"), body,
               time.time(), TOLERANCE)
    except SignatureError as exc:
        return jsonify({"status": "rejected", "message": str(exc)}), 401
    conn = connection()
    row = conn.execute(INSERT, (webhook_id, body.decode("utf-8"))).fetchone()
    if row is None:
        return jsonify({"status": "accepted", "duplicate": True}), 200
    return jsonify({"id": f"evt_{row[0]}", "status": "accepted"}), 202
