"""Registration, in one place: each layer's registries filled by the features above it (retention/layers.py).

create_app calls `register_all`, so the web app, the CLI, RQ workers (jobs build the app) and tests all see
the same handlers, hand-outs, facts, gates and timeline sources. Registering twice changes nothing.
"""
from __future__ import annotations

from retention.calls import registration as calls
from retention.complaints import registration as complaints
from retention.hooks import registration as hooks
from retention.journeys import registration as journeys
from retention.mail import registration as mail
from retention.postal import registration as postal
from retention.referrals import registration as referrals
from retention.surveys import registration as surveys

# Order is the order of timeline sources and of each event type's handlers.
FEATURES = (hooks, calls, journeys, mail, postal, surveys, referrals, complaints)


def register_all() -> None:
    for feature in FEATURES:
        feature.register()
