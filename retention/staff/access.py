"""Who may do what: role checks for pages and bearer-token checks for the API."""
from __future__ import annotations

from functools import wraps

from flask import abort, g, jsonify, request
from flask_login import current_user

from retention.extensions import db
from retention.staff.service import token_for_request, touch_token
from retention import clock


def roles_required(*roles: str):
    """A page for these roles (admins always pass): sign-in first, 403 for the wrong role."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            from flask import current_app

            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()
            if not current_user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        wrapped.required_roles = roles
        return wrapped

    return decorator


def api_roles(*roles: str):
    """An API route for these roles: a valid bearer token (401) of a permitted role (403)."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            header = request.headers.get("Authorization", "")
            scheme, _, token = header.partition(" ")
            user = None
            if scheme.lower() == "bearer" and token:
                now = clock.now()
                live = token_for_request(db.session, token.strip(), now)
                if live is not None:
                    user = live.user
                    if touch_token(db.session, live, now):  # at most once a minute per token
                        db.session.commit()
            if user is None:
                response = jsonify(code=401, status="Unauthorized",
                                   message="Authorization: a valid Bearer token is required")
                response.status_code = 401
                response.headers["WWW-Authenticate"] = "Bearer"
                return response
            if not user.has_role(*roles):
                response = jsonify(code=403, status="Forbidden",
                                   message=f"this route is for the roles: {', '.join(roles)}")
                response.status_code = 403
                return response
            g.api_user = user
            return view(*args, **kwargs)

        wrapped.required_roles = roles
        return wrapped

    return decorator
