"""NPS figures: the known set (50/30/20 gives 30), its margin of error, groups, response rate, the report page in
three languages, comments by class, the CSV (BOM, no formulas) and the API."""
from __future__ import annotations

import csv
import datetime as dt
import io
import math

import pytest

from retention.extensions import db
from retention.surveys import reports
from retention.surveys.models import NpsAnswer, Survey
from tests.factories import staff, token_for
from tests.surveys.conftest import T0


def test_nps_of_a_known_set_and_its_margin_of_error():
    assert reports.nps(50, 30, 20) == 30
    # var = 0.5 + 0.2 - 0.3^2 = 0.61; MoE = 1.96 * sqrt(0.61 / 100) = 15.3 points
    assert reports.margin_of_error(50, 30, 20) == pytest.approx(100 * 1.96 * math.sqrt(0.61 / 100))
    assert round(reports.margin_of_error(50, 30, 20), 1) == 15.3
    assert reports.nps(0, 0, 0) is None and reports.margin_of_error(0, 0, 0) is None
    assert reports.nps(0, 0, 7) == -100 and reports.margin_of_error(0, 0, 7) == 0


def _answers(world, scores_by_month: dict, comment=None):
    """Answers on surveys sent by email, one customer each."""
    n = 0
    for month, scores in scores_by_month.items():
        for score in scores:
            n += 1
            cust = world.customer(f"K{n}", locale=("en", "ar", "fa")[n % 3])
            at = dt.datetime(2026, month, 10, tzinfo=dt.timezone.utc)
            survey = Survey(customer_id=cust.id, status="answered", created_at=at, sent_at=at, channel="email",
                            sale_id=cust.sales[0].id, closes_at=at + dt.timedelta(days=14))
            db.session.add(survey)
            db.session.flush()
            db.session.add(NpsAnswer(customer_id=cust.id, survey_id=survey.id, score=score, answered_at=at,
                                     source="email", comment=comment(score) if comment else None,
                                     followed_up_at=at))
    db.session.commit()


def test_figures_by_month_and_groups_for_the_known_set(world):
    _answers(world, {1: [10] * 25 + [8] * 15 + [3] * 10, 2: [9] * 25 + [7] * 15 + [0] * 10})
    f = reports.figures(db.session)
    assert f["total"].n == 100 and f["total"].nps == 30
    assert [(m, g.nps) for m, g in f["months"]] == [("2026-01", 30), ("2026-02", 30)]
    assert f["total"].scores[10] == 25 and f["total"].scores[0] == 10 and sum(f["total"].scores) == 100
    assert [key for key, _ in f["cohorts"]] == ["2026-02"]  # the sale's month
    assert [key for key, _ in f["products"]] == ["Espresso machine Pro"]
    assert [key for key, _ in f["owners"]] == ["Omar"]
    assert sorted(key for key, _ in f["languages"]) == ["ar", "en", "fa"]
    assert f["response_rates"] == [{"channel": "email", "sent": 100, "answered": 100, "rate": 100.0}]


@pytest.mark.parametrize("language", ["en", "ar", "fa"])
def test_the_report_page_for_marketing(app, client, auth, clock, world, language):
    clock.set(T0 + dt.timedelta(days=1))
    _answers(world, {2: [10] * 5 + [8] * 3 + [2] * 2},
             comment=lambda s: {10: "Lovely", 8: "OK", 2: "=HYPERLINK(\"http://x\")"}[s])
    staff(app, "mia@example.com", "marketing", locale=language)
    auth.login("mia@example.com")
    page = client.get("/surveys/reports?period=all")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert 'data-nps="30.0"' in body and 'id="trend"' in body and 'data-score="10" data-count="5"' in body
    if language != "en":
        assert 'dir="rtl"' in body
    detractors = client.get("/surveys/reports?period=all&class=detractor").get_data(as_text=True)
    assert detractors.count('data-class="detractor"') == 2 and 'data-class="promoter"' not in detractors
    assert "K1" not in detractors  # marketing reads comments without who wrote them
    assert client.get("/surveys/reports?class=nobody").status_code == 400


def test_csv_of_responses_has_a_bom_and_no_formulas(app, client, auth, world):
    _answers(world, {2: [2, 9]}, comment=lambda s: "=cmd|' /C calc'!A0" if s == 2 else "Ça va, شكراً")
    staff(app, "mia@example.com", "marketing")
    auth.login("mia@example.com")
    response = client.get("/surveys/reports/responses.csv?period=all")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    raw = response.get_data()
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert [r["score"] for r in rows] == ["2", "9"]
    assert rows[0]["comment"].startswith("'=") and rows[1]["comment"] == "Ça va, شكراً"
    assert rows[0]["customer"] == ""  # marketing: no customer id


def test_api_figures_responses_and_surveys(app, client, world):
    _answers(world, {2: [10] * 50 + [7] * 30 + [1] * 20}, comment=lambda s: "c")
    marketing = {"Authorization": f"Bearer {token_for(app, staff(app, 'mia@example.com', 'marketing'))}"}
    admin = {"Authorization": f"Bearer {token_for(app, staff(app, 'ada@example.com', 'admin'))}"}
    figures = client.get("/api/v1/nps/figures?period=all", headers=marketing).get_json()
    assert figures["total"]["nps"] == 30 and figures["total"]["margin_of_error"] == 15.3
    assert figures["distribution"][10] == 50 and len(figures["distribution"]) == 11
    detractors = client.get("/api/v1/nps/responses?class=detractor&limit=5", headers=admin).get_json()
    assert len(detractors) == 5 and {r["class"] for r in detractors} == {"detractor"}
    assert detractors[0]["customer"].startswith("K")
    hidden = client.get("/api/v1/nps/responses?limit=1", headers=marketing).get_json()
    assert hidden[0]["customer"] is None
    surveys = client.get("/api/v1/surveys/?status=answered&limit=3", headers=marketing).get_json()
    assert len(surveys) == 3 and surveys[0]["score"] == 10 and surveys[0]["channel"] == "email"
    one = client.get(f"/api/v1/surveys/{surveys[0]['id']}", headers=marketing).get_json()
    assert one["id"] == surveys[0]["id"]
    assert client.get("/api/v1/surveys/999999", headers=marketing).status_code == 404
    assert client.get("/api/v1/nps/figures?period=7", headers=marketing).status_code == 422
