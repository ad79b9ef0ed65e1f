"""Timeline entries from referrals: offers made (code, reward, how sent) and cancelled (the reason), codes used by
friends (the referral and what became of it) on both the advocate's and the friend's timeline, and ledger movements."""
from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import or_, select
from sqlalchemy.orm import Session, joinedload

from retention import i18n
from retention.customers.models import Customer
from retention.customers.timeline import Entry, isolate
from retention.referrals import labels
from retention.referrals.models import OFFER_CANCELLED, LedgerEntry, Referral, ReferralOffer
from retention.referrals.offers import display_code


def referrals(session: Session, customer: Customer, limit: int) -> list[Entry]:
    entries = []
    for offer in session.scalars(select(ReferralOffer).where(ReferralOffer.customer_id == customer.id,
                                                             ReferralOffer.code.is_not(None))
                                 .order_by(ReferralOffer.created_at.desc()).limit(limit)):
        how = label_channel(offer.channel)
        entries.append(Entry(at=offer.created_at, kind="referral:offer",
                             title=_("Referral offer made: code %(code)s, reward %(reward)s (%(how)s)",
                                     code=isolate(display_code(offer.code)),
                                     reward=i18n.money(offer.reward_amount, offer.currency), how=how),
                             extra={"offer_id": offer.id, "code": offer.code}))
        if offer.status == OFFER_CANCELLED:
            entries.append(Entry(at=offer.cancelled_at or offer.created_at, kind="referral:offer",
                                 title=_("Referral offer not sent: code %(code)s",
                                         code=isolate(display_code(offer.code))),
                                 detail=[labels.label(labels.OFFER_CANCELLED, offer.reason)],
                                 extra={"offer_id": offer.id, "code": offer.code, "status": offer.status,
                                        "reason": offer.reason}))
    as_advocate = select(ReferralOffer.id).where(ReferralOffer.customer_id == customer.id)
    for referral in session.scalars(select(Referral).where(or_(Referral.friend_customer_id == customer.id,
                                                               Referral.offer_id.in_(as_advocate)))
                                    .options(joinedload(Referral.friend))
                                    .order_by(Referral.created_at.desc()).limit(limit)):
        status = labels.label(labels.REFERRAL_STATUSES, referral.status)
        reason = labels.label(labels.REJECTIONS, referral.reason) if referral.reason else ""
        if referral.friend_customer_id == customer.id:
            title = _("Used referral code %(code)s: %(status)s", code=isolate(display_code(referral.code)),
                      status=status)
        else:
            title = _("A friend bought with this customer's code: %(status)s", status=status)
        entries.append(Entry(at=referral.created_at, kind="referral:referral", title=title,
                             detail=[reason] if reason else [],
                             extra={"referral_id": referral.id, "status": referral.status, "reason": referral.reason}))
    for row in session.scalars(select(LedgerEntry).where(LedgerEntry.customer_id == customer.id)
                               .order_by(LedgerEntry.at.desc()).limit(limit)):
        amount = i18n.money(row.amount, row.currency)
        title = (_("Referral reward earned: %(amount)s", amount=amount) if row.kind == "reward"
                 else _("Referral reward reversed: %(amount)s", amount=amount))
        entries.append(Entry(at=row.at, kind="referral:ledger", title=title,
                             extra={"ledger_id": row.id, "kind": row.kind}))
    return entries


def label_channel(channel: str | None) -> str:
    return labels.label(labels.CHANNELS, channel)
