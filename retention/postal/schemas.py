"""API schemas of letter templates, letters and print batches."""
from marshmallow import Schema, fields, validate

from retention.postal.service import DIGITS, LANGUAGES
from retention.validation import BoundedDateTime, Identifier, Text


class TemplateOut(Schema):
    key = fields.String()
    language = fields.String()
    version = fields.Integer()
    name = fields.String()
    body = fields.String()
    closing = fields.String()
    qr_url = fields.String()
    digits = fields.String()
    handwriting_signature = fields.Boolean()


class TemplateIn(Schema):
    name = Text(200, blank=True, load_default="")
    body = Text(20000, multiline=True, required=True)
    closing = Text(200, blank=True, load_default="")
    qr_url = Text(500, blank=True, load_default="")
    digits = fields.String(load_default="latn", validate=validate.OneOf(DIGITS))
    handwriting_signature = fields.Boolean(load_default=True)


class LetterOut(Schema):
    id = fields.Integer()
    customer = fields.Function(lambda l: l.customer.external_id)
    template_key = fields.String()
    language = fields.String()
    status = fields.String()
    batch_id = fields.Integer(allow_none=True)
    first_page = fields.Integer(allow_none=True)
    page_count = fields.Integer(allow_none=True)
    error = fields.String(allow_none=True)
    created_at = fields.AwareDateTime()


class LetterQuery(Schema):
    status = fields.String(load_default="queued", validate=validate.OneOf(("queued", "printed", "mailed", "returned")))
    limit = fields.Integer(load_default=200, validate=validate.Range(min=1, max=1000))


class BatchIn(Schema):
    template_key = Identifier(60, load_default=None)
    country = fields.String(load_default=None, validate=validate.Regexp(r"^[A-Za-z]{2}$"))
    language = fields.String(load_default=None, validate=validate.OneOf(LANGUAGES))
    since = BoundedDateTime(load_default=None)
    until = BoundedDateTime(load_default=None)
    duplex = fields.Boolean(load_default=False)


class BatchOut(Schema):
    id = fields.Integer()
    status = fields.String()
    total = fields.Integer()
    done = fields.Integer()
    skipped = fields.Integer()
    pages = fields.Integer()
    duplex = fields.Boolean()
    filters = fields.Dict()
    created_at = fields.AwareDateTime()
