"""The retention engine: a Flask application keeping close to every new customer for ninety days."""
from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request

from retention import config as settings
from retention.extensions import csrf, db, login_manager, migrate


def create_app(test_config: dict | None = None) -> Flask:
    """Build an application from the environment (or a test's own mapping)."""
    cfg = settings.from_environment(test_config)
    app = Flask(__name__, template_folder="../templates", static_folder="../static",
                instance_path=cfg["INSTANCE_PATH"])
    app.config.update(cfg)
    from retention import request_input

    request_input.install(app)  # before any route: ids bounded, control characters refused
    from retention.wiring import register_all

    register_all()  # features fill the registries of the layers below them (retention/layers.py)
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    register_template_helpers(app)
    register_security(app)
    from retention.queue import init_queue
    from retention.ticker import init_ticker

    init_queue(app)
    init_ticker(app)
    logging.basicConfig(level=logging.INFO if not app.testing else logging.WARNING)
    if app.config["GC_TUNING"]:
        from retention import gctune

        # At the process's first request (a worker that serves none never pays for it): the start-up heap
        # frozen, fewer collections (the p95 of the busy staff pages).
        app.before_request(gctune.tune)
    return app


def register_extensions(app: Flask) -> None:
    """Bind each extension to the app."""
    db.init_app(app)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        _tune_sqlite(app)
    else:
        from retention import dbpool

        with app.app_context():
            dbpool.install(db.engine)  # a ping only after idle, not a round trip per request
    from retention import models  # noqa: F401  (every table, for create_all and Alembic)
    from retention.types import render_migration_type

    migrate.init_app(app, db, directory=str(_root() / "migrations"), render_as_batch=True,
                     render_item=render_migration_type, compare_type=True)
    login_manager.init_app(app)
    login_manager.login_view = "staff.login"
    from flask_babel import gettext

    # Said on the sign-in page when a page needs it, in the visitor's language (retention/staff/views.py).
    login_manager.login_message = "Sign in to see this page."
    login_manager.localize_callback = gettext
    csrf.init_app(app)
    from retention.staff.service import password_hasher

    app.extensions["password_hasher"] = password_hasher(app.config["PASSWORD_HASH_TIME_COST"],
                                                        app.config["PASSWORD_HASH_MEMORY_KIB"])


def _root():
    from pathlib import Path

    return Path(__file__).resolve().parent.parent


def _tune_sqlite(app: Flask) -> None:
    """WAL and a busy timeout so the worker thread and web requests share the file calmly."""
    from sqlalchemy import event

    with app.app_context():
        engine = db.engine

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()


