"""Marshmallow schemas of the inbound event contract (DESIGN.md section 4)."""
from __future__ import annotations

import zoneinfo
from decimal import Decimal

import phonenumbers
from babel import Locale
from babel.numbers import get_currency_precision, list_currencies
from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, post_load, validate, validates, validates_schema

EVENT_TYPES = (
    "customer.upserted", "sale.completed", "sale.delivered", "sale.refunded",
    "complaint.opened", "complaint.resolved", "nps.response", "customer.churned",
)
CHANNELS = ("phone", "email", "social", "letter", "in_person", "chat")
SEVERITIES = ("low", "medium", "high", "critical")
COUNTRIES = frozenset(code for code in Locale("en").territories
                      if len(code) == 2 and code.isalpha() and code not in {"ZZ", "QO", "EU", "EZ", "UN"})
CURRENCIES = frozenset(list_currencies())
ZONES = frozenset(zoneinfo.available_timezones())


class AddressSchema(Schema):
    """A postal address; lines first, then city, region, postal code and country."""

    class Meta:
        unknown = RAISE

    lines = fields.List(fields.String(validate=validate.Length(max=200)), load_default=list,
                        validate=validate.Length(max=5))
    city = fields.String(load_default="", validate=validate.Length(max=120))
    region = fields.String(load_default="", validate=validate.Length(max=120))
    postal_code = fields.String(load_default="", validate=validate.Length(max=20))
    country = fields.String(required=True)

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

    id = fields.String(required=True, validate=validate.Length(min=1, max=120))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    email = fields.Email(load_default=None, allow_none=True)
    phone = fields.String(load_default=None, allow_none=True)
    locale = fields.String(load_default="en", validate=validate.Regexp(r"^[a-z]{2,3}([-_][A-Za-z]{2,4})?$"))
    timezone = fields.String(load_default="UTC")
    address = fields.Nested(AddressSchema, load_default=None, allow_none=True)

    @validates("timezone")
    def _zone(self, value, **_):
        if value not in ZONES:
            raise ValidationError("Not an IANA time zone.")

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

    sale_id = fields.String(required=True, validate=validate.Length(min=1, max=120))
    customer = fields.Nested(CustomerSchema, required=True)
    amount = fields.Decimal(required=True, as_string=True)
    currency = fields.String(required=True)
    product = fields.String(required=True, validate=validate.Length(min=1, max=200))
    category = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=120))
    referral_code = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=40))

    @validates("currency")
    def _currency(self, value, **_):
        if value not in CURRENCIES:
            raise ValidationError("Not an ISO 4217 currency code.")

    @validates_schema
    def _amount(self, data, **_):
        amount, currency = data.get("amount"), data.get("currency")
        if amount is None or currency not in CURRENCIES:
            return
        if not amount.is_finite() or amount < 0:
            raise ValidationError("Must be a non-negative decimal amount.", "amount")
        places = get_currency_precision(currency)
        if -amount.as_tuple().exponent > places:
            raise ValidationError(f"{currency} has {places} decimal places.", "amount")
        if amount >= Decimal("1e15"):
            raise ValidationError("Amount is too large.", "amount")


class SaleDeliveredSchema(Schema):
    class Meta:
        unknown = RAISE

    sale_id = fields.String(required=True, validate=validate.Length(min=1, max=120))
    delivered_at = fields.AwareDateTime(required=True, format="iso")


class SaleRefundedSchema(Schema):
    class Meta:
        unknown = RAISE

    sale_id = fields.String(required=True, validate=validate.Length(min=1, max=120))
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))


class ComplaintOpenedSchema(Schema):
    class Meta:
        unknown = RAISE

    complaint_id = fields.String(required=True, validate=validate.Length(min=1, max=120))
    customer_id = fields.String(required=True, validate=validate.Length(min=1, max=120))
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    category = fields.String(required=True, validate=validate.Length(min=1, max=120))
    summary = fields.String(required=True, validate=validate.Length(min=1, max=5000))
    severity = fields.String(load_default="medium", validate=validate.OneOf(SEVERITIES))
    public_url = fields.Url(load_default=None, allow_none=True)


class ComplaintResolvedSchema(Schema):
    class Meta:
        unknown = RAISE

    complaint_id = fields.String(required=True, validate=validate.Length(min=1, max=120))
    resolution = fields.String(required=True, validate=validate.Length(min=1, max=5000))


class NpsResponseSchema(Schema):
    class Meta:
        unknown = RAISE

    customer_id = fields.String(required=True, validate=validate.Length(min=1, max=120))
    score = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=10))
    comment = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=5000))


class CustomerChurnedSchema(Schema):
    class Meta:
        unknown = RAISE

    customer_id = fields.String(required=True, validate=validate.Length(min=1, max=120))
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))


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
    occurred_at = fields.AwareDateTime(required=True, format="iso")
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
    if isinstance(data, dict):
        return {k: json_ready(v) for k, v in data.items()}
    if isinstance(data, list):
        return [json_ready(v) for v in data]
    if isinstance(data, Decimal):
        return str(data)
    if hasattr(data, "isoformat"):
        return data.isoformat()
    return data
