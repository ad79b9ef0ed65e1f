"""Referrals in the staff member's words: reasons, statuses, reward types, channels (keys stored, words shown)."""
from __future__ import annotations

from flask_babel import gettext as _, lazy_gettext as _l

# Why no offer was made when the referral step was due (offers.REASONS).
OFFER_REASONS = {
    "no_program": _l("no referral program is running"),
    "currency": _l("no program is in the currency of the sale"),
    "category": _l("the product's category is not in the program"),
    "out_of_range": _l("the purchase value is outside the program's range"),
    "refunded": _l("the sale was refunded"),
    "no_nps": _l("the customer has not given an NPS score"),
    "nps_below": _l("the latest NPS score is below the program's minimum"),
    "too_early": _l("too soon after the delivery"),
    "return_window": _l("the purchase is still inside its return window"),
    "open_complaint": _l("a complaint is open"),
    "max_offers": _l("the customer already had the most offers allowed"),
    "no_reward": _l("the rule gives no reward at this purchase value"),
    "no_sale": _l("the step has no sale to size the reward on"),
    "cannot_email": _l("the program sends by email and the customer cannot be emailed"),
    "cannot_post": _l("the offer would go by letter and the customer opted out of letters"),
    "busy": _l("the customer's record was being changed at that moment (a complaint being opened, for example); "
               "tried again in a minute"),
}

# Why an offer made was cancelled (ReferralOffer.reason).
OFFER_CANCELLED = {
    "letter_opted_out": _l("the customer opted out of letters before its letter was posted"),
}

# Why a friend's sale did not earn a reward (models.REJECTIONS), and why a referral was voided.
REJECTIONS = {
    "unknown_code": _l("unknown code"),
    "expired_code": _l("the code had expired"),
    "self_referral": _l("the advocate used their own code"),
    "same_email": _l("same email address as the advocate"),
    "same_phone": _l("same phone number as the advocate"),
    "same_address": _l("same postal address as the advocate"),
    "existing_customer": _l("the friend was already a customer"),
    "program_cap": _l("the program's cap was reached"),
    "refunded": _l("the friend's purchase was refunded"),
}

REFERRAL_STATUSES = {"pending": _l("Pending"), "earned": _l("Earned"), "void": _l("Void"),
                     "reversed": _l("Reversed"), "rejected": _l("Rejected")}
REWARD_TYPES = {"account_credit": _l("Account credit"), "gift_card": _l("Gift card"),
                "discount_code": _l("Discount code"), "donation": _l("Donation")}
REWARD_KINDS = {"percent": _l("A percentage with a floor and a cap"), "bands": _l("Purchase value bands")}
FRIEND_KINDS = {"percent": _l("A percentage off"), "amount": _l("An amount off")}
CHANNELS = {"auto": _l("Email when possible, else a letter"), "letter": _l("Letter"), "email": _l("Email")}
LEDGER_KINDS = {"reward": _l("Reward"), "reversal": _l("Reversal")}
# The part of a rule a preview row belongs to (rewards.critical_points).
PARTS = {"floor": _l("floor"), "percent": _l("percentage"), "cap": _l("cap")}
# Program fields as the form labels them (errors name them).
FIELD_LABELS = {
    "name": _l("Name"), "starts_on": _l("Starts on"), "ends_on": _l("Ends on"), "currency": _l("Currency"),
    "min_purchase": _l("Lowest purchase value"), "max_purchase": _l("Highest purchase value"),
    "categories": _l("Product categories"), "min_nps": _l("Lowest NPS score"),
    "min_days": _l("Days after delivery"), "return_window_days": _l("Return window (days)"),
    "max_offers": _l("Offers per customer"), "reward_kind": _l("Reward rule"),
    "reward_percent": _l("Percentage of the purchase"), "reward_floor": _l("Floor"), "reward_cap": _l("Cap"),
    "bands": _l("Bands"), "rounding_step": _l("Round to a step of"), "min_share": _l("Insult guard: lowest share"),
    "friend_kind": _l("Friend's incentive"), "friend_value": _l("Incentive value"),
    "reward_type": _l("Reward type"), "hold_days": _l("Hold days"), "code_days": _l("Code valid for (days)"),
    "max_referrals": _l("Program cap (referrals)"), "channel": _l("Sent by"), "program": _l("Program"),
}


def percent(value) -> str:
    """A share in the reader's number format: "1.5%", "١٫٥٪", "۱٫۵٪" (the Arabic percent sign in ar and fa)."""
    from decimal import Decimal

    from retention import i18n

    number = i18n.number(Decimal(value).normalize() if Decimal(value) == Decimal(value).to_integral_value()
                         else Decimal(value))
    sign = "\u066a" if i18n.ui_language() in ("ar", "fa") else "%"
    return number + sign


def label(labels: dict, key: str | None) -> str:
    if not key:
        return ""
    found = labels.get(key)
    return str(found) if found is not None else key.replace("_", " ")


def offer_reason_words(params: tuple, day, number) -> str:
    """A touchpoint's "referral: <reason>[ until <date>]" in the reader's words (journeys/wording.py registry)."""
    reason, until = params[0], params[1] if len(params) > 1 else None
    why = label(OFFER_REASONS, reason)
    if until:
        return _("Referral offer waits until %(date)s: %(why)s", date=day(until), why=why)
    return _("No referral offer: %(why)s", why=why)
