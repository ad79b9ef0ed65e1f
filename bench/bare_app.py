"""The baseline of bench/ingest.py: a bare Flask endpoint that only reads the body.

Served by gunicorn with exactly the settings used for the real app (`gunicorn bare_app:app`
with `--chdir bench`), so the ratio of the two throughputs is the cost of verifying,
validating, storing and queueing an event, not of Flask, gunicorn or the load generator.
"""
from __future__ import annotations

from flask import Flask, jsonify, request

app = Flask(__name__)


@app.post("/hooks/events")
def receive_event():
    """Read the whole body, as the real hook does, and answer 202 with a small JSON body."""
    body = request.get_data(cache=False)
    return jsonify({"id": f"evt_{len(body)}", "status": "accepted"}), 202
