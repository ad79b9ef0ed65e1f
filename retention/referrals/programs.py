"""Referral programs: the one check of a program's fields (pages and API alike), saving, and the reward rule.

`clean(raw)` takes what a form or the API sent (strings, numbers or Decimals) and returns typed values, or raises
ProgramError naming the field; a rule the insult guard refuses names the part of the rule (floor, percentage,
cap or bands) and the purchase value where the reward falls below the share.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from retention.audit.service import record
from retention.errors import Conflict, NotFound, N_, ServiceError
from retention.referrals import rewards
from retention.referrals.models import (
    CHANNELS, FRIEND_KINDS, REWARD_KINDS, REWARD_TYPES, Referral, ReferralOffer, ReferralProgram,
)
from retention.validation import CURRENCIES, bad_character

MAX_BANDS = 8
UTC = dt.timezone.utc


@dataclass(frozen=True)
class Money:
    """An amount inside a message: "EUR 5.00" in English, the reader's money format on pages."""

    amount: Decimal
    currency: str

    def __str__(self) -> str:
        from retention.types import money_str

        return f"{self.currency} {money_str(self.amount, self.currency)}"


@dataclass(frozen=True)
class Percent:
    value: Decimal

    def __str__(self) -> str:
        return f"{self.value.normalize():f}%"


class ProgramError(ServiceError):
    """A program that cannot be saved (422), with the field and why; amounts and shares in the reader's format."""

    def translated(self) -> str:
        from flask_babel import gettext

        from retention import i18n

        local = {}
        for k, v in self.params.items():
            if isinstance(v, Money):
                local[k] = i18n.money(v.amount, v.currency)
            elif isinstance(v, Percent):
                from retention.referrals.labels import percent

                local[k] = percent(v.value)
            elif isinstance(v, (dt.date, dt.datetime)):
                local[k] = i18n.when(v, form="date")
            elif isinstance(v, int):
                local[k] = i18n.number(v)
            else:
                local[k] = v
        return gettext(self.message, **local)


class ProgramNotFound(ProgramError, NotFound):
    """No such program (404)."""


class ProgramInUse(ProgramError, Conflict):
    """The program has offers: it can end, not disappear (409)."""


# The fields of a program as a person reads them (pages label errors by them).
FIELDS = ("name", "starts_on", "ends_on", "currency", "min_purchase", "max_purchase", "categories", "min_nps",
          "min_days", "return_window_days", "max_offers", "reward_kind", "reward_percent", "reward_floor",
          "reward_cap", "bands", "rounding_step", "min_share", "friend_kind", "friend_value", "reward_type",
          "hold_days", "code_days", "max_referrals", "channel")


def _text(raw: dict, name: str, limit: int, required: bool = True) -> str:
    value = raw.get(name)
    value = "" if value is None else str(value).strip()
    if required and not value:
        raise ProgramError(name, N_("required"))
    if len(value) > limit:
        raise ProgramError(name, N_("at most %(num)s characters"), num=limit)
    if bad_character(value):
        raise ProgramError(name, N_("must not contain control characters"))
    return value


def _int(raw: dict, name: str, low: int, high: int, required: bool = True) -> int | None:
    value = raw.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ProgramError(name, N_("required"))
        return None
    if isinstance(value, bool):
        raise ProgramError(name, N_("a whole number from %(low)s to %(high)s"), low=low, high=high)
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()) or not low <= int(text) <= high:
        raise ProgramError(name, N_("a whole number from %(low)s to %(high)s"), low=low, high=high)
    return int(text)


def _decimal(raw: dict, name: str, required: bool = True, value=None) -> Decimal | None:
    value = raw.get(name) if value is None else value
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ProgramError(name, N_("required"))
        return None
    if isinstance(value, bool) or isinstance(value, float):
        raise ProgramError(name, N_("a number such as 12.50 (digits and one point)"))
    text = str(value).strip()
    if not text.isascii() or len(text) > 20 or text.startswith(("-", "+")) or "e" in text.lower():
        raise ProgramError(name, N_("a number such as 12.50 (digits and one point)"))
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ProgramError(name, N_("a number such as 12.50 (digits and one point)")) from None
    if not number.is_finite() or number >= Decimal("1e15") or number != number.quantize(Decimal("0.001")):
        raise ProgramError(name, N_("a number such as 12.50 (digits and one point)"))
    return number


