"""Input fields shared by every door (events, API bodies, forms): clean text, money, currencies, zones, bounded times."""
from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from decimal import Decimal

from babel import Locale
from babel.numbers import get_territory_currencies
from marshmallow import ValidationError, fields

UTC = dt.timezone.utc

# Every time a sender gives us (occurred_at, delivered_at, ...) falls in this range: far enough either way
# for any real sale, and every date computed from it (a 90-day journey, a backoff) stays representable.
EARLIEST = dt.datetime(2000, 1, 1, tzinfo=UTC)
LATEST = dt.datetime(2100, 1, 1, tzinfo=UTC)

# Money(18, 3): fifteen digits before the point, at most three after.
AMOUNT_INTEGER_DIGITS = 15
AMOUNT_PLACES = 3
_AMOUNT = re.compile(r"(0|[1-9][0-9]*)(\.[0-9]+)?")

# C0 and C1 controls, DEL, and unpaired surrogates: PostgreSQL refuses NUL in text, a lone surrogate
# cannot be encoded as UTF-8 at all, and none of them belongs in a name, an id or an address.
_ONE_LINE_BAD = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_MULTI_LINE_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


# The same rules written for the OpenAPI document (JSON Schema regex), so a client can check before sending.
_CTRL_ONE = "\\u0000-\\u001f\\u007f-\\u009f"
_CTRL_MULTI = "\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f"


def text_pattern(multiline: bool = False, blank: bool = False) -> str:
    """JSON Schema pattern of `Text`: no control character; unless blank is allowed, one visible character."""
    ctrl = _CTRL_MULTI if multiline else _CTRL_ONE
    return f"^[^{ctrl}]*$" if blank else f"^[^{ctrl}]*[^\\s{ctrl}][^{ctrl}]*$"


IDENTIFIER_PATTERN = f"^[^\\s{_CTRL_ONE}]([^{_CTRL_ONE}]*[^\\s{_CTRL_ONE}])?$"


def _active_currencies(on: dt.date) -> frozenset[str]:
    """ISO 4217 currencies legal tender somewhere on that day (CLDR data through Babel).

    Leaves out withdrawn ones (DEM, HRK), the test and "no currency" codes (XTS, XXX), funds codes and
    precious metals: none of them is what a customer pays with.
    """
    active: set[str] = set()
    for territory in Locale("en").territories:
        try:
            active.update(get_territory_currencies(territory, on, tender=True))
        except Exception:  # noqa: BLE001 (a region code Babel has no currency data for)
            continue
    return frozenset(active)


CURRENCIES = _active_currencies(dt.date.today())

# IANA zone names (canonical zones and their backward-compatible links such as UTC), without the
# system's own entries that are not zones a customer lives in.
ZONES = frozenset(name for name in zoneinfo.available_timezones()
                  if name not in {"localtime", "posixrules", "Factory"} and not name.startswith(("posix/", "right/")))


def bad_character(value: str, multiline: bool = False) -> str | None:
    """Why the text cannot be stored (a control character, NUL or an unpaired surrogate), or None."""
    found = (_MULTI_LINE_BAD if multiline else _ONE_LINE_BAD).search(value)
    if found is None:
        return None
    char = found.group()
    if char == "\x00":
        return "Must not contain a NUL character."
    if "\ud800" <= char <= "\udfff":
        return "Must not contain an unpaired surrogate (not valid Unicode)."
    return f"Must not contain control characters (found U+{ord(char):04X})."


def check_text(value: str, multiline: bool = False) -> str:
    """The text, or ValidationError when it holds a character no column can keep."""
    problem = bad_character(value, multiline)
    if problem:
        raise ValidationError(problem)
    return value


