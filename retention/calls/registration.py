"""What calls plug into the layers below: a due call opens in its owner's list; call attempts on the timeline."""
from __future__ import annotations

from retention.calls.timeline import call_attempts
from retention.customers import timeline as customer_timeline
from retention.journeys import registry


def register() -> None:
    registry.register_handout(registry.HandOut("call", opens=True))
    customer_timeline.register_source(call_attempts)
