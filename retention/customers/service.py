"""Rules about customers and sales: applying events, search, the timeline."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from retention.customers.folding import fold, phone_query, search_text
from retention.customers.models import Customer, Sale
from retention.validation import bad_character

CUSTOMER_FIELDS = ("name", "email", "phone", "locale", "timezone", "form_of_address")


# A search is a few words of a name, an email, a phone number or an id: longer is not a search.
SEARCH_MAX_LENGTH = 200


class InvalidSearch(ValueError):
    """The search text cannot be searched for (too long, or a control character); the message names `q`."""


def like_pattern(text: str) -> str:
    """A LIKE pattern matching `text` anywhere, its own % _ and \\ taken literally (escape character \\)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@dataclass
class Lookups:
    """Customers and sales of one batch of events, loaded together to save round trips."""

    session: Session
    customers: dict[str, Customer] = field(default_factory=dict)
    sales: dict[str, Sale] = field(default_factory=dict)
    # refs looked up and not found: asking again would only cost a query (and an autoflush)
    missing_customers: set[str] = field(default_factory=set)
    missing_sales: set[str] = field(default_factory=set)

    def preload(self, customer_refs, sale_refs) -> None:
        """Load in two queries every customer and sale the batch mentions."""
        refs = [r for r in set(customer_refs) if r and r not in self.customers]
        if refs:
            for c in self.session.scalars(select(Customer).where(Customer.external_id.in_(refs))):
                self.customers[c.external_id] = c
            self.missing_customers.update(r for r in refs if r not in self.customers)
        srefs = [r for r in set(sale_refs) if r and r not in self.sales]
        if srefs:
            for s in self.session.scalars(select(Sale).where(Sale.external_id.in_(srefs))):
                self.sales[s.external_id] = s
            self.missing_sales.update(r for r in srefs if r not in self.sales)

    def customer(self, ref: str) -> Customer | None:
        if ref in self.missing_customers:
            return None
        if ref not in self.customers:
            found = self.session.scalar(select(Customer).where(Customer.external_id == ref))
            if found is None:
                return None
            self.customers[ref] = found
        return self.customers[ref]

    def sale(self, ref: str) -> Sale | None:
        if ref in self.missing_sales:
            return None
        if ref not in self.sales:
            found = self.session.scalar(select(Sale).where(Sale.external_id == ref))
            if found is None:
                return None
            self.sales[ref] = found
        return self.sales[ref]

    def forget(self) -> None:
        self.customers.clear()
        self.sales.clear()
        self.missing_customers.clear()
        self.missing_sales.clear()


def upsert_customer(lookups: Lookups, data: dict, occurred_at: dt.datetime, now: dt.datetime) -> tuple[Customer, bool]:
    """Create the customer or update it if this event is newer than the last one applied.

    Returns the customer and whether it was created. Events may arrive out of order: an older
    event arriving late never overwrites newer details. A field staff corrected keeps the correction against
    an event older than it or one repeating the value it replaced (`_keeps_correction`).
    """
    customer = lookups.customer(data["id"])
    created = customer is None
    if created:
        customer = Customer(external_id=data["id"], created_at=now)
        set_committed_value(customer, "sales", [])  # none yet: adding its first sale loads nothing
        lookups.session.add(customer)
        lookups.customers[data["id"]] = customer
        lookups.missing_customers.discard(data["id"])
    elif customer.source_updated_at is not None and occurred_at < customer.source_updated_at:
        return customer, False
    for name in CUSTOMER_FIELDS:
        value = data.get(name)
        if value is None:  # an omitted field keeps what we know
            continue
        if name in CONTACT_GROUPS and _keeps_correction(customer, name, value, occurred_at):
            continue  # staff corrected it since (correct_contact)
        if name == "phone" and value != customer.phone:
            customer.phone_flagged_at = None  # another number: the "wrong number" flag was about the old one
        setattr(customer, name, value)
    address = data.get("address")
    if address:
        incoming = {"lines": list(address.get("lines") or []), "city": address.get("city") or "",
                    "region": address.get("region") or "", "postal_code": address.get("postal_code") or "",
                    "country": address.get("country")}
        if not _keeps_correction(customer, "address", incoming, occurred_at):
            customer.address_lines = incoming["lines"]
            customer.city, customer.region = incoming["city"], incoming["region"]
            customer.postal_code, customer.country = incoming["postal_code"], incoming["country"]
            customer.address_flagged_at = None  # a new address from the CRM clears a returned-mail flag
    customer.search_text = search_text(customer.name, customer.email, customer.external_id, customer.phone)
    customer.source_updated_at = occurred_at
    customer.updated_at = now
    return customer, created


