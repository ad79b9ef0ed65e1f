"""Command-line commands: `flask --app wsgi users ...`, `tokens ...`, `seed`, `tick`, `serve`, `letters`."""
from __future__ import annotations

import datetime as dt
import os
import sys

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select

from retention.extensions import db
from retention import clock

users = AppGroup("users", help="Staff accounts.")
tokens = AppGroup("tokens", help="API tokens.")


@users.command("create")
@click.argument("email")
@click.option("--role", required=True, help="onboarding, marketing, print or admin")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--name", default="")
@click.option("--locale", default="en", help="language of the staff pages: en, ar or fa")
@click.option("--languages", default="", help="languages they speak with customers, e.g. fa,en (default: --locale)")
def create_user(email, role, password, name, locale, languages):
    """Create a staff user."""
    from retention.staff.service import StaffError
    from retention.staff.service import create_user as create

    spoken = {"languages": languages} if languages else {}
    try:
        user = create(db.session, current_app.extensions["password_hasher"], email=email, role=role,
                      password=password, name=name, actor="cli", now=clock.now(), locale=locale, **spoken)
    except StaffError as exc:
        raise click.UsageError(str(exc)) from None
    db.session.commit()
    click.echo(f"created {user.email} ({user.role})", err=True)


@tokens.command("create")
@click.argument("email")
@click.option("--label", default="cli")
@click.option("--expires", "expires_text", default=None, help="ISO 8601 time with offset when it stops working")
def create_token(email, label, expires_text):
    """Issue an API token for a staff user; the token alone is printed on stdout."""
    from retention.staff.models import StaffUser
    from retention.staff.service import StaffError, issue_token

    user = db.session.scalar(select(StaffUser).where(StaffUser.email == email.strip().lower()))
    if user is None:
        raise click.UsageError(f"email: no staff user {email}")
    try:
        token = issue_token(db.session, user, actor="cli", now=clock.now(), label=label,
                            expires_at=_parse_now(expires_text) if expires_text else None)
    except StaffError as exc:
        raise click.UsageError(str(exc)) from None
    db.session.commit()
    click.echo(token)


def _staff_or_fail(email):
    from retention.staff.service import StaffError, find_staff

    try:
        return find_staff(db.session, email)
    except StaffError as exc:
        raise click.UsageError(str(exc)) from None


def _staff_change(change, done: str) -> None:
    """Run one account or token change of the service; its error is a usage error (exit 2), nothing changed."""
    from retention.staff.service import StaffError

    try:
        change()
    except StaffError as exc:
        db.session.rollback()
        raise click.UsageError(str(exc)) from None
    db.session.commit()
    click.echo(done, err=True)


@users.command("list")
def list_users():
    """Every staff account: email, role, active or not."""
    from retention.staff.service import list_staff

    for user in list_staff(db.session):
        click.echo(f"{user.id}\t{user.email}\t{user.role}\t{'active' if user.active else 'deactivated'}"
                   f"\t{','.join(user.languages or [])}")


@users.command("deactivate")
@click.argument("email")
def deactivate_user(email):
    """Stop a staff member signing in or using the API; their sessions end now."""
    from retention.staff.service import deactivate

    user = _staff_or_fail(email)
    _staff_change(lambda: deactivate(db.session, user, actor="cli", now=clock.now()), f"deactivated {user.email}")


@users.command("reactivate")
@click.argument("email")
def reactivate_user(email):
    """Let a deactivated staff member sign in again."""
    from retention.staff.service import reactivate

    user = _staff_or_fail(email)
    _staff_change(lambda: reactivate(db.session, user, actor="cli", now=clock.now()), f"reactivated {user.email}")


@users.command("set-role")
@click.argument("email")
@click.argument("role")
def set_role(email, role):
    """Change a staff member's role (onboarding, marketing, print or admin); their sessions end."""
    from retention.staff.service import change_role

    user = _staff_or_fail(email)
    _staff_change(lambda: change_role(db.session, user, role, actor="cli", now=clock.now()),
                  f"{user.email} is now {role}")


@users.command("reset-password")
@click.argument("email")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def reset_password(email, password):
    """Set a new password for a staff member; their sessions end."""
    from retention.staff.service import reset_password as reset

    user = _staff_or_fail(email)
    _staff_change(lambda: reset(db.session, current_app.extensions["password_hasher"], user, password,
                                actor="cli", now=clock.now()), f"new password set for {user.email}")


@tokens.command("list")
@click.option("--email", default=None, help="only this staff member's tokens")
def list_tokens(email):
    """API tokens: id, owner, label, state, created, last used, expiry."""
    from retention.staff.service import list_tokens as listed

    user_id = _staff_or_fail(email).id if email else None
    now = clock.now()
    for t in listed(db.session, user_id):
        click.echo("\t".join([str(t.id), t.user.email, t.label, t.status(now), t.created_at.isoformat(),
                              t.last_used_at.isoformat() if t.last_used_at else "never",
                              t.expires_at.isoformat() if t.expires_at else "-"]))


