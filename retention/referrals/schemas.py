"""API schemas of referral programs, their preview, offers, referrals and the reward ledger."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from retention.referrals.models import CHANNELS, FRIEND_KINDS, REWARD_KINDS, REWARD_TYPES
from retention.request_input import LimitField, PageField
from retention.validation import CURRENCIES, Amount, Text

STATUSES = ("pending", "earned", "void", "reversed", "rejected")


class BandIn(Schema):
    from_ = Amount(data_key="from", required=True, metadata={"description": "purchase values from here up"})
    reward = Amount(required=True)


class ProgramIn(Schema):
    name = Text(200, required=True)
    starts_on = fields.Date(required=True, metadata={"description": "first day (UTC) the program makes offers"})
    ends_on = fields.Date(load_default=None, allow_none=True, metadata={"description": "last day (UTC); null: open"})
    currency = fields.String(required=True, validate=validate.OneOf(sorted(CURRENCIES)),
                             metadata={"description": "an active ISO 4217 code; every amount of the program is in it "
                                                      "and it sizes rewards on sales in this currency"})
    min_purchase = Amount(required=True)
    max_purchase = Amount(required=True)
    categories = fields.List(Text(120), load_default=list, validate=validate.Length(max=50),
                             metadata={"description": "product categories included; empty: all"})
    min_nps = fields.Integer(load_default=9, validate=validate.Range(min=0, max=10))
    min_days = fields.Integer(load_default=30, validate=validate.Range(min=0, max=365),
                              metadata={"description": "days since delivery (the sale without one)"})
    return_window_days = fields.Integer(load_default=14, validate=validate.Range(min=0, max=365))
    max_offers = fields.Integer(load_default=1, validate=validate.Range(min=1, max=20))
    reward_kind = fields.String(required=True, validate=validate.OneOf(REWARD_KINDS))
    reward_percent = Amount(load_default=None, allow_none=True)
    reward_floor = Amount(load_default=None, allow_none=True)
    reward_cap = Amount(load_default=None, allow_none=True)
    bands = fields.List(fields.Nested(BandIn), load_default=list, validate=validate.Length(max=8))
    rounding_step = Amount(required=True)
    min_share = Amount(required=True, metadata={"description": "the insult guard: the lowest reward, in percent of "
                                                               "the purchase, anywhere in the range"})
    friend_kind = fields.String(required=True, validate=validate.OneOf(FRIEND_KINDS))
    friend_value = Amount(required=True)
    reward_type = fields.String(required=True, validate=validate.OneOf(REWARD_TYPES))
    hold_days = fields.Integer(load_default=30, validate=validate.Range(min=0, max=365))
    code_days = fields.Integer(load_default=90, validate=validate.Range(min=1, max=3650))
    max_referrals = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1, max=1_000_000),
                                   metadata={"description": "the program cap; null: none"})
    channel = fields.String(load_default="auto", validate=validate.OneOf(CHANNELS))


class BandOut(Schema):
    from_ = fields.String(data_key="from")
    reward = fields.String()


class ProgramOut(Schema):
    id = fields.Integer()
    name = fields.String()
    starts_on = fields.Date()
    ends_on = fields.Date(allow_none=True)
    currency = fields.String()
    min_purchase = fields.String()
    max_purchase = fields.String()
    categories = fields.List(fields.String())
    min_nps = fields.Integer()
    min_days = fields.Integer()
    return_window_days = fields.Integer()
    max_offers = fields.Integer()
    reward_kind = fields.String()
    reward_percent = fields.String()
    reward_floor = fields.String()
    reward_cap = fields.String()
    bands = fields.List(fields.Nested(BandOut))
    rounding_step = fields.String()
    min_share = fields.String()
    friend_kind = fields.String()
    friend_value = fields.String()
    reward_type = fields.String()
    hold_days = fields.Integer()
    code_days = fields.Integer()
    max_referrals = fields.Integer(allow_none=True)
    channel = fields.String()


class PreviewRow(Schema):
    value = fields.String(metadata={"description": "purchase value"})
    reward = fields.String()
    share = fields.String(metadata={"description": "reward as a percent of the purchase"})
    trips = fields.Boolean(metadata={"description": "the insult guard trips here"})
    part = fields.String(metadata={"description": "floor, percent, cap or band:N where the share is lowest; else empty"})


class TripOut(Schema):
    field = fields.String()
    value = fields.String()
    reward = fields.String()
    share = fields.String()
    message = fields.String()


class PreviewOut(Schema):
    currency = fields.String()
    rows = fields.List(fields.Nested(PreviewRow))
    trip = fields.Nested(TripOut, allow_none=True, metadata={"description": "the lowest share, where the guard trips "
                                                                            "(the message names the field); null: nowhere"})
    trips_from = fields.String(allow_none=True, metadata={"description": "the lowest purchase value where the reward "
                                                                         "falls below the guard's share; null: none"})


class ListQuery(Schema):
    page = PageField()
    limit = LimitField(default=100)


class OfferQuery(ListQuery):
    program_id = fields.Integer(load_default=None, validate=validate.Range(min=1, max=2**31 - 1))


class ReferralQuery(ListQuery):
    program_id = fields.Integer(load_default=None, validate=validate.Range(min=1, max=2**31 - 1))
    status = fields.String(load_default=None, validate=validate.OneOf(STATUSES))


class OfferOut(Schema):
    id = fields.Integer()
    program_id = fields.Integer(allow_none=True)
    customer = fields.Function(lambda o: o.customer.external_id)
    code = fields.String(allow_none=True)
    reward_amount = fields.String(allow_none=True)
    currency = fields.String(allow_none=True)
    channel = fields.String(allow_none=True)
    status = fields.String(metadata={"description": "made; cancelled: its letter was never posted (see reason)"})
    reason = fields.String(allow_none=True, metadata={"description": "why cancelled: letter_opted_out"})
    cancelled_at = fields.AwareDateTime(allow_none=True)
    created_at = fields.AwareDateTime()
    expires_at = fields.AwareDateTime(allow_none=True)


class ReferralOut(Schema):
    id = fields.Integer()
    program_id = fields.Integer(allow_none=True)
    offer_id = fields.Integer(allow_none=True)
    code = fields.String()
    friend = fields.Function(lambda r: r.friend.external_id)
    sale = fields.Function(lambda r: r.sale.external_id)
    status = fields.String()
    reason = fields.String(allow_none=True)
    reward_amount = fields.String(allow_none=True)
    currency = fields.String(allow_none=True)
    sale_amount = fields.String()
    sale_currency = fields.String()
    created_at = fields.AwareDateTime()
    earn_at = fields.AwareDateTime(allow_none=True)
    earned_at = fields.AwareDateTime(allow_none=True)
    voided_at = fields.AwareDateTime(allow_none=True)


class LedgerOut(Schema):
    id = fields.Integer()
    referral_id = fields.Integer()
    program_id = fields.Integer()
    customer = fields.Function(lambda e: e.customer.external_id, metadata={"description": "the advocate"})
    kind = fields.String(metadata={"description": "reward (+) or reversal (-)"})
    amount = fields.String()
    currency = fields.String()
    reward_type = fields.String()
    at = fields.AwareDateTime()
