"""Referral figures for marketing: offers made, conversions, conversion rate, reward cost, attributed revenue and cost
as a share of it, by program and month; the payout CSV of earned rewards.

Each figure is counted by its own month: offers by when they were made, conversions and revenue by when the
friend bought, cost by when the ledger row was written (a reversal lowers the cost of its own month). Revenue is
that of referrals still standing (pending or earned); a void or reversed one brought nothing.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from retention.postal.batches import manifest_cell
from retention.referrals.models import (
    EARNED, MADE, PENDING, REJECTED, LedgerEntry, Referral, ReferralOffer, ReferralProgram,
)

STANDING = (PENDING, EARNED)


def _month(session: Session, column):
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM")
    return func.strftime("%Y-%m", column)


@dataclass
class Month:
    month: str
    offers: int = 0
    conversions: int = 0
    cost: Decimal = Decimal(0)
    revenue: Decimal = Decimal(0)

    @property
    def rate(self) -> Decimal | None:
        return (Decimal(self.conversions) / self.offers * 100).quantize(Decimal("0.1")) if self.offers else None

    @property
    def cost_share(self) -> Decimal | None:
        return (self.cost / self.revenue * 100).quantize(Decimal("0.1")) if self.revenue else None


@dataclass
class ProgramFigures:
    program: ReferralProgram
    months: list[Month] = field(default_factory=list)

    @property
    def total(self) -> Month:
        total = Month("")
        for m in self.months:
            total.offers += m.offers
            total.conversions += m.conversions
            total.cost += m.cost
            total.revenue += m.revenue
        return total

    @property
    def peak(self) -> int:
        return max([1] + [max(m.offers, m.conversions) for m in self.months])


def months_between(start: dt.datetime, end: dt.datetime) -> list[str]:
    months, year, month = [], start.year, start.month
    while (year, month) <= (end.year, end.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def figures(session: Session, now: dt.datetime, months: int = 12) -> list[ProgramFigures]:
    """Every program's figures for the last `months` months (this one included), newest program first."""
    first = dt.datetime(now.year, now.month, 1, tzinfo=dt.timezone.utc)
    for _ in range(months - 1):
        first = (first - dt.timedelta(days=1)).replace(day=1)
    labels = months_between(first, now)
    table: dict[int, dict[str, Month]] = {}

    def cell(program_id, month) -> Month | None:
        if program_id is None or month not in labels:
            return None
        return table.setdefault(program_id, {m: Month(m) for m in labels})[month]

    month = _month(session, ReferralOffer.created_at)
    for program_id, m, n in session.execute(select(ReferralOffer.program_id, month, func.count())
                                            .where(ReferralOffer.status == MADE, ReferralOffer.created_at >= first)
                                            .group_by(ReferralOffer.program_id, month)):
        if (c := cell(program_id, m)) is not None:
            c.offers = n
    month = _month(session, Referral.created_at)
    for program_id, m, status, n, revenue in session.execute(
            select(Referral.program_id, month, Referral.status, func.count(), func.sum(Referral.sale_amount))
            .where(Referral.status != REJECTED, Referral.created_at >= first)
            .group_by(Referral.program_id, month, Referral.status)):
        if (c := cell(program_id, m)) is not None:
            c.conversions += n
            if status in STANDING:
                c.revenue += Decimal(revenue or 0)
    month = _month(session, LedgerEntry.at)
    for program_id, m, amount in session.execute(select(LedgerEntry.program_id, month, func.sum(LedgerEntry.amount))
                                                 .where(LedgerEntry.at >= first)
                                                 .group_by(LedgerEntry.program_id, month)):
        if (c := cell(program_id, m)) is not None:
            c.cost += Decimal(amount or 0)
    result = []
    for program in session.scalars(select(ReferralProgram).order_by(ReferralProgram.id.desc())):
        by_month = table.get(program.id) or {m: Month(m) for m in labels}
        result.append(ProgramFigures(program, [by_month[m] for m in labels]))
    return result


PAYOUT_COLUMNS = ("ledger_id", "earned_at", "customer_id", "name", "email", "program", "reward_type", "amount",
                  "currency", "referral_id", "code")


def payout_csv(session: Session) -> bytes:
    """Rewards earned and not reversed, oldest first: UTF-8 with a BOM (Arabic and Persian names read right in
    spreadsheets), every text cell safe from formula injection."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(PAYOUT_COLUMNS)
    rows = session.scalars(select(LedgerEntry).join(Referral, LedgerEntry.referral_id == Referral.id)
                           .where(LedgerEntry.kind == "reward", Referral.status == EARNED)
                           .options(joinedload(LedgerEntry.customer), joinedload(LedgerEntry.program),
                                    joinedload(LedgerEntry.referral))
                           .order_by(LedgerEntry.at, LedgerEntry.id))
    for row in rows:
        writer.writerow([row.id, row.at.isoformat(), manifest_cell(row.customer.external_id),
                         manifest_cell(row.customer.name), manifest_cell(row.customer.email or ""),
                         manifest_cell(row.program.name), row.reward_type, str(row.amount), row.currency,
                         row.referral_id, row.referral.code])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