def _amount(raw: dict, name: str, currency: str, required: bool = True, value=None) -> Decimal | None:
    number = _decimal(raw, name, required, value)
    if number is None:
        return None
    if number != number.quantize(rewards.unit(currency)):
        raise ProgramError(name, N_("%(currency)s has no amounts smaller than %(unit)s"), currency=currency,
                           unit=Money(rewards.unit(currency), currency))
    return number.quantize(rewards.unit(currency))


def _choice(raw: dict, name: str, choices: tuple[str, ...]) -> str:
    value = str(raw.get(name) or "").strip()
    if value not in choices:
        raise ProgramError(name, N_("choose one of the options"))
    return value


def _date(raw: dict, name: str, required: bool = True) -> dt.date | None:
    value = raw.get(name)
    if isinstance(value, dt.datetime):
        return value.astimezone(UTC).date()
    if isinstance(value, dt.date):
        return value
    text = "" if value is None else str(value).strip()
    if not text:
        if required:
            raise ProgramError(name, N_("required"))
        return None
    try:
        day = dt.date.fromisoformat(text) if len(text) == 10 and text.isascii() else None
    except ValueError:
        day = None
    if day is None or not dt.date(2000, 1, 1) <= day < dt.date(2100, 1, 1):
        raise ProgramError(name, N_("a date such as 2026-03-01, from 2000 to 2099"))
    return day


def _categories(raw: dict) -> list[str]:
    value = raw.get("categories") or []
    items = value.split(",") if isinstance(value, str) else list(value) if isinstance(value, (list, tuple)) else None
    if items is None:
        raise ProgramError("categories", N_("a list of product categories"))
    found = []
    for item in items:
        text = str(item).strip()
        if not text:
            continue
        if len(text) > 120 or bad_character(text):
            raise ProgramError("categories", N_("each category at most %(num)s characters"), num=120)
        if text not in found:
            found.append(text)
    if len(found) > 50:
        raise ProgramError("categories", N_("at most %(num)s categories"), num=50)
    return found


def _bands(raw: dict, currency: str) -> list[dict]:
    value = raw.get("bands") or []
    if not isinstance(value, (list, tuple)):
        raise ProgramError("bands", N_("a list of bands, each a starting purchase value and its reward"))
    bands = []
    for number, band in enumerate(value, start=1):
        if not isinstance(band, dict):
            raise ProgramError("bands", N_("a list of bands, each a starting purchase value and its reward"))
        start, reward = band.get("from"), band.get("reward")
        if (start in (None, "")) and (reward in (None, "")):
            continue  # an empty row of the form
        try:
            start = _amount({}, "bands", currency, value=start)
            reward = _amount({}, "bands", currency, value=reward)
        except ProgramError:
            raise ProgramError("bands", N_("band %(num)s: a starting purchase value and a reward, both amounts"),
                               num=number) from None
        bands.append({"from": start, "reward": reward})
    if len(bands) > MAX_BANDS:
        raise ProgramError("bands", N_("at most %(num)s bands"), num=MAX_BANDS)
    return bands


