"""The layer order of the code, in one place: a module imports only its own layer or lower ones (tests/test_layers.py).

A lower layer that needs something from a higher one defines a small registry (timeline sources, event
handlers, hand-outs, facts, gates, step checks, page parts) and the higher layer registers into it at app
wiring time (retention/wiring.py), so no import arrow runs back up.
"""
from __future__ import annotations

# Lowest first. A module belongs to the layer of the longest prefix naming it.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("core", (
        "letters",  # the printable letter generator: imports nothing from retention
        "retention.extensions", "retention.types", "retention.validation", "retention.config",
        "retention.queries", "retention.request_input", "retention.security", "retention.i18n", "retention.formatting",
        "retention.queue", "retention.audit", "retention.errors", "retention.layers", "retention.clock",
        "retention.bulk",  # COPY / executemany of many rows (event processing)
        "retention.dbpool",  # connections pinged after idle; the autocommit engine of single-statement writes
        # Pure signature checking (no retention imports), read by config when the app starts.
        "retention.hooks.signatures",
    )),
    ("staff", ("retention.staff",)),
    ("customers", ("retention.customers",)),
    ("inbox", ("retention.hooks",)),
    ("journeys", ("retention.journeys",)),
    # Outbound email (SMTP or the outbox folder), opt-outs and unsubscribe: used by every feature that writes.
    ("outbound", ("retention.mail",)),
    # Features are peers: one imports another only along an edge declared in FEATURE_EDGES.
    ("features", ("retention.calls", "retention.surveys", "retention.referrals", "retention.complaints",
                  "retention.postal")),
    ("app", ("retention", "retention.commands", "retention.seed", "retention.tick", "retention.ticker",
             "retention.models", "retention.wiring")),
    # RQ entry points: thin, they build the app and call one service; nothing in retention/ imports them.
    ("jobs", ("jobs",)),
]

# Feature -> feature imports that are allowed: a feature genuinely using another's service.
FEATURE_EDGES: set[tuple[str, str]] = {
    ("retention.calls", "retention.surveys"),  # a call's script shows the latest NPS; silence needs "never answered"
    ("retention.calls", "retention.complaints"),  # a call shows the customer's open complaints
    ("retention.postal", "retention.calls"),  # returned mail opens a call for the owner to fix the address
    # Calls read complaints.service/models and surveys.service/models only; those modules never import calls,
    # so the features below may open calls from their own modules without an import cycle.
    ("retention.complaints", "retention.calls"),  # a solution is verified by a call; a breach shows on My calls
    ("retention.complaints", "retention.postal"),  # a case can queue an apology letter
    ("retention.surveys", "retention.calls"),  # a passive's "what would make it a 10" call
    ("retention.surveys", "retention.complaints"),  # a detractor's answer opens a recovery case
    ("retention.surveys", "retention.postal"),  # a survey on paper is a letter with the survey's QR code
    ("retention.referrals", "retention.surveys"),  # eligibility reads the latest NPS answer
    ("retention.referrals", "retention.complaints"),  # no offer while a complaint is open
    ("retention.referrals", "retention.postal"),  # an offer on paper is a letter printing its code
}


def layer_of(module: str) -> tuple[int, str] | None:
    """(rank, package prefix) of the module's layer; None for modules outside the project."""
    best = None
    for rank, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if module == prefix or module.startswith(prefix + "."):
                if best is None or len(prefix) > len(best[1]):
                    best = (rank, prefix)
    return best


def allowed(importer: str, imported: str) -> bool:
    """Whether `importer` may import `imported` under the layer order."""
    low, high = layer_of(imported), layer_of(importer)
    if low is None or high is None:
        return True
    if low[0] != high[0]:
        return low[0] < high[0]
    if LAYERS[low[0]][0] == "features" and low[1] != high[1]:
        return (high[1], low[1]) in FEATURE_EDGES
    return True
