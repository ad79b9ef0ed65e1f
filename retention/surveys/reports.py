"""NPS figures for marketing: NPS with its margin of error, by month, by sale cohort, product, owner and language;
the distribution of the eleven scores; response rate by channel; comments by class; the CSV of responses.

NPS = %promoters - %detractors over the answers counted (one per survey: the last before it closed; plus answers
other systems sent as `nps.response`). Its 95% margin of error uses the standard NPS variance: with p and d the
shares of promoters and detractors, var = p + d - (p - d)^2 and MoE = 1.96 * sqrt(var / n) (in points x100), so
a difference smaller than the margin is noise. An answer's cohort is the month of the sale its survey was about
(answers without a survey: the customer's latest sale before the answer is not guessed: "unknown").
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import math
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from retention.customers.models import Customer, Sale
from retention.staff.models import StaffUser
from retention.surveys.models import SKIPPED, NpsAnswer, Survey, nps_category

Z95 = 1.96
CLASSES = ("promoter", "passive", "detractor")
PERIODS = {"3": 3, "6": 6, "12": 12, "24": 24, "all": None}


@dataclass
class Figures:
    """Counts of one group of answers and what follows from them."""

    n: int = 0
    promoters: int = 0
    passives: int = 0
    detractors: int = 0
    scores: list = field(default_factory=lambda: [0] * 11)

    def add(self, score: int) -> None:
        self.n += 1
        self.scores[score] += 1
        category = nps_category(score)
        if category == "promoter":
            self.promoters += 1
        elif category == "passive":
            self.passives += 1
        else:
            self.detractors += 1

    @property
    def nps(self) -> float | None:
        return nps(self.promoters, self.passives, self.detractors)

    @property
    def margin(self) -> float | None:
        return margin_of_error(self.promoters, self.passives, self.detractors)

    def as_dict(self) -> dict:
        return {"responses": self.n, "promoters": self.promoters, "passives": self.passives,
                "detractors": self.detractors, "nps": _round(self.nps), "margin_of_error": _round(self.margin)}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def nps(promoters: int, passives: int, detractors: int) -> float | None:
    """%promoters - %detractors (-100..100); None without answers."""
    n = promoters + passives + detractors
    return None if n == 0 else 100.0 * (promoters - detractors) / n


def margin_of_error(promoters: int, passives: int, detractors: int, z: float = Z95) -> float | None:
    """The 95% margin of error of the NPS, in points (None without answers)."""
    n = promoters + passives + detractors
    if n == 0:
        return None
    p, d = promoters / n, detractors / n
    variance = p + d - (p - d) ** 2
    return 100.0 * z * math.sqrt(max(variance, 0.0) / n)


@dataclass
class Row:
    """One answer as the reports read it."""

    answer_id: int
    survey_id: int | None
    answered_at: dt.datetime
    score: int
    comment: str | None
    channel: str
    language: str
    product: str | None
    cohort: str | None
    owner: str | None
    customer_id: int
    customer_ref: str


def since_for(period: str, now: dt.datetime) -> dt.datetime | None:
    months = PERIODS.get(period, 12)
    if months is None:
        return None
    year, month = now.year, now.month - months + 1
    while month <= 0:
        month += 12
        year -= 1
    return dt.datetime(year, month, 1, tzinfo=dt.timezone.utc)


def rows(session: Session, since: dt.datetime | None = None, until: dt.datetime | None = None) -> list[Row]:
    query = (select(NpsAnswer.id, NpsAnswer.survey_id, NpsAnswer.answered_at, NpsAnswer.score, NpsAnswer.comment,
                    NpsAnswer.source, Survey.channel, Customer.id, Customer.external_id, Customer.locale,
                    Sale.product, Sale.sold_at, StaffUser.name, StaffUser.email)
             .join(Customer, NpsAnswer.customer_id == Customer.id)
             .outerjoin(Survey, NpsAnswer.survey_id == Survey.id)
             .outerjoin(Sale, Survey.sale_id == Sale.id)
             .outerjoin(StaffUser, Customer.owner_id == StaffUser.id)
             .order_by(NpsAnswer.answered_at, NpsAnswer.id))
    if since is not None:
        query = query.where(NpsAnswer.answered_at >= since)
    if until is not None:
        query = query.where(NpsAnswer.answered_at < until)
    out = []
    for (aid, sid, at, score, comment, source, channel, cid, ref, locale, product, sold_at, owner_name,
         owner_email) in session.execute(query):
        out.append(Row(aid, sid, at, score, comment, channel or ("event" if source == "event" else source or "event"),
                       (locale or "en").replace("_", "-").split("-")[0].lower(), product,
                       f"{sold_at:%Y-%m}" if sold_at else None, owner_name or owner_email, cid, ref))
    return out


def _group(data: list[Row], key) -> list[tuple[str | None, Figures]]:
    groups: dict = {}
    for row in data:
        groups.setdefault(key(row), Figures()).add(row.score)
    return sorted(groups.items(), key=lambda item: (item[0] is None, item[0] or ""))


def response_rates(session: Session, since: dt.datetime | None = None) -> list[dict]:
    """Per channel: surveys sent, answered, the share answered (%). A survey skipped after it seemed sent (its email
    failed for good, its letter cancelled by an opt-out) was never sent: not counted."""
    query = (select(Survey.channel, func.count(Survey.id), func.count(NpsAnswer.id))
             .outerjoin(NpsAnswer, NpsAnswer.survey_id == Survey.id)
             .where(Survey.sent_at.is_not(None), Survey.status != SKIPPED)
             .group_by(Survey.channel).order_by(Survey.channel))
    if since is not None:
        query = query.where(Survey.sent_at >= since)
    return [{"channel": channel, "sent": sent, "answered": answered,
             "rate": round(100.0 * answered / sent, 1) if sent else None}
            for channel, sent, answered in session.execute(query)]


def figures(session: Session, since: dt.datetime | None = None) -> dict:
    """Everything the report page and GET /api/nps/figures show."""
    data = rows(session, since)
    total = Figures()
    for row in data:
        total.add(row.score)
    return {
        "total": total,
        "months": _group(data, lambda r: f"{r.answered_at:%Y-%m}"),
        "cohorts": _group(data, lambda r: r.cohort),
        "products": _group(data, lambda r: r.product),
        "owners": _group(data, lambda r: r.owner),
        "languages": _group(data, lambda r: r.language),
        "channels": _group(data, lambda r: r.channel),
        "response_rates": response_rates(session, since),
    }


def comments(session: Session, *, category: str | None, since: dt.datetime | None, page: int,
             per_page: int = 20) -> tuple[list[Row], int]:
    """Answers with a comment, newest first, of one class (or all); (the page, how many in all)."""
    data = [r for r in rows(session, since) if r.comment and (category is None or nps_category(r.score) == category)]
    data.reverse()
    start = (page - 1) * per_page
    return data[start:start + per_page], len(data)


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value) -> str:
    """A CSV cell a spreadsheet will not run: text starting like a formula gets a leading apostrophe (OWASP)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


CSV_COLUMNS = ("survey", "answered_at", "score", "class", "channel", "language", "product", "sale_month", "owner",
               "customer", "comment")


def responses_csv(session: Session, since: dt.datetime | None, *, with_private: bool) -> str:
    """UTF-8 with a BOM (spreadsheets read Arabic and Persian right). Comments are there to be read, without who
    wrote them: the customer id only for readers of private text (retention/staff/policy.py)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for r in rows(session, since):
        writer.writerow([_cell(v) for v in (
            r.survey_id, r.answered_at.astimezone(dt.timezone.utc).isoformat(timespec="seconds"), r.score,
            nps_category(r.score), r.channel, r.language, r.product, r.cohort, r.owner,
            r.customer_ref if with_private else "", r.comment)])
    return out.getvalue()