def register_blueprints(app: Flask) -> None:
    """Pages, hooks and the REST API, one blueprint per feature."""
    from flask_smorest import Api

    from retention.calls import api as calls_api
    from retention.calls import views as calls_views
    from retention.customers import api as customers_api
    from retention.journeys import api as journeys_api
    from retention.journeys import views as journeys_views
    from retention.postal import api as letters_api
    from retention.surveys import api as surveys_api
    from retention.postal import views as letters_views
    from retention.customers import views as customers_views
    from retention.hooks import admin as hooks_admin
    from retention.hooks import views as hooks_views
    from retention.staff import views as staff_views

    app.register_blueprint(staff_views.blueprint)
    from retention.staff import admin as staff_admin

    app.register_blueprint(staff_admin.blueprint)
    app.register_blueprint(customers_views.blueprint)
    app.register_blueprint(hooks_admin.blueprint)
    app.register_blueprint(calls_views.blueprint)
    app.register_blueprint(journeys_views.blueprint)
    app.register_blueprint(letters_views.blueprint)
    from retention.surveys import public as surveys_public
    from retention.surveys import views as surveys_views

    app.register_blueprint(surveys_public.blueprint)  # the customer's survey page (no sign-in; its token is the key)
    app.register_blueprint(surveys_views.blueprint)
    from retention.mail import views as mail_views

    app.register_blueprint(mail_views.public)  # the customer's unsubscribe page (no sign-in)
    app.register_blueprint(mail_views.admin)
    app.register_blueprint(mail_views.staff_pages)
    from retention.complaints import api as complaints_api
    from retention.complaints import resolution_api
    from retention.complaints import views as complaints_views

    app.register_blueprint(complaints_views.blueprint)
    app.register_blueprint(complaints_views.categories_blueprint)
    from retention.complaints import resolution_views

    app.register_blueprint(resolution_views.blueprint)
    from retention.complaints import figures_api as complaint_figures_api
    from retention.complaints import reports_views as complaint_reports

    app.register_blueprint(complaint_reports.blueprint)  # the queue, take-over, notices, trends
    from retention.referrals import api as referrals_api
    from retention.referrals import views as referrals_views

    app.register_blueprint(referrals_views.blueprint)  # programs with the reward preview, the report, payout CSV
    app.register_blueprint(referrals_views.public)  # /r/<CODE>: a friend's landing page (no sign-in; the code is the key)
    from flask_babel import lazy_gettext as _l

    app.extensions["retention_nav"] = [
        (_l("Work ahead"), "journeys.work", ("onboarding", "marketing")),
        (_l("Journeys"), "journeys.index", ("marketing",)),
        (_l("Letters"), "letters.templates", ("marketing",)),
        (_l("NPS"), "surveys.reports", ("marketing",)),
        (_l("Referrals"), "referrals.index", ("marketing",)),
        (_l("Print batches"), "letters.mail_room", ("print",)),
        (_l("Complaints"), "complaints.index", ("onboarding",)),
        (_l("Complaint queue"), "complaint_reports.queue", ("onboarding",)),
        (_l("Complaint trends"), "complaint_reports.trends_page", ("onboarding", "marketing")),
        (_l("Complaint categories"), "complaint_categories.categories_index", ("admin",)),
        (_l("Concessions to approve"), "complaint_resolution.pending", ("admin",)),
        (_l("Staff"), "staff_admin.staff_index", ("admin",)),
        (_l("API tokens"), "staff_admin.tokens_index", ("admin",)),
        (_l("Outbox"), "outbox.index", ("admin",)),
    ]
    app.register_blueprint(hooks_views.blueprint)
    csrf.exempt(hooks_views.blueprint)
    from retention.hooks.lane import HookLane

    app.wsgi_app = HookLane(app, app.wsgi_app)  # POST /hooks/events without Flask's page machinery
    # flask-smorest's Api keeps per-app state (its spec), so each app gets its own.
    api = Api(app, spec_kwargs={"components": {"securitySchemes": {
        "bearerAuth": {"type": "http", "scheme": "bearer"}}}, "security": [{"bearerAuth": []}]})
    from retention.request_input import document_converters, document_refusals

    document_converters(api)
    document_refusals(api)  # 400, 401, 403 (and 404 with a path id) on every operation
    for blp in (customers_api.blueprint, journeys_api.customer_touchpoints, journeys_api.touchpoints,
                calls_api.blueprint, journeys_api.journeys, journeys_api.enrollments, letters_api.templates, letters_api.letters, letters_api.batches,
                complaints_api.cases, complaints_api.customer_types, complaints_api.category_api,
                resolution_api.case_api, resolution_api.concession_api, complaint_figures_api.blueprint):
        api.register_blueprint(blp)
        csrf.exempt(blp)
    for blp in (surveys_api.surveys, surveys_api.nps):  # NPS surveys, responses and figures (retention/surveys)
        api.register_blueprint(blp)
        csrf.exempt(blp)
    for blp in referrals_api.BLUEPRINTS:  # referral programs (and their preview), offers, referrals, the ledger
        api.register_blueprint(blp)
        csrf.exempt(blp)
    from retention.staff import api as staff_api

    api.register_blueprint(staff_api.blueprint)  # staff absences (retention/staff/absences.py)
    csrf.exempt(staff_api.blueprint)


def register_errorhandlers(app: Flask) -> None:
    """JSON errors for the API and hooks, friendly pages elsewhere; never a bare 500 page."""

    def wants_json() -> bool:
        return request.path.startswith(("/api/", "/hooks/"))

    def handle(error):
        code = getattr(error, "code", 500) or 500
        # Keep the error's own headers (Allow on 405, Retry-After, WWW-Authenticate).
        headers = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"] \
            if hasattr(error, "get_headers") else []
        if wants_json():
            return jsonify(code=code, status=getattr(error, "name", "Error"),
                           message=getattr(error, "description", "")), code, headers
        from retention.staff.views import error_detail

        return render_template("error.html", code=code, error=error, detail=error_detail(error)), code, headers

    for code in (400, 403, 404, 405, 409, 413, 429):
        app.register_error_handler(code, handle)

    @app.errorhandler(500)
    def internal(error):
        if wants_json():
            return jsonify(code=500, status="Internal Server Error", message="unexpected error"), 500
        return render_template("error.html", code=500, error=error, detail=""), 500


def register_commands(app: Flask) -> None:
    """Command-line commands (`flask --app wsgi ...`)."""
    from retention.commands import register

    register(app)


def register_template_helpers(app: Flask) -> None:
    """Translations, text direction and the date/number/money filters of every page (retention/i18n.py)."""
    from retention import i18n

    i18n.init_app(app)

    @login_manager.user_loader
    def load_user(user_id: str):
        # Only while the server-side session is live: sign-out and deactivation end copies of the cookie too.
        from retention.staff.sessions import load_user_for_request

        return load_user_for_request(user_id)


def register_security(app: Flask) -> None:
    """The client address behind trusted proxies, and the security headers of every answer."""
    from retention.security import install

    install(app)
