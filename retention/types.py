"""Column types shared by the models: aware UTC times and money."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import DateTime, Numeric
from sqlalchemy.types import TypeDecorator

UTC = dt.timezone.utc


def utcnow() -> dt.datetime:
    """The current time, timezone-aware UTC (only callers at the edge should use it)."""
    return dt.datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC datetime on every database (SQLite keeps naive strings)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: times are timezone-aware")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Money(TypeDecorator):
    """An exact amount; three decimals so KWD, BHD and OMR keep their fils."""

    impl = Numeric(18, 3)
    cache_ok = True

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return Decimal(value)


def render_migration_type(type_, obj, autogen_context):
    """Alembic autogenerate: write plain SQLAlchemy types so migrations never import app code."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if type_ == "type" and isinstance(obj, Money):
        return "sa.Numeric(precision=18, scale=3)"
    return False


def money_str(amount: Decimal, currency: str) -> str:
    """The amount with exactly its currency's decimal places (ISO 4217 minor units), as a string."""
    from babel.numbers import get_currency_precision

    places = get_currency_precision(currency)
    return str(Decimal(amount).quantize(Decimal(1).scaleb(-places)))
