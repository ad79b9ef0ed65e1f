"""Command-line commands: `flask --app wsgi users create`, `tokens create`, `seed`, `tick`, `serve`."""
from __future__ import annotations

import datetime as dt
import os
import sys

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select

from retention.extensions import db
from retention.types import utcnow

users = AppGroup("users", help="Staff accounts.")
tokens = AppGroup("tokens", help="API tokens.")


@users.command("create")
@click.argument("email")
@click.option("--role", required=True, help="onboarding, marketing, print or admin")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--name", default="")
@click.option("--locale", default="en", help="language of the staff pages: en, ar or fa")
def create_user(email, role, password, name, locale):
    """Create a staff user."""
    from retention.staff.service import StaffError
    from retention.staff.service import create_user as create

    try:
        user = create(db.session, current_app.extensions["password_hasher"], email=email, role=role,
                      password=password, name=name, actor="cli", now=utcnow(), locale=locale)
    except StaffError as exc:
        raise click.UsageError(str(exc)) from None
    db.session.commit()
    click.echo(f"created {user.email} ({user.role})", err=True)


@tokens.command("create")
@click.argument("email")
@click.option("--label", default="cli")
def create_token(email, label):
    """Issue an API token for a staff user; the token alone is printed on stdout."""
    from retention.staff.models import StaffUser
    from retention.staff.service import issue_token

    user = db.session.scalar(select(StaffUser).where(StaffUser.email == email.strip().lower()))
    if user is None:
        raise click.UsageError(f"email: no staff user {email}")
    token = issue_token(db.session, user, actor="cli", now=utcnow(), label=label)
    db.session.commit()
    click.echo(token)


def _parse_now(value: str | None) -> dt.datetime:
    if not value:
        return utcnow()
    try:
        now = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter("--now: not an ISO 8601 time") from None
    if now.tzinfo is None:
        raise click.BadParameter("--now: give an offset, e.g. 2026-01-05T09:00:00+00:00")
    return now.astimezone(dt.timezone.utc)


@click.command("tick")
@click.option("--now", "now_text", default=None, help="run as if the time were this ISO 8601 instant")
@with_appcontext
def tick_command(now_text):
    """Run one tick: apply pending events, then hand out due work."""
    from jobs.tick import run_tick

    summary = run_tick(_parse_now(now_text))
    click.echo(" ".join(f"{k}={v}" for k, v in summary.items()))


@click.command("seed")
@click.option("--customers", default=200)
@with_appcontext
def seed_command(customers):
    """Create the demo staff and customers (once)."""
    from retention.seed import seed

    created = seed(db.session, current_app, customers=customers, now=utcnow())
    click.echo("demo data created" if created else "demo data already present")


@click.command("serve")
@click.option("--host", default=lambda: os.environ.get("HOST", "127.0.0.1"))
@click.option("--port", default=lambda: int(os.environ.get("PORT", "5000")), type=int)
@with_appcontext
def serve_command(host, port):
    """Serve the app with the embedded worker and the tick timer (the one-machine default)."""
    from retention.ticker import start_ticker

    app = current_app._get_current_object()
    start_ticker(app)
    click.echo(f" * Retention engine on http://{host}:{port}/  (sign in: admin@example.com / demo-password)",
               err=True)
    from werkzeug.serving import run_simple

    run_simple(host, port, app, threaded=True, use_reloader=False)


@click.command("process-events")
@with_appcontext
def process_events_command():
    """Apply every pending event now (what the worker does)."""
    from jobs.events import process_events

    click.echo(f"processed {process_events()}")


letters_cli = AppGroup("letters", help="Letters and print batches.")


@letters_cli.command("print-batch")
@click.option("--template", "template_key", default=None, help="only this template key")
@click.option("--country", default=None, help="only this country (ISO alpha-2)")
@click.option("--language", default=None)
@click.option("--since", default=None, help="queued on or after this date (YYYY-MM-DD)")
@click.option("--until", default=None, help="queued before this date (YYYY-MM-DD)")
@click.option("--duplex", is_flag=True, help="blank back pages so every letter starts on a front side")
def print_batch_command(template_key, country, language, since, until, duplex):
    """Build a print batch of queued letters here and now, with a progress bar."""
    from pathlib import Path

    from retention.letters_admin import batches, service

    filters = {"template_key": template_key, "country": country, "language": language}
    for name, value in (("since", since), ("until", until)):
        if value:
            try:
                filters[name] = dt.datetime.fromisoformat(value).replace(tzinfo=dt.timezone.utc)
            except ValueError:
                raise click.BadParameter(f"--{name}: not a date (YYYY-MM-DD)") from None
    now = utcnow()
    try:
        batch = batches.create_batch(db.session, filters=filters, duplex=duplex, actor="cli", now=now)
    except service.LetterError as exc:
        raise click.UsageError(str(exc)) from None
    db.session.commit()
    with click.progressbar(length=batch.total, label=f"batch {batch.id}", file=sys.stderr) as bar:
        seen = {"n": 0}

        def progress(done, total):
            bar.update(done - seen["n"])
            seen["n"] = done

        batch = batches.build_batch(db.session, batch.id, out_dir=Path(current_app.config["PRINT_PATH"]),
                                    company=service.company_from(current_app.config), today=now.date(), now=now,
                                    progress=progress)
    click.echo(f"batch {batch.id}: {batch.done} letters, {batch.pages} pages, {batch.skipped} left out")
    click.echo(batch.pdf_path)
    click.echo(batch.manifest_path)


def register(app) -> None:
    """Attach the commands to the app's CLI."""
    app.cli.add_command(users)
    app.cli.add_command(tokens)
    app.cli.add_command(tick_command)
    app.cli.add_command(seed_command)
    app.cli.add_command(serve_command)
    app.cli.add_command(process_events_command)
    app.cli.add_command(letters_cli)
