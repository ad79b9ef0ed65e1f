"""What the inbox plugs into customers: the events received about a customer, on their timeline."""
from __future__ import annotations

from retention.customers import timeline as customer_timeline
from retention.hooks.timeline import inbound_events


def register() -> None:
    customer_timeline.register_source(inbound_events)
