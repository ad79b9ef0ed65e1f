"""Marshmallow schemas of the inbound event contract (DESIGN.md section 4)."""
from __future__ import annotations

from decimal import Decimal

import phonenumbers
from babel import Locale
from babel.numbers import get_currency_precision
from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, post_load, validate, validates, validates_schema

from retention.customers.models import FORMS_OF_ADDRESS
from retention.validation import (  # noqa: F401 (CURRENCIES, ZONES, EARLIEST, LATEST: part of the contract)
    CURRENCIES, EARLIEST, LATEST, ZONES, Amount, BoundedDateTime, Currency, Email, Identifier, Text, TimeZone, Url)

EVENT_TYPES = (
    "customer.upserted", "sale.completed", "sale.delivered", "sale.refunded",
    "complaint.opened", "complaint.resolved", "nps.response", "customer.churned",
)
CHANNELS = ("phone", "email", "social", "letter", "in_person", "chat")
SEVERITIES = ("low", "medium", "high", "critical")
COUNTRIES = frozenset(code for code in Locale("en").territories
                      if len(code) == 2 and code.isalpha() and code not in {"ZZ", "QO", "EU", "EZ", "UN"})


class AddressSchema(Schema):
    """A postal address; lines first, then city, region, postal code and country."""

    class Meta:
        unknown = RAISE

    lines = fields.List(Text(200, blank=True), load_default=list, validate=validate.Length(max=5))
    city = Text(120, blank=True, load_default="")
    region = Text(120, blank=True, load_default="")
    postal_code = Text(20, blank=True, load_default="")
    country = fields.String(required=True, validate=validate.Length(equal=2),
                            metadata={"description": "ISO 3166 alpha-2 country code, e.g. AE, DE"})

    @validates("country")
    def _country(self, value, **_):
        if value.upper() not in COUNTRIES:
            raise ValidationError("Not an ISO 3166 alpha-2 country code.")

    @post_load
    def _upper(self, data, **_):
        data["country"] = data["country"].upper()
        return data


class CustomerSchema(Schema):
    """The customer object carried by customer and sale events."""

    class Meta:
        unknown = RAISE

    id = Identifier(120, required=True)
    name = Text(200, required=True)
    email = Email(load_default=None, allow_none=True)
    phone = Text(40, blank=True, load_default=None, allow_none=True,
                 metadata={"description": "a possible phone number, stored in E.164 (+971501234567); without a "
                                          "leading + it is read in the address's country"})
    # fullmatch: "$" alone would let a trailing newline through
    locale = fields.String(load_default="en", validate=validate.Regexp(r"[a-z]{2,3}([-_][A-Za-z]{2,4})?\Z"),
                           metadata={"description": "language tag, e.g. en, ar, fa, en-GB"})
    timezone = TimeZone(load_default="UTC")
    address = fields.Nested(AddressSchema, load_default=None, allow_none=True)
    # How letters greet the customer (letters/l10n.py greeting); omitted or null keeps what is known.
    form_of_address = fields.String(
        load_default=None, allow_none=True, validate=validate.OneOf(FORMS_OF_ADDRESS),
        metadata={"description": "how letters greet the customer: `mr` (Dear Mr Haddad), `ms` (Dear Ms Haddad) or "
                                 "`neutral` (Dear Layla Haddad, no title); omitted or null keeps what is known"})

    @validates_schema
    def _phone(self, data, **_):
        phone = data.get("phone")
        if not phone:
            return
        region = (data.get("address") or {}).get("country")
        try:
            number = phonenumbers.parse(phone, region)
        except phonenumbers.NumberParseException:
            raise ValidationError("Not a phone number.", "phone") from None
        if not phonenumbers.is_possible_number(number):
            raise ValidationError("Not a possible phone number.", "phone")
        data["phone"] = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class SaleCompletedSchema(Schema):
    class Meta:
        unknown = RAISE

    sale_id = Identifier(120, required=True)
    customer = fields.Nested(CustomerSchema, required=True)
    amount = Amount(required=True)
    currency = Currency(required=True)
    product = Text(200, required=True)
    category = Text(120, blank=True, load_default=None, allow_none=True)
    referral_code = Text(40, blank=True, load_default=None, allow_none=True)

    @validates_schema
    def _amount(self, data, **_):
        amount, currency = data.get("amount"), data.get("currency")
        if amount is None or currency not in CURRENCIES:
            return
        places = get_currency_precision(currency)
        if -amount.as_tuple().exponent > places:
            raise ValidationError(f"{currency} has {places} decimal places.", "amount")


