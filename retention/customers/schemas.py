"""API schemas of customers and sales."""
from marshmallow import Schema, fields

from retention.request_input import PageField, QueryText
from retention.types import money_str


class SaleOut(Schema):
    id = fields.String(attribute="external_id")
    amount = fields.Method("_amount")
    currency = fields.String()
    product = fields.String()
    category = fields.String(allow_none=True)
    referral_code = fields.String(allow_none=True)
    sold_at = fields.AwareDateTime()
    delivered_at = fields.AwareDateTime(allow_none=True)
    refunded_at = fields.AwareDateTime(allow_none=True)

    def _amount(self, sale):
        return money_str(sale.amount, sale.currency)


class AddressOut(Schema):
    lines = fields.List(fields.String(), attribute="address_lines")
    city = fields.String()
    region = fields.String()
    postal_code = fields.String()
    country = fields.String(allow_none=True)


class CustomerOut(Schema):
    id = fields.String(attribute="external_id")
    name = fields.String()
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    locale = fields.String()
    timezone = fields.String()
    address = fields.Method("_address")
    owner = fields.Method("_owner")
    address_flagged = fields.Method("_flagged")
    sales = fields.List(fields.Nested(SaleOut))

    def _address(self, customer):
        return AddressOut().dump(customer)

    def _owner(self, customer):
        return customer.owner.email if customer.owner else None

    def _flagged(self, customer):
        return customer.address_flagged_at is not None


class CustomerSummaryOut(CustomerOut):
    class Meta:
        exclude = ("sales",)


class CustomerListArgs(Schema):
    q = QueryText(load_default="")
    page = PageField()


class CustomerPage(Schema):
    items = fields.List(fields.Nested(CustomerSummaryOut))
    total = fields.Integer()
    page = fields.Integer()
