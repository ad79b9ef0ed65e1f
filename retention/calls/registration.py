"""What calls plug into the layers below: a due call opens in its owner's list; call attempts, ad-hoc calls
and notes on the timeline; the customer page's "Log a call / Add a note / Schedule a call" part."""
from __future__ import annotations

from retention.calls.adhoc import SUPERSEDED, close_open_calls
from retention.calls.timeline import adhoc_calls, call_attempts, customer_notes, superseded_words
from retention.calls.views import call_actions
from retention.customers import timeline as customer_timeline
from retention.customers import views as customer_pages
from retention.journeys import registry, wording
from retention.mail import optouts


def register() -> None:
    registry.register_handout(registry.HandOut("call", opens=True, channel="phone"))
    optouts.on_opt_out("phone", close_open_calls)  # calls still open in someone's list end, with the reason
    customer_timeline.register_source(call_attempts)
    customer_timeline.register_source(adhoc_calls)
    customer_timeline.register_source(customer_notes)
    wording.register_reason("superseded", SUPERSEDED, superseded_words)  # a call another call replaced
    # Seen by whoever sees the customer's phone; the template offers the forms to people who make calls.
    customer_pages.register_page_part("call_actions", "phone", call_actions, default=None)
