"""Survey keys in the reader's words: statuses, channels, why a survey was skipped or waits, NPS classes."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

STATUS = {"to_send": _l("To send"), "sent": _l("Sent"), "answered": _l("Answered"), "closed": _l("Closed"),
          "skipped": _l("Not sent")}
CHANNEL = {"email": _l("Email"), "letter": _l("Letter"), "event": _l("Another system"), "link": _l("Survey link"),
           "auto": _l("Email, else a letter")}
CLASS = {"promoter": _l("Promoter"), "passive": _l("Passive"), "detractor": _l("Detractor")}
REASON = {
    "cooldown": _l("A survey went to this customer recently (cooldown)"),
    "waiting_complaint": _l("Waiting: a complaint is open"),
    "journey_exited": _l("The journey ended (refund or churn) while the survey waited"),
    "email_no_email": _l("No email address"),
    "email_opted_out": _l("Opted out of email"),
    "email_refused": _l("The email could not be queued"),
    "email_failed": _l("The email could not be delivered"),
    "letter_opted_out": _l("Opted out of letters"),
    "all_opted_out": _l("No email possible and opted out of letters"),
    "no_address": _l("No postal address we can use"),
    "no_email_no_address": _l("No email possible and no postal address we can use"),
}


def label(table: dict, key: str | None) -> str:
    return str(table[key]) if key in table else (key or "")
