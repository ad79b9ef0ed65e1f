"""The event contract as a document (docs/events.md) and as sample events, both from the schemas that validate it.

Write the document again after changing a schema: `python -m retention.hooks.contract` (a test fails while
docs/events.md differs from what this module writes).
"""
from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

from marshmallow import Schema, fields, validate

from retention import validation
from retention.hooks.schemas import DATA_SCHEMAS, EVENT_TYPES, EnvelopeSchema

DOC_PATH = Path(__file__).resolve().parent.parent.parent / "docs" / "events.md"

EFFECTS = {
    "customer.upserted": "create or update the customer (an older `occurred_at` never overwrites newer details)",
    "sale.completed": "record the sale (and its customer); enroll the customer in the journeys a sale starts; "
                      "a `referral_code` makes a referral for the code's advocate, or is rejected with the reason",
    "sale.delivered": "re-anchor journeys that count from delivery",
    "sale.refunded": "exit the journeys of that sale",
    "complaint.opened": "open a complaint case; surveys and referral offers wait while it is open",
    "complaint.resolved": "record the solution offered (as staff would) and schedule its verification call",
    "nps.response": "record an NPS answer collected elsewhere",
    "customer.churned": "exit all journeys; record the churn",
}

SAMPLE_CUSTOMER = {
    "id": "SAMPLE-C1", "name": "Layla Haddad", "email": "layla@example.net", "phone": "+971501234567",
    "locale": "ar", "timezone": "Asia/Dubai",
    "address": {"lines": ["Sheikh Zayed Road 12"], "city": "Dubai", "region": "", "postal_code": "",
                "country": "AE"},
}


def sample_data(event_type: str, now: dt.datetime) -> dict:
    """The `data` of a sample event of this type, about one sample customer and sale."""
    return {
        "customer.upserted": {"customer": SAMPLE_CUSTOMER},
        "sale.completed": {"sale_id": "SAMPLE-S1", "customer": SAMPLE_CUSTOMER, "amount": "649.00",
                           "currency": "USD", "product": "Espresso machine Pro", "category": "kitchen"},
        "sale.delivered": {"sale_id": "SAMPLE-S1", "delivered_at": now.isoformat()},
        "sale.refunded": {"sale_id": "SAMPLE-S1", "reason": "changed mind"},
        "complaint.opened": {"complaint_id": "SAMPLE-K1", "customer_id": "SAMPLE-C1", "channel": "phone",
                             "category": "delivery", "summary": "The machine arrived with a cracked tank.",
                             "severity": "high"},
        "complaint.resolved": {"complaint_id": "SAMPLE-K1", "resolution": "A new tank was sent."},
        "nps.response": {"customer_id": "SAMPLE-C1", "score": 9, "comment": "Great coffee."},
        "customer.churned": {"customer_id": "SAMPLE-C1", "reason": "moved abroad"},
    }[event_type]


def sample_events(now: dt.datetime, types=EVENT_TYPES) -> list[dict]:
    """Sample event bodies of the given types, in the contract's order, one second apart ending at `now`."""
    chosen = [t for t in EVENT_TYPES if t in set(types)]
    return [{"type": t, "occurred_at": (now - dt.timedelta(seconds=len(chosen) - i)).isoformat(timespec="seconds"),
             "data": sample_data(t, now)} for i, t in enumerate(chosen)]


def _describe(field: fields.Field) -> str:
    """What a value of this field must be, in a reader's words."""
    described = field.metadata.get("description")
    if described:
        return described
    if isinstance(field, validation.Identifier):
        return f"string id, 1 to {field.max_length} characters, no control characters or surrounding spaces"
    if isinstance(field, validation.Text):
        text = f"text up to {field.max_length} characters"
        text += ", may be empty" if field.blank else ", not blank"
        return text + (", line breaks allowed" if field.multiline else ", one line")
    if isinstance(field, validation.Email):
        return f"email address, up to {field.max_length} characters"
    if isinstance(field, validation.Url):
        return f"http(s) URL, up to {field.max_length} characters"
    if isinstance(field, validation.Amount):
        return ("decimal string (a JSON number is refused): ASCII digits with an optional point (`649.00`), no sign, spaces, separators "
                f"or exponent; at most {validation.AMOUNT_INTEGER_DIGITS} digits before the point and no more "
                "decimal places than the currency has (JPY 0, EUR 2, KWD 3)")
    if isinstance(field, validation.Currency):
        return "active ISO 4217 currency code (legal tender today: not XXX, XTS or withdrawn DEM)"
    if isinstance(field, validation.TimeZone):
        return "IANA time zone name (e.g. `Europe/Berlin`, `UTC`; not `localtime` or `Factory`)"
    if isinstance(field, validation.BoundedDateTime):
        return (f"ISO 8601 time with an offset, from {field.earliest.date().isoformat()} up to "
                f"{field.latest.date().isoformat()} (UTC)")
    if isinstance(field, fields.Nested):
        return "object (below)"
    if isinstance(field, fields.List):
        lengths = [v for v in field.validators if isinstance(v, validate.Length)]
        most = f" of at most {lengths[0].max}" if lengths and lengths[0].max is not None else ""
        return f"list{most}: {_describe(field.inner)}"
    if isinstance(field, fields.Integer):
        ranges = [v for v in field.validators if isinstance(v, validate.Range)]
        return f"integer {ranges[0].min} to {ranges[0].max}" if ranges else "integer"
    if isinstance(field, fields.Dict):
        return "object"
    choices = [v for v in field.validators if isinstance(v, validate.OneOf)]
    if choices:
        return "one of " + ", ".join(f"`{c}`" for c in choices[0].choices)
    return "string"