class SaleDeliveredSchema(Schema):
    class Meta:
        unknown = RAISE

    sale_id = Identifier(120, required=True)
    delivered_at = BoundedDateTime(required=True)


class SaleRefundedSchema(Schema):
    class Meta:
        unknown = RAISE

    sale_id = Identifier(120, required=True)
    reason = Text(500, blank=True, load_default=None, allow_none=True)


class ComplaintOpenedSchema(Schema):
    class Meta:
        unknown = RAISE

    complaint_id = Identifier(120, required=True)
    customer_id = Identifier(120, required=True)
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    category = Text(120, required=True)
    summary = Text(5000, required=True, multiline=True)
    severity = fields.String(load_default="medium", validate=validate.OneOf(SEVERITIES))
    public_url = Url(500, load_default=None, allow_none=True)


class ComplaintResolvedSchema(Schema):
    class Meta:
        unknown = RAISE

    complaint_id = Identifier(120, required=True)
    resolution = Text(5000, required=True, multiline=True)


class NpsResponseSchema(Schema):
    class Meta:
        unknown = RAISE

    customer_id = Identifier(120, required=True)
    score = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=10))
    comment = Text(5000, blank=True, load_default=None, allow_none=True, multiline=True)


class CustomerChurnedSchema(Schema):
    class Meta:
        unknown = RAISE

    customer_id = Identifier(120, required=True)
    reason = Text(500, blank=True, load_default=None, allow_none=True)


class CustomerUpsertedSchema(Schema):
    class Meta:
        unknown = RAISE

    customer = fields.Nested(CustomerSchema, required=True)


DATA_SCHEMAS: dict[str, type[Schema]] = {
    "customer.upserted": CustomerUpsertedSchema,
    "sale.completed": SaleCompletedSchema,
    "sale.delivered": SaleDeliveredSchema,
    "sale.refunded": SaleRefundedSchema,
    "complaint.opened": ComplaintOpenedSchema,
    "complaint.resolved": ComplaintResolvedSchema,
    "nps.response": NpsResponseSchema,
    "customer.churned": CustomerChurnedSchema,
}
_DATA_SCHEMA_INSTANCES = {name: cls() for name, cls in DATA_SCHEMAS.items()}


class EnvelopeSchema(Schema):
    """The body of every event: type, occurred_at and the type's data."""

    class Meta:
        unknown = EXCLUDE

    type = fields.String(required=True, validate=validate.OneOf(EVENT_TYPES))
    occurred_at = BoundedDateTime(required=True)
    data = fields.Dict(required=True)


_ENVELOPE = EnvelopeSchema()


def load_event(body: dict) -> dict:
    """Validate an event body; raise ValidationError with field-by-field messages."""
    envelope = _ENVELOPE.load(body)
    try:
        envelope["data"] = _DATA_SCHEMA_INSTANCES[envelope["type"]].load(envelope["data"])
    except ValidationError as err:
        raise ValidationError({"data": err.messages}) from None
    return envelope


def json_ready(data):
    """The validated data as JSON-storable values (Decimal and datetimes as strings)."""
    kind = type(data)
    if kind is str or kind is int or kind is bool or data is None:  # most values: the hook calls this per event
        return data
    if isinstance(data, dict):
        return {k: json_ready(v) for k, v in data.items()}
    if isinstance(data, list):
        return [json_ready(v) for v in data]
    if isinstance(data, Decimal):
        return str(data)
    if hasattr(data, "isoformat"):
        return data.isoformat()
    return data
