"""Marketing's NPS report (/surveys/reports): NPS with its margin of error, the monthly trend as a chart, the
eleven scores, by sale cohort, product, owner and language, response rate by channel, comments by class
(paginated), and the CSV of responses."""
from __future__ import annotations

from flask import Blueprint, Response, abort, render_template, request
from flask_login import current_user

from retention import clock, i18n
from retention.customers import names
from retention.extensions import db
from retention.request_input import page_arg
from retention.staff.access import roles_required
from retention.staff.policy import customer_access
from retention.surveys import labels, reports
from retention.surveys.models import nps_category

blueprint = Blueprint("surveys", __name__, url_prefix="/surveys")
READERS = ("marketing",)
PER_PAGE = 20


def _period() -> str:
    period = request.args.get("period") or "12"
    if period not in reports.PERIODS:
        abort(400, description="period: one of " + ", ".join(reports.PERIODS))
    return period


def _category() -> str | None:
    category = request.args.get("class") or None
    if category is not None and category not in reports.CLASSES:
        abort(400, description="class: one of " + ", ".join(reports.CLASSES))
    return category


def percent(value: float | None) -> str:
    """A share in the reader's language and digits ("64.5%", "٪۶۴٫۵")."""
    if value is None:
        return "–"
    from babel.numbers import format_percent

    from retention import formatting

    language = i18n.ui_language()
    digits = i18n.ui_digits()
    numbering = "latn" if language == "en" or digits == "latn" else digits
    return formatting.to_digits(format_percent(value / 100, format="#,##0.#%", locale=language,
                                               numbering_system=numbering), digits)


@blueprint.route("/reports", endpoint="reports")
@roles_required(*READERS)
def reports_page():
    period, category = _period(), _category()
    page = page_arg(request.args)
    now = clock.now()
    since = reports.since_for(period, now)
    figures = reports.figures(db.session, since)
    comments, total = reports.comments(db.session, category=category, since=since, page=page, per_page=PER_PAGE)
    access = customer_access(current_user)
    return render_template("surveys/reports.html", f=figures, period=period,
                           periods=list(reports.PERIODS), category=category, comments=comments, total=total,
                           page=page, pages=max((total + PER_PAGE - 1) // PER_PAGE, 1), labels=labels,
                           nps_category=nps_category, with_customer=access.private_text, percent=percent,
                           language_name=lambda tag: names.language_name(tag, i18n.ui_language()))



@blueprint.route("/reports/responses.csv")
@roles_required(*READERS)
def responses_csv():
    period = _period()
    since = reports.since_for(period, clock.now())
    body = reports.responses_csv(db.session, since, with_private=customer_access(current_user).private_text)
    return Response(body.encode("utf-8"), mimetype="text/csv", headers={
        "Content-Disposition": f"attachment; filename=nps-responses-{period}.csv"})