class Text(fields.String):
    """Human text (a name, an address line, a comment): no control characters, trimmed, at most `max_length`.

    `blank=False` refuses text that is empty once trimmed (a name of only spaces).
    """

    def __init__(self, max_length: int, *, blank: bool = False, multiline: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.max_length, self.blank, self.multiline = max_length, blank, multiline
        self.metadata.setdefault("maxLength", max_length)
        self.metadata.setdefault("pattern", text_pattern(multiline, blank))
        if not blank:
            self.metadata.setdefault("minLength", 1)

    def _deserialize(self, value, attr, data, **kwargs):
        text = check_text(super()._deserialize(value, attr, data, **kwargs), self.multiline).strip()
        if not text and not self.blank:
            raise ValidationError("Must not be blank.")
        if len(text) > self.max_length:
            raise ValidationError(f"Longer than {self.max_length} characters.")
        return text


class Identifier(fields.String):
    """A sender's id (customer, sale, complaint): 1 to `max_length` characters, no control or surrounding spaces."""

    def __init__(self, max_length: int = 120, **kwargs):
        super().__init__(**kwargs)
        self.max_length = max_length
        self.metadata.setdefault("maxLength", max_length)
        self.metadata.setdefault("minLength", 1)
        self.metadata.setdefault("pattern", IDENTIFIER_PATTERN)

    def _deserialize(self, value, attr, data, **kwargs):
        ident = check_text(super()._deserialize(value, attr, data, **kwargs))
        if not ident.strip():
            raise ValidationError("Must not be blank.")
        if ident != ident.strip():
            raise ValidationError("Must not start or end with a space.")
        if len(ident) > self.max_length:
            raise ValidationError(f"Longer than {self.max_length} characters.")
        return ident


class Email(fields.Email):
    """An email address that fits its column (254 characters)."""

    def __init__(self, max_length: int = 254, **kwargs):
        super().__init__(**kwargs)
        self.max_length = max_length
        self.metadata.setdefault("maxLength", max_length)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and len(value) > self.max_length:
            raise ValidationError(f"Longer than {self.max_length} characters.")
        return check_text(super()._deserialize(value, attr, data, **kwargs))


class Url(fields.Url):
    """An http(s) URL without control characters that fits its column."""

    def __init__(self, max_length: int = 500, **kwargs):
        kwargs.setdefault("schemes", {"http", "https"})
        super().__init__(**kwargs)
        self.max_length = max_length
        self.metadata.setdefault("maxLength", max_length)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            check_text(value)
            if len(value) > self.max_length:
                raise ValidationError(f"Longer than {self.max_length} characters.")
        return super()._deserialize(value, attr, data, **kwargs)


class Amount(fields.Field):
    """A non-negative amount of money written as a decimal string: ASCII digits, an optional point, nothing else.

    Refused: a sign ("-0"), spaces, "5_000", exponents, other scripts' digits, JSON numbers (binary
    floats lose cents), and anything over Money(18, 3): fifteen digits before the point.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.metadata.setdefault("type", "string")
        self.metadata.setdefault("pattern", r"^(0|[1-9][0-9]{0,14})(\.[0-9]{1,3})?$")
        self.metadata.setdefault("example", "649.00")

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise ValidationError('Must be a decimal string such as "649.00".')
        if len(value) > AMOUNT_INTEGER_DIGITS + AMOUNT_PLACES + 1 + 10 or not _AMOUNT.fullmatch(value):
            raise ValidationError('Must be a decimal string such as "649.00": digits 0-9 and one point, '
                                  'no sign, spaces, separators or exponent.')
        whole, _, fraction = value.partition(".")
        if len(whole) > AMOUNT_INTEGER_DIGITS:
            raise ValidationError(f"Too large: at most {AMOUNT_INTEGER_DIGITS} digits before the point.")
        if len(fraction) > AMOUNT_PLACES:
            raise ValidationError(f"At most {AMOUNT_PLACES} decimal places.")
        return Decimal(value)

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else str(value)


class Currency(fields.String):
    """An active ISO 4217 currency code, upper case (EUR, KWD)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.metadata.setdefault("pattern", "^[A-Z]{3}$")

    def _deserialize(self, value, attr, data, **kwargs):
        code = super()._deserialize(value, attr, data, **kwargs)
        if code not in CURRENCIES:
            raise ValidationError("Not an active ISO 4217 currency code (e.g. EUR, USD, KWD).")
        return code


class TimeZone(fields.String):
    """An IANA time zone name such as Europe/Berlin or UTC; not `localtime` or `Factory`."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.metadata.setdefault("maxLength", 64)
        self.metadata.setdefault("example", "Europe/Berlin")

    def _deserialize(self, value, attr, data, **kwargs):
        zone = super()._deserialize(value, attr, data, **kwargs)
        if zone not in ZONES:
            raise ValidationError("Not an IANA time zone name (e.g. Europe/Berlin, Asia/Dubai, UTC).")
        return zone


OFFSET_PATTERN = r"(Z|z|[+-](0\d|1[0-3]):[0-5]\d|[+-]14:00)"


class BoundedDateTime(fields.AwareDateTime):
    """An ISO 8601 time with its offset, from `earliest` (inclusive) to `latest` (exclusive).

    The offset must be whole minutes within -14:00..+14:00: other offsets exist on no clock. The OpenAPI
    document states the same limits (`year_pattern` is the range's years as a regex).
    """

    def __init__(self, earliest: dt.datetime = EARLIEST, latest: dt.datetime = LATEST,
                 year_pattern: str = r"20\d\d", **kwargs):
        kwargs.setdefault("format", "iso")
        super().__init__(**kwargs)
        self.earliest, self.latest = earliest, latest
        self.metadata.setdefault("description", f"ISO 8601 with an offset, from {earliest.date().isoformat()} "
                                                f"up to {latest.date().isoformat()} (UTC)")
        self.metadata.setdefault("maxLength", 40)
        self.metadata.setdefault("pattern", f"^{year_pattern}-.*{OFFSET_PATTERN}$")

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and (len(value) > 40 or not value.isascii()):
            raise ValidationError("Not a valid ISO 8601 time (e.g. 2026-03-04T10:00:00+04:00).")
        moment = super()._deserialize(value, attr, data, **kwargs)
        offset = moment.utcoffset()
        if offset is None or offset % dt.timedelta(minutes=1) or abs(offset) > dt.timedelta(hours=14):
            raise ValidationError("The offset must be whole minutes between -14:00 and +14:00.")
        try:
            in_range = self.earliest <= moment < self.latest
        except OverflowError:  # year 1 or 9999 with an offset: outside any range we take
            in_range = False
        if not in_range:
            raise ValidationError(f"Must be from {self.earliest.date().isoformat()} up to "
                                  f"{self.latest.date().isoformat()} (UTC).")
        return moment