def record_sale(lookups: Lookups, data: dict, occurred_at: dt.datetime, now: dt.datetime) -> tuple[Sale, bool]:
    """Record a completed sale once (the sale id is the key); returns the sale and whether it is new."""
    customer, _ = upsert_customer(lookups, data["customer"], occurred_at, now)
    sale = lookups.sale(data["sale_id"])
    if sale is not None:
        return sale, False
    sale = Sale(
        external_id=data["sale_id"], customer=customer, amount=Decimal(data["amount"]),
        currency=data["currency"], product=data["product"], category=data.get("category"),
        referral_code=data.get("referral_code"), sold_at=occurred_at, created_at=now,
    )
    lookups.session.add(sale)
    lookups.sales[sale.external_id] = sale
    lookups.missing_sales.discard(sale.external_id)
    return sale, True


def search(session: Session, query: str, page: int, per_page: int = 50, owner_id: int | None = None):
    """One page of customers matching a free-text query on name, email, phone or id, newest first.

    Spelling variants match (ي/ی, ك/ک, diacritics, ZWNJ, digits of any script: customers/folding.py), and a
    query that reads as a phone number matches the stored number whatever its layout or prefix.

    The text is matched literally (a % or _ in it is no wildcard); InvalidSearch when it is too long or
    holds a control character.
    """
    query = query.strip()
    if len(query) > SEARCH_MAX_LENGTH:
        raise InvalidSearch(f"q: at most {SEARCH_MAX_LENGTH} characters")
    problem = bad_character(query)
    if problem:
        raise InvalidSearch(f"q: {problem}")
    stmt = select(Customer)
    folded = fold(query)
    if folded:
        matches = [Customer.search_text.like(like_pattern(folded), escape="\\")]
        digits = phone_query(query)
        if digits:
            matches.append(Customer.search_text.like(like_pattern(digits), escape="\\"))
        stmt = stmt.where(or_(*matches))
    if owner_id is not None:
        stmt = stmt.where(Customer.owner_id == owner_id)
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = session.scalars(stmt.order_by(Customer.created_at.desc(), Customer.id.desc())
                           .limit(per_page).offset((page - 1) * per_page)).all()
    return rows, total


# --- contact corrections by staff ------------------------------------------------------------------

# The fields staff correct, grouped as they are shown and audited: the address is one change.
ADDRESS_FIELDS = ("address_lines", "city", "region", "postal_code", "country")
CONTACT_GROUPS = ("phone", "address", "locale", "timezone", "form_of_address")
MAX_ADDRESS_LINES = 5


