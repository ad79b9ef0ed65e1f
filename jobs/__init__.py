"""RQ entry points: thin functions that open an app context and call one service."""
from __future__ import annotations

from contextlib import contextmanager

from flask import current_app, has_app_context

_app = None


@contextmanager
def app_context():
    """The current app's context (tests, embedded worker) or one app built once per worker process."""
    global _app
    if has_app_context():
        yield current_app
        return
    if _app is None:
        from retention import create_app

        _app = create_app()
    with _app.app_context():
        yield _app
