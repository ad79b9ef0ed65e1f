"""Record-level rules: which role sees which parts of a customer, and who may act on which call.

Route-level checks (which role may open a page or API route) stay next to each route (access.py);
this module decides, for a route a person may open, what of the record they see and may change.

- onboarding and admin: the whole customer, the journey plan and the whole timeline.
- marketing: the whole customer and plan; the timeline without private text (complaint summaries and
  resolutions, NPS comments, call notes) - scores, categories and outcomes stay.
- print (the mail room): name, id, language and postal address; the timeline's letters and address
  changes only; no contact details, sales, plan or complaints.
- A call's outcome, snooze and reschedule belong to its owner; an admin may act on anyone's call and the
  audit entry says on whose behalf. Anyone in onboarding may reassign calls (pages), then act on them.
"""
from __future__ import annotations

from dataclasses import dataclass


# Every part of a customer as the pages and the API show it.
CUSTOMER_PARTS = frozenset({"id", "name", "locale", "timezone", "address", "address_flagged", "owner",
                            "email", "phone", "sales", "plan"})
MAIL_ROOM_PARTS = frozenset({"id", "name", "locale", "timezone", "address", "address_flagged"})
# Timeline kinds the mail room sees: its own letters and the address changes that made them.
MAIL_ROOM_TIMELINE = frozenset({"letter", "event:customer.upserted", "contact:address"})


class NotYourCall(PermissionError):
    """A call may be worked only by its owner or an admin."""


@dataclass(frozen=True)
class CustomerAccess:
    """What one viewer sees of a customer."""

    parts: frozenset
    timeline_kinds: frozenset | None  # None: every kind
    private_text: bool  # complaint text, NPS comments, call notes

    def sees(self, part: str) -> bool:
        return part in self.parts

    def sees_entry(self, kind: str) -> bool:
        return self.timeline_kinds is None or kind in self.timeline_kinds


FULL = CustomerAccess(parts=CUSTOMER_PARTS, timeline_kinds=None, private_text=True)
MARKETING = CustomerAccess(parts=CUSTOMER_PARTS, timeline_kinds=None, private_text=False)
MAIL_ROOM = CustomerAccess(parts=MAIL_ROOM_PARTS, timeline_kinds=MAIL_ROOM_TIMELINE, private_text=False)
NOTHING = CustomerAccess(parts=frozenset(), timeline_kinds=frozenset(), private_text=False)

_BY_ROLE = {"admin": FULL, "onboarding": FULL, "marketing": MARKETING, "print": MAIL_ROOM}


def customer_access(viewer) -> CustomerAccess:
    """What `viewer` (a StaffUser) sees of any customer; an inactive or unknown viewer sees nothing."""
    if viewer is None or not getattr(viewer, "active", False):
        return NOTHING
    return _BY_ROLE.get(viewer.role, NOTHING)


def customer_data(viewer, data: dict) -> dict:
    """A customer as dumped for the API, cut to what `viewer` sees."""
    access = customer_access(viewer)
    return {key: value for key, value in data.items() if access.sees(key)}


def may_work_call(user, touchpoint) -> bool:
    """Log an outcome, snooze or reschedule: the call's owner, or an admin."""
    if user is None or not getattr(user, "active", False):
        return False
    return user.role == "admin" or (user.role == "onboarding" and touchpoint.owner_id == user.id)