class InvalidContact(ValueError):
    """Contact details that cannot be stored; `errors` maps each form field to a message in the reader's words."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{field}: {message}" for field, message in errors.items()))
        self.errors = errors


def _address_of(customer: Customer) -> dict:
    return {"lines": list(customer.address_lines or []), "city": customer.city or "", "region": customer.region or "",
            "postal_code": customer.postal_code or "", "country": customer.country}


def _current(customer: Customer, group: str):
    return _address_of(customer) if group == "address" else getattr(customer, group)


def _text(errors: dict, field: str, value, max_length: int, multiline: bool = False) -> str:
    from flask_babel import gettext as _

    value = (value or "").strip() if isinstance(value, str) else ""
    if bad_character(value, multiline):
        errors[field] = _("Remove the control characters from this field.")
    elif len(value) > max_length:
        errors[field] = _("At most %(num)d characters.", num=max_length)
    return value


def check_contact(data: dict, current: Customer) -> dict:
    """The contact details of a form (strings as typed) checked and normalised; InvalidContact naming each field.

    phone: any layout, read in the address's country when it has no +, stored E.164 (as the events are); empty
    clears it. address: up to five lines, city, region, postal code and an ISO 3166 country. locale: a language
    tag as events send them (en, ar, fa, en-GB). timezone: an IANA name (Asia/Tehran). form_of_address: "mr",
    "ms", "neutral" or empty (not known); absent from `data`: unchanged.
    """
    import phonenumbers
    from flask_babel import gettext as _

    from retention.customers.models import FORMS_OF_ADDRESS
    from retention.customers.names import COUNTRY_CODES, LANGUAGE_TAG
    from retention.validation import ZONES

    errors: dict[str, str] = {}
    lines_text = _text(errors, "address_lines", data.get("address_lines"), 1200, multiline=True)
    lines = [line.strip() for line in lines_text.replace("\r\n", "\n").split("\n") if line.strip()]
    if "address_lines" not in errors:
        if len(lines) > MAX_ADDRESS_LINES:
            errors["address_lines"] = _("At most %(num)d lines.", num=MAX_ADDRESS_LINES)
        elif any(len(line) > 200 for line in lines):
            errors["address_lines"] = _("Each line at most %(num)d characters.", num=200)
    city = _text(errors, "city", data.get("city"), 120)
    region = _text(errors, "region", data.get("region"), 120)
    postal_code = _text(errors, "postal_code", data.get("postal_code"), 20)
    country = (data.get("country") or "").strip().upper() if isinstance(data.get("country"), str) else ""
    if country and country not in COUNTRY_CODES:
        errors["country"] = _("Choose a country from the list.")
    elif not country and (lines or city or postal_code):
        errors["country"] = _("Choose the country of this address.")
    phone = _text(errors, "phone", data.get("phone"), 40)
    if phone and "phone" not in errors:
        # Digits of any script and any layout ("۰۹۱۲ ۱۲۳ ۴۵۶۷", "+44 (20) 7946-0000"); no + : the address's country.
        try:
            number = phonenumbers.parse(phone, country or current.country or None)
        except phonenumbers.NumberParseException:
            number = None
        if number is None or not phonenumbers.is_possible_number(number):
            errors["phone"] = _("Not a phone number: write it with its country code, e.g. +98 912 123 4567.")
        else:
            phone = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    locale = (data.get("locale") or "").strip() if isinstance(data.get("locale"), str) else ""
    if not LANGUAGE_TAG.match(locale):
        errors["locale"] = _("Choose a language from the list.")
    timezone = (data.get("timezone") or "").strip() if isinstance(data.get("timezone"), str) else ""
    if timezone not in ZONES:
        errors["timezone"] = _("Not a time zone: choose one from the list, e.g. Asia/Tehran.")
    # How letters greet the customer; a caller without the field keeps what is known.
    form_of_address = data.get("form_of_address", current.form_of_address or "")
    form_of_address = form_of_address.strip() if isinstance(form_of_address, str) else None
    if form_of_address and form_of_address not in FORMS_OF_ADDRESS:
        errors["form_of_address"] = _("Choose a form of address from the list.")
    if errors:
        raise InvalidContact(errors)
    return {"phone": phone or None, "locale": locale.replace("_", "-"), "timezone": timezone,
            "form_of_address": form_of_address or None,
            "address": {"lines": lines, "city": city, "region": region, "postal_code": postal_code,
                        "country": country or None}}


def correct_contact(session: Session, customer: Customer, data: dict, *, actor: str, now: dt.datetime) -> list[str]:
    """Staff correct a customer's phone, postal address, language, time zone or form of address (how letters
    greet them); returns the groups changed.

    Checked first (InvalidContact: nothing changes). A corrected phone clears the "wrong number" flag, a corrected
    address the "address returned" flag. One audit entry names who changed what, old -> new (the timeline shows
    it); each corrected group is remembered so an older inbound event, or one repeating the value the
    correction replaced, does not undo it (upsert_customer).
    """
    from retention.audit.service import record

    new = check_contact(data, customer)
    changed: dict[str, dict] = {}
    corrections = dict(customer.corrections or {})
    for group in CONTACT_GROUPS:
        old = _current(customer, group)
        if new[group] == old:
            continue
        changed[group] = {"old": old, "new": new[group]}
        earlier = corrections.get(group)
        # What the sender last said: kept from the first correction when staff correct again.
        replaced = earlier["replaced"] if earlier else old
        corrections[group] = {"at": now.isoformat(), "by": actor, "replaced": replaced}
        if group == "address":
            address = new["address"]
            customer.address_lines = address["lines"]
            customer.city, customer.region = address["city"], address["region"]
            customer.postal_code, customer.country = address["postal_code"], address["country"]
            customer.address_flagged_at = None
        else:
            setattr(customer, group, new[group])
            if group == "phone":
                customer.phone_flagged_at = None
    if not changed:
        return []
    customer.corrections = corrections
    customer.search_text = search_text(customer.name, customer.email, customer.external_id, customer.phone)
    customer.updated_at = now
    record(session, actor=actor, action="customer.contact_corrected", entity_type="customer", entity_id=customer.id,
           now=now, changes=changed)
    return list(changed)


def _keeps_correction(customer: Customer, group: str, incoming, occurred_at: dt.datetime) -> bool:
    """Whether a staff correction of `group` stands against this event's value (see correct_contact).

    It stands against an event that happened before it, and against a later one repeating the value it replaced
    (the sender has not learnt of the correction). A later event with another value is news: it wins and the
    correction is forgotten.
    """
    correction = (customer.corrections or {}).get(group)
    if not correction:
        return False
    if occurred_at <= dt.datetime.fromisoformat(correction["at"]) or incoming == correction.get("replaced"):
        return True
    customer.corrections = {k: v for k, v in customer.corrections.items() if k != group}
    return False
