"""Complaint words in the reader's language: statuses, channels, severities, sources, actions, customer types.

Pages, timeline lines and error messages show these labels, never the stored keys. Each dict is lazy
(rendered in the language of the page); `label(LABELS, key)` falls back to the key for an unknown one.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

STATUS_LABELS = {
    "new": _l("New"), "acknowledged": _l("Acknowledged"), "investigating": _l("Investigating"),
    "solution_offered": _l("Solution offered"), "verified": _l("Verified"), "closed": _l("Closed"),
}
# The button that moves a case to the status ("Acknowledge", "Close the case").
MOVE_LABELS = {
    "acknowledged": _l("Acknowledge"), "investigating": _l("Start investigating"),
    "solution_offered": _l("Mark a solution as offered"), "verified": _l("Mark as verified"),
    "closed": _l("Close the case"),
}
CHANNEL_LABELS = {
    "phone": _l("Phone"), "email": _l("Email"), "social": _l("Social media"), "letter": _l("Letter"),
    "in_person": _l("In person"), "chat": _l("Chat"),
}
SEVERITY_LABELS = {"low": _l("Low"), "medium": _l("Medium"), "high": _l("High"), "critical": _l("Critical")}
SOURCE_LABELS = {
    "event": _l("Helpdesk"), "staff": _l("Staff, on the customer page"), "call": _l("An unhappy call"),
    "nps": _l("A detractor's survey answer"),
}
# Step 2: the customer types (complaints.models.CUSTOMER_TYPES).
TYPE_LABELS = {
    "meek": _l("Meek"), "aggressive": _l("Aggressive"), "high_roller": _l("High-roller"),
    "rip_off": _l("Rip-off"), "chronic": _l("Chronic complainer"),
}
# Timeline titles of a case's changes (CaseChange.action); status moves are said with the new status.
ACTION_LABELS = {
    "opened": _l("Complaint case opened"), "status": _l("Complaint case: %(status)s"),
    "reopened": _l("Complaint case reopened"), "owner": _l("Complaint case assigned"),
    "answers": _l("Complaint case: intake answers saved"),
    # Step 4 (complaints/resolution.py, concessions.py)
    "verification_scheduled": _l("Complaint case: verification call scheduled"),
    "verification_not_scheduled": _l("Complaint case: no verification call could be scheduled (nobody makes calls)"),
    "verification_unreached": _l("Complaint case: the verification call did not reach the customer"),
    "verification_not_called": _l("Complaint case: no verification call: the customer asked not to be phoned"),
    "apology_queued": _l("Complaint case: apology letter queued"),
    "concession_requested": _l("Complaint case: concession waiting for an admin"),
    "concession_approved": _l("Complaint case: concession approved"),
    "concession_rejected": _l("Complaint case: concession rejected"),
    # Step 3 (complaints/escalation.py)
    "escalated": _l("Complaint case missed its target: owner and admins told"),
}


def label(labels: dict, key: str | None) -> str:
    """The label of `key` in the reader's language; an unknown key as it is (data), "" for none."""
    if not key:
        return ""
    found = labels.get(key)
    return str(found) if found is not None else key