def _presence(field: fields.Field) -> str:
    if field.required:
        return "required"
    default = field.load_default
    if default is None or callable(default) or default is fields.missing_:
        return "optional" + (", may be null" if field.allow_none else "")
    return f"optional, default `{json.dumps(default)}`"


def _table(schema: Schema, prefix: str = "") -> list[str]:
    rows, nested = [], []
    for name, field in schema.fields.items():
        rows.append(f"| `{prefix}{name}` | {_presence(field)} | {_describe(field)} |")
        if isinstance(field, fields.Nested):
            nested.append((f"{prefix}{name}", field.schema))
    for name, inner in nested:
        rows.extend(_table(inner, f"{name}."))
    return rows


def render_markdown() -> str:
    """docs/events.md, from the schemas."""
    envelope = EnvelopeSchema()
    example_now = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.timezone.utc)
    from retention.hooks import views  # the limits the endpoint enforces

    out = [
        "# Inbound events: the contract",
        "",
        "<!-- Written by `python -m retention.hooks.contract` from retention/hooks/schemas.py; do not edit by hand"
        " (a test fails when this file is stale). -->",
        "",
        "The shop, CRM and helpdesk tell the retention engine what happened by `POST /hooks/events`, one event",
        "per request, signed as in the [Standard Webhooks](https://www.standardwebhooks.com/) spec.",
        "",
        "## Request",
        "",
        "| header | value |",
        "|---|---|",
        f"| `webhook-id` | unique per message, 1 to {views.WEBHOOK_ID_MAX} characters, no control characters; "
        "the same id again is answered as the first time and has no second effect |",
        "| `webhook-timestamp` | Unix time in seconds (ASCII digits), at most 5 minutes from the server's clock |",
        "| `webhook-signature` | space-separated `v1,<base64 HMAC-SHA256>` over `{webhook-id}.{webhook-timestamp}.{body}`"
        " with the key bytes of a secret `whsec_<base64>` (several secrets may be configured while rotating) |",
        "",
        "Body: a JSON object of at most 256 KiB, nested at most "
        f"{views.MAX_DEPTH} levels deep. Every text field refuses NUL, other control characters (summaries, "
        "resolutions and comments may hold line breaks) and unpaired surrogates; surrounding spaces of text are "
        "trimmed. Unknown fields in `data` are refused.",
        "",
        "| field | presence | value |",
        "|---|---|---|",
        *_table(envelope),
        "",
        "## Answers",
        "",
        "| status | when |",
        "|---|---|",
        "| `202` `{\"id\": \"evt_1\", \"status\": \"accepted\"}` | stored; it is applied shortly after |",
        "| `200` (the first answer) | a `webhook-id` seen before |",
        "| `401` | missing or wrong signature, a malformed timestamp or one more than 5 minutes off |",
        "| `413` | body over 256 KiB |",
        "| `422` `{\"message\": ..., \"errors\": {field: [messages]}}` | not JSON, nested too deep, a bad "
        "`webhook-id`, an unknown `type` or invalid fields; nothing is stored |",
        "",
        "An event answered `202` can always be applied. One about a customer or sale not known yet waits",
        "until it arrives; events may arrive out of order, `occurred_at` decides.",
        "",
        "## Event types",
        "",
        "| type | effect |",
        "|---|---|",
        *[f"| `{t}` | {EFFECTS[t]} |" for t in EVENT_TYPES],
    ]
    for event_type in EVENT_TYPES:
        schema = DATA_SCHEMAS[event_type]()
        sample = sample_events(example_now, [event_type])[0]
        out += [
            "",
            f"### `{event_type}`",
            "",
            EFFECTS[event_type][0].upper() + EFFECTS[event_type][1:] + ".",
            "",
            "| `data` field | presence | value |",
            "|---|---|---|",
            *_table(schema),
            "",
            "```json",
            json.dumps(sample, indent=2, ensure_ascii=False),
            "```",
        ]
    out += [
        "",
        "## Trying it",
        "",
        "`make run` keeps a development secret in `instance/webhook_secret` and prints it. With the app running,",
        "`flask --app wsgi events send-sample` signs and sends one sample event of each type to it",
        "(`--type sale.completed` for one type, `--url` for another server, `--in-process` without a server).",
        "",
    ]
    return "\n".join(out)


def main(argv: list[str]) -> int:
    """Write docs/events.md (or check it with --check)."""
    text = render_markdown()
    if "--check" in argv:
        current = DOC_PATH.read_text(encoding="utf-8") if DOC_PATH.exists() else ""
        if current != text:
            print(f"{DOC_PATH} is stale: run python -m retention.hooks.contract", file=sys.stderr)
            return 1
        return 0
    DOC_PATH.write_text(text, encoding="utf-8")
    print(f"wrote {DOC_PATH}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
