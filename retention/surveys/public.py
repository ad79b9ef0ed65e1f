"""The customer's survey page, /s/<token>: no sign-in, in the customer's language, made for a phone first.

- GET /s/<token>?score=N (the email's one-click links, the letter's QR code without a score) records the score and
  shows the page with it chosen, so one click is enough. A GET that changes data is accepted for one click; link
  scanners that open every link are answered by (1) the last answer before closing standing, so the customer's own
  click or form wins, and (2) a one-click score being followed up (case, call) only once it has settled
  (SURVEY_SETTLE_MINUTES), while the form's answer is followed up at once.
- POST /s/<token> (score, optional comment) changes the answer; protected by a per-survey form token (an HMAC of
  the survey's token hash with the app's secret) instead of the staff CSRF cookie.
- A wrong token, a closed or skipped survey: the same "closed" page, status 404, in the browser's language.
- Rate limited per client address and per link (the sign-in throttle's counters, LOGIN_WINDOW_SECONDS window).
- A score outside 0..10 or a comment too long: 422 with the message next to the field, nothing stored.
"""
from __future__ import annotations

import hashlib
import hmac

from flask import Blueprint, current_app, render_template, request
from flask_babel import force_locale, gettext as _, ngettext
from sqlalchemy.exc import IntegrityError

from retention import clock
from retention.extensions import csrf, db
from retention.staff.service import reserve_attempt
from retention.surveys import loop, service, sending, tokens
from retention.surveys.models import Survey

blueprint = Blueprint("surveys_public", __name__)


def _form_token(survey: Survey) -> str:
    key = current_app.config["SECRET_KEY"]
    key = key.encode() if isinstance(key, str) else key
    return hmac.new(key, b"survey-form:" + (survey.token_hash or "").encode(), hashlib.sha256).hexdigest()


def _closed():
    """The one answer for a wrong token and a closed survey alike (the reader's browser language)."""
    return render_template("surveys/closed.html"), 404


def _throttled(token: str) -> int:
    cfg = current_app.config
    address = (request.remote_addr or "unknown")[:100]
    link = tokens.token_hash(token if isinstance(token, str) else "")[:40]
    wait = reserve_attempt(db.session, [(f"survey-addr:{address}", cfg["SURVEY_MAX_PER_ADDRESS"]),
                                        (f"survey-link:{link}", cfg["SURVEY_MAX_PER_LINK"])],
                           clock.now(), cfg["LOGIN_WINDOW_SECONDS"])
    db.session.commit()
    return wait


def _too_many(wait: int):
    response = current_app.make_response((render_template(
        "surveys/closed.html", busy=ngettext("Too many tries. Try again in %(num)d second.",
                                             "Too many tries. Try again in %(num)d seconds.", wait)), 429))
    response.headers["Retry-After"] = str(wait)
    return response


def _page(survey: Survey, *, score=None, comment="", errors=None, thanks=None, status=200):
    language = sending.language_of(survey.customer)
    with force_locale(language):
        html = render_template("surveys/answer.html", survey=survey, score=score, comment=comment or "",
                               errors=errors or {}, thanks=thanks, form_token=_form_token(survey),
                               company=current_app.config["COMPANY_NAME"], max_comment=service.MAX_COMMENT,
                               language=language)
    return html, status


@blueprint.route("/s/<survey_token>", methods=["GET"])
def answer(survey_token: str):
    token = survey_token
    wait = _throttled(token)
    if wait:
        return _too_many(wait)
    now = clock.now()
    raw = request.args.get("score")
    survey = service.open_survey(db.session, token, now, for_update=raw is not None)
    if survey is None:
        return _closed()
    if raw is None:
        current = service.answer_of(db.session, survey)
        return _page(survey, score=current.score if current else None, comment=current.comment if current else "",
                     thanks="saved" if current else None)
    try:
        saved = _saved(token, now, lambda s: service.answer_survey(db.session, s, raw, None, now, keep_comment=True,
                                                                   settle=_settle()))
    except service.SurveyError as exc:
        db.session.rollback()
        with force_locale(sending.language_of(survey.customer)):
            message = exc.translated()
        return _page(survey, errors={exc.field: message}, status=422)
    if saved is None:
        return _closed()
    return _page(saved.survey, score=saved.score, comment=saved.comment, thanks="clicked")


def _saved(token: str, now, save):
    """Run `save(survey)` and commit; a first answer stored by a parallel click meanwhile (the unique answer per
    survey) is taken as it is and changed once more. None when the survey closed in between."""
    survey = service.open_survey(db.session, token, now, for_update=True)
    for attempt in range(2):
        if survey is None:
            return None
        answer = save(survey)
        try:
            db.session.commit()
            return answer
        except IntegrityError:
            db.session.rollback()
            if attempt:
                raise
            survey = service.open_survey(db.session, token, now, for_update=True)
    return None


def _settle():
    import datetime as dt

    return dt.timedelta(minutes=current_app.config["SURVEY_SETTLE_MINUTES"])


@blueprint.route("/s/<survey_token>", methods=["POST"])
def submit(survey_token: str):
    token = survey_token
    wait = _throttled(token)
    if wait:
        return _too_many(wait)
    now = clock.now()
    survey = service.open_survey(db.session, token, now, for_update=True)
    if survey is None:
        return _closed()
    score, comment = request.form.get("score"), request.form.get("comment") or ""
    if not hmac.compare_digest(request.form.get("form_token") or "", _form_token(survey)):
        db.session.rollback()
        with force_locale(sending.language_of(survey.customer)):
            message = _("This form has expired. Please choose your answer again.")
        return _page(survey, score=score, comment=comment, errors={"form": message}, status=400)
    def save(current: Survey):
        answer = service.answer_survey(db.session, current, score, comment, now, settle=None)
        loop.follow_up(db.session, answer, now)
        return answer

    try:
        saved = _saved(token, now, save)
    except service.SurveyError as exc:
        db.session.rollback()
        with force_locale(sending.language_of(survey.customer)):
            message = exc.translated()
        return _page(survey, score=score, comment=comment, errors={exc.field: message}, status=422)
    if saved is None:
        return _closed()
    return _page(saved.survey, score=saved.score, comment=saved.comment, thanks="sent")


csrf.exempt(blueprint)