def clean(raw: dict) -> dict:
    """A program's fields checked and typed; ProgramError (field, reason) on the first problem."""
    values = {"name": _text(raw, "name", 200)}
    values["starts_on"] = _date(raw, "starts_on")
    values["ends_on"] = _date(raw, "ends_on", required=False)
    if values["ends_on"] is not None and values["ends_on"] < values["starts_on"]:
        raise ProgramError("ends_on", N_("on or after the start, %(date)s"), date=values["starts_on"])
    currency = str(raw.get("currency") or "").strip().upper()
    if currency not in CURRENCIES:
        raise ProgramError("currency", N_("an active ISO 4217 currency code, e.g. EUR"))
    values["currency"] = currency
    values["min_purchase"] = _amount(raw, "min_purchase", currency)
    values["max_purchase"] = _amount(raw, "max_purchase", currency)
    if values["min_purchase"] <= 0:
        raise ProgramError("min_purchase", N_("more than zero"))
    if values["max_purchase"] < values["min_purchase"]:
        raise ProgramError("max_purchase", N_("at least the lowest purchase value, %(amount)s"),
                           amount=Money(values["min_purchase"], currency))
    values["categories"] = _categories(raw)
    values["min_nps"] = _int(raw, "min_nps", 0, 10)
    values["min_days"] = _int(raw, "min_days", 0, 365)
    values["return_window_days"] = _int(raw, "return_window_days", 0, 365)
    values["max_offers"] = _int(raw, "max_offers", 1, 20)
    values["reward_kind"] = _choice(raw, "reward_kind", REWARD_KINDS)
    step = values["rounding_step"] = _amount(raw, "rounding_step", currency)
    if step <= 0:
        raise ProgramError("rounding_step", N_("more than zero"))
    share = values["min_share"] = _decimal(raw, "min_share")
    if share > 100:
        raise ProgramError("min_share", N_("a percentage from 0 to 100"))
    values.update(reward_percent=None, reward_floor=None, reward_cap=None, bands=[])
    if values["reward_kind"] == "percent":
        percent = values["reward_percent"] = _decimal(raw, "reward_percent")
        if not 0 < percent <= 100:
            raise ProgramError("reward_percent", N_("a percentage more than 0, at most 100"))
        for name in ("reward_floor", "reward_cap"):
            amount = values[name] = _amount(raw, name, currency, required=False)
            if amount is not None and amount % step:
                raise ProgramError(name, N_("a multiple of the rounding step, %(amount)s"), amount=Money(step, currency))
        if values["reward_floor"] is not None and values["reward_cap"] is not None \
                and values["reward_cap"] < values["reward_floor"]:
            raise ProgramError("reward_cap", N_("at least the floor, %(amount)s"),
                               amount=Money(values["reward_floor"], currency))
    else:
        bands = values["bands"] = _bands(raw, currency)
        if not bands:
            raise ProgramError("bands", N_("at least one band"))
        starts = [b["from"] for b in bands]
        if starts != sorted(set(starts)):
            raise ProgramError("bands", N_("each band starts above the one before"))
        if starts[0] > values["min_purchase"]:
            raise ProgramError("bands", N_("the first band starts at the lowest purchase value, %(amount)s, or below"),
                               amount=Money(values["min_purchase"], currency))
        for number, band in enumerate(bands, start=1):
            if band["reward"] % step:
                raise ProgramError("bands", N_("band %(num)s: its reward is a multiple of the rounding step, "
                                               "%(amount)s"), num=number, amount=Money(step, currency))
    values["friend_kind"] = _choice(raw, "friend_kind", FRIEND_KINDS)
    if values["friend_kind"] == "percent":
        values["friend_value"] = _decimal(raw, "friend_value")
        if not 0 < values["friend_value"] <= 100:
            raise ProgramError("friend_value", N_("a percentage more than 0, at most 100"))
    else:
        values["friend_value"] = _amount(raw, "friend_value", currency)
        if values["friend_value"] <= 0:
            raise ProgramError("friend_value", N_("more than zero"))
    values["reward_type"] = _choice(raw, "reward_type", REWARD_TYPES)
    values["hold_days"] = _int(raw, "hold_days", 0, 365)
    values["code_days"] = _int(raw, "code_days", 1, 3650)
    values["max_referrals"] = _int(raw, "max_referrals", 1, 1_000_000, required=False)
    values["channel"] = _choice(raw, "channel", CHANNELS)
    check_guard(rule_of(values))
    return values


# Which field a part of the rule is typed in (the guard names it).
PART_FIELDS = {"floor": "reward_floor", "percent": "reward_percent", "cap": "reward_cap"}


def check_guard(rule: rewards.Rule) -> None:
    """ProgramError naming the part of the rule and the purchase value where the reward falls below the share."""
    trip = rewards.guard(rule)
    if trip is None:
        return
    field = "bands" if trip.part.startswith("band") else PART_FIELDS[trip.part]
    raise ProgramError(field, N_("insult guard: at a purchase of %(value)s the reward is %(reward)s, "
                                 "%(share)s of it, below %(min)s"),
                       value=Money(trip.value, rule.currency), reward=Money(trip.reward, rule.currency),
                       share=Percent(trip.share), min=Percent(rule.min_share))


def rule_of(values) -> rewards.Rule:
    """The reward rule of checked values (a dict from `clean`) or of a saved program."""
    get = values.get if isinstance(values, dict) else lambda name: getattr(values, name)
    bands = tuple(rewards.Band(Decimal(str(b["from"])), Decimal(str(b["reward"]))) for b in (get("bands") or []))
    return rewards.Rule(currency=get("currency"), min_purchase=Decimal(get("min_purchase")),
                        max_purchase=Decimal(get("max_purchase")), step=Decimal(get("rounding_step")),
                        min_share=Decimal(get("min_share")), kind=get("reward_kind"),
                        percent=None if get("reward_percent") is None else Decimal(get("reward_percent")),
                        floor=None if get("reward_floor") is None else Decimal(get("reward_floor")),
                        cap=None if get("reward_cap") is None else Decimal(get("reward_cap")), bands=bands)