@tokens.command("revoke")
@click.argument("token_id", type=click.IntRange(1, 2**31 - 1))
def revoke_token(token_id):
    """Stop a token working, now and for good."""
    from retention.staff.service import revoke_token as revoke

    _staff_change(lambda: revoke(db.session, token_id, actor="cli", now=clock.now()), f"revoked token {token_id}")


@tokens.command("expire")
@click.argument("token_id", type=click.IntRange(1, 2**31 - 1))
@click.option("--at", "at_text", default=None, help="ISO 8601 time with offset (default: now)")
def expire_token(token_id, at_text):
    """Set when a token stops working (default: now)."""
    from retention.staff.service import expire_token as expire

    now = clock.now()
    at = _parse_now(at_text) if at_text else now
    _staff_change(lambda: expire(db.session, token_id, at=at, actor="cli", now=now),
                  f"token {token_id} expires {at.isoformat()}")


def _parse_now(value: str | None) -> dt.datetime:
    if not value:
        return clock.now()
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
    from retention import tick

    summary = tick.run(_parse_now(now_text))
    click.echo(" ".join(f"{k}={v}" for k, v in summary.items()))


@click.command("seed")
@click.option("--customers", default=200)
@with_appcontext
def seed_command(customers):
    """Create the demo staff and customers (once)."""
    from retention.seed import seed

    created = seed(db.session, current_app, customers=customers, now=clock.now())
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
    if app.config.get("WEBHOOK_SECRET_GENERATED"):
        click.echo(f" * Development webhook secret (instance/webhook_secret): {app.config['WEBHOOK_SECRETS'][0]}\n"
                   f"   try it: flask --app wsgi events send-sample", err=True)
    from werkzeug.serving import run_simple

    run_simple(host, port, app, threaded=True, use_reloader=False)


@click.command("process-events")
@with_appcontext
def process_events_command():
    """Apply every pending event now (what the worker does)."""
    from retention import tick

    click.echo(f"processed {tick.process_events(clock.now())}")


events_cli = AppGroup("events", help="Inbound events.")


@events_cli.command("send-sample")
@click.option("--type", "types", multiple=True, metavar="TYPE",
              help="only this event type (repeatable); default: one of each type")
@click.option("--url", default=lambda: "http://{}:{}/hooks/events".format(
    os.environ.get("HOST", "127.0.0.1"), os.environ.get("PORT", "5000")), show_default="the local `make run`",
    help="the hook to post to")
@click.option("--in-process", is_flag=True, help="post through this app directly, no server needed")
def send_sample_command(types, url, in_process):
    """Sign and send a sample event of each type (docs/events.md), as the shop, CRM and helpdesk do."""
    import json
    import time
    import urllib.error
    import urllib.request
    import uuid

    from retention.hooks.contract import sample_events
    from retention.hooks.schemas import EVENT_TYPES
    from retention.hooks.signatures import SECRETS_SETTING, sign

    unknown = [t for t in types if t not in EVENT_TYPES]
    if unknown:
        raise click.BadParameter(f"{unknown[0]!r} is not one of {', '.join(EVENT_TYPES)}", param_hint="--type")
    secrets = current_app.config["WEBHOOK_SECRETS"]
    if not secrets:
        raise click.UsageError(f"{SECRETS_SETTING} is not set: there is no secret to sign with")
    client = current_app.test_client() if in_process else None
    refused = 0
    for body in sample_events(clock.now(), types or EVENT_TYPES):
        raw = json.dumps(body).encode()
        msg_id, timestamp = f"sample_{uuid.uuid4().hex}", int(time.time())
        headers = {"content-type": "application/json", "webhook-id": msg_id, "webhook-timestamp": str(timestamp),
                   "webhook-signature": sign(secrets[0], msg_id, timestamp, raw)}
        if client is not None:
            answer = client.post("/hooks/events", data=raw, headers=headers)
            status, text = answer.status_code, answer.get_data(as_text=True)
        else:
            request = urllib.request.Request(url, data=raw, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 (a URL the user gave)
                    status, text = answer.status, answer.read().decode("utf-8", "replace")
            except urllib.error.HTTPError as exc:
                status, text = exc.code, exc.read().decode("utf-8", "replace")
            except (urllib.error.URLError, OSError) as exc:
                raise click.ClickException(f"--url: cannot reach {url} ({getattr(exc, 'reason', exc)}); "
                                           "start the app with `make run`, or use --in-process") from None
        refused += status >= 300
        click.echo(f"{body['type']:<20} {status} {text.strip()}")
    if refused:
        raise click.ClickException(f"{refused} sample event(s) refused")


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

    from retention.postal import batches, service

    filters = {"template_key": template_key, "country": country, "language": language}
    for name, value in (("since", since), ("until", until)):
        if value:
            try:
                filters[name] = dt.datetime.fromisoformat(value).replace(tzinfo=dt.timezone.utc)
            except ValueError:
                raise click.BadParameter(f"--{name}: not a date (YYYY-MM-DD)") from None
    now = clock.now()
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
    app.cli.add_command(events_cli)
