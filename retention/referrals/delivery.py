"""An offer as the customer reads it: the letter's `referral` variables (code, reward in figures and words, the
friend's incentive, expiry, the link of the QR code) and the offer email, in the customer's language.

The link `/r/<CODE>` is the public landing page (views.py: landing) at PUBLIC_URL; it carries the code, never a
customer number.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from flask_babel import force_locale, gettext as _, lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

import letters as generator
from retention.referrals.models import ReferralOffer, ReferralProgram
from retention.referrals.offers import display_code
from retention.referrals.words import amount_words

# How the advocate receives the reward, as the end of a sentence ("... you receive €50.00 as a gift card").
REWARD_TYPE_PHRASES = {
    "account_credit": _l("as credit on your account"),
    "gift_card": _l("as a gift card"),
    "discount_code": _l("as a discount code"),
    "donation": _l("as a donation to a charity in your name"),
}
LETTER_DIGITS = {"en": "latn", "ar": "arab", "fa": "arabext"}
EMPTY = {"code": "", "url": "", "reward": "", "reward_words": "", "reward_type": "", "friend_incentive": "",
         "expires": ""}
# The template editor's preview (postal LINK_VARIABLES): a made-up offer.
SAMPLE = {"code": "K7PQ-3MZX", "url": "https://shop.example.com/r/K7PQ3MZX", "reward": "$50.00",
          "reward_words": "fifty US dollars", "reward_type": "as credit on your account", "friend_incentive": "10%",
          "expires": "2 April 2026"}


def link(code: str) -> str:
    from retention.mail.service import public_url

    return public_url(f"/r/{code}")


def friend_incentive(program: ReferralProgram, where: str, digits: str) -> str:
    """"10%" ("۱۰٪", "١٠٪": the Arabic percent sign in Arabic and Persian) or "€20.00" in the letter's locale."""
    if program.friend_kind == "percent":
        sign = "\u066a" if where[:2] in ("ar", "fa") else "%"
        return generator.to_digits(f"{Decimal(program.friend_value).normalize():f}{sign}", digits)
    return generator.format_money(program.friend_value, program.currency, where, digits)


def offer_values(offer: ReferralOffer, language: str, country: str = "", digits: str | None = None) -> dict:
    """The `referral` values of a letter or email in `language` (en, ar, fa)."""
    digits = digits or LETTER_DIGITS.get(language, "latn")
    where = generator.letter_locale(language, country or "")
    program = offer.program
    with force_locale(language):
        reward_type = str(REWARD_TYPE_PHRASES.get(program.reward_type, ""))
    return {"code": display_code(offer.code), "url": link(offer.code),
            "reward": generator.format_money(offer.reward_amount, offer.currency, where, digits),
            "reward_words": amount_words(offer.reward_amount, offer.currency, language),
            "reward_type": reward_type, "friend_incentive": friend_incentive(program, where, digits),
            "expires": generator.format_letter_date(offer.expires_at.date(), where, digits)}


def letter_links(session: Session, letters: list) -> dict[int, dict]:
    """Postal's letter-variables provider: `referral` for each letter that carries an offer (empty values
    otherwise, so a referral template renders for any letter); one query for the whole chunk of letters."""
    ids = [letter.id for letter in letters if letter.id]
    offers = {o.letter_id: o for o in session.scalars(select(ReferralOffer).where(ReferralOffer.letter_id.in_(ids)))} \
        if ids else {}
    found = {}
    for letter in letters:
        offer = offers.get(letter.id)
        customer = letter.customer
        found[letter.id] = {"referral": offer_values(offer, letter.language, customer.country if customer else "")
                            if offer is not None else dict(EMPTY)}
    return found


def queue_offer_email(session: Session, offer: ReferralOffer, customer, sale, now: dt.datetime) -> None:
    """The offer by email (retention/mail), in the customer's language; sent after the tick commits."""
    from retention.mail import service as mail

    language = mail.email_language(customer.locale)
    values = offer_values(offer, language, customer.country or "", digits="latn")
    html, text = mail.render_email("referral", language, name=customer.name or "", product=sale.product,
                                   referral=values)
    with force_locale(language):
        subject = _("A thank-you for you and a friend")
    mail.queue_email(session, customer, kind="referral_offer", subject=subject, text=text, html=html, now=now,
                     ref=f"referral_offer:{offer.id}", locale=language)


def offer_for_code(session: Session, code: str) -> ReferralOffer | None:
    from retention.referrals.offers import normalize_code

    code = normalize_code(code)
    if not code or len(code) > 12:
        return None
    return session.scalar(select(ReferralOffer).where(ReferralOffer.code == code))