def _stored(values: dict) -> dict:
    """Checked values as the columns hold them."""
    stored = {k: v for k, v in values.items() if k not in ("starts_on", "ends_on")}
    stored["bands"] = [{"from": str(b["from"]), "reward": str(b["reward"])} for b in values["bands"]]
    stored["starts_at"] = dt.datetime.combine(values["starts_on"], dt.time(), UTC)
    stored["ends_at"] = (dt.datetime.combine(values["ends_on"] + dt.timedelta(days=1), dt.time(), UTC)
                         if values["ends_on"] else None)
    return stored


def form_values(program: ReferralProgram) -> dict:
    """A saved program as the form and the API show it (strings for amounts, dates for the active days)."""
    def text(amount):
        return "" if amount is None else f"{Decimal(amount).normalize():f}"

    return {
        "name": program.name, "starts_on": program.starts_at.date(),
        "ends_on": (program.ends_at - dt.timedelta(days=1)).date() if program.ends_at else None,
        "currency": program.currency, "min_purchase": text(program.min_purchase),
        "max_purchase": text(program.max_purchase), "categories": list(program.categories or []),
        "min_nps": program.min_nps, "min_days": program.min_days, "return_window_days": program.return_window_days,
        "max_offers": program.max_offers, "reward_kind": program.reward_kind,
        "reward_percent": text(program.reward_percent), "reward_floor": text(program.reward_floor),
        "reward_cap": text(program.reward_cap),
        "bands": [{"from": text(Decimal(b["from"])), "reward": text(Decimal(b["reward"]))} for b in program.bands or []],
        "rounding_step": text(program.rounding_step), "min_share": text(program.min_share),
        "friend_kind": program.friend_kind, "friend_value": text(program.friend_value),
        "reward_type": program.reward_type, "hold_days": program.hold_days, "code_days": program.code_days,
        "max_referrals": program.max_referrals, "channel": program.channel,
    }


def get_program(session: Session, program_id: int, *, for_update: bool = False) -> ReferralProgram:
    query = select(ReferralProgram).where(ReferralProgram.id == program_id)
    program = session.scalar(query.with_for_update() if for_update else query)
    if program is None:
        raise ProgramNotFound("program", N_("no such program"))
    return program


def create_program(session: Session, raw: dict, *, actor: str, now: dt.datetime) -> ReferralProgram:
    values = clean(raw)
    program = ReferralProgram(**_stored(values), created_at=now, updated_at=now)
    session.add(program)
    session.flush()
    record(session, actor=actor, action="referral_program.created", entity_type="referral_program",
           entity_id=program.id, now=now, changes={"name": program.name})
    return program


def update_program(session: Session, program: ReferralProgram, raw: dict, *, actor: str,
                   now: dt.datetime) -> ReferralProgram:
    values = _stored(clean(raw))
    changed = sorted(k for k, v in values.items() if _comparable(getattr(program, k)) != _comparable(v))
    for name, value in values.items():
        setattr(program, name, value)
    program.updated_at = now
    record(session, actor=actor, action="referral_program.edited", entity_type="referral_program",
           entity_id=program.id, now=now, changes={"fields": changed})
    return program


def _comparable(value):
    if isinstance(value, Decimal):
        return value.normalize()
    return value


def delete_program(session: Session, program: ReferralProgram, *, actor: str, now: dt.datetime) -> None:
    """A program nobody was offered yet may go; one with offers ends instead (its codes must stay readable)."""
    used = session.scalar(select(func.count()).select_from(ReferralOffer).where(ReferralOffer.program_id == program.id))
    used += session.scalar(select(func.count()).select_from(Referral).where(Referral.program_id == program.id))
    if used:
        raise ProgramInUse("program", N_("it has offers: set its end date instead"))
    record(session, actor=actor, action="referral_program.deleted", entity_type="referral_program",
           entity_id=program.id, now=now, changes={"name": program.name})
    session.delete(program)


def active_programs(session: Session, now: dt.datetime) -> list[ReferralProgram]:
    """Programs running at `now`, oldest first (the first that fits a sale makes its offer)."""
    return list(session.scalars(select(ReferralProgram).where(
        ReferralProgram.starts_at <= now,
        (ReferralProgram.ends_at.is_(None)) | (ReferralProgram.ends_at > now)).order_by(ReferralProgram.id)))
