"""The staff interface's languages (Flask-Babel): who reads in which language, direction and clock.

Strings are marked with ``_``/``gettext``/``ngettext`` (``lazy_gettext`` at import time) and live in
gettext catalogs under ``retention/translations`` (``make i18n`` extracts, updates and compiles them;
tests/test_translations.py fails when a message has no Arabic or Persian translation).
Dates, numbers and money go through the filters below, which call retention/formatting.py.
"""
from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app, request
from flask_babel import Babel, get_locale, refresh
from flask_login import current_user

from letters.l10n import RTL_LANGUAGES
from retention import formatting

UI_LANGUAGES = formatting.LANGUAGES
TRANSLATIONS = Path(__file__).resolve().parent / "translations"
babel = Babel()


def direction(language: str | None) -> str:
    """'rtl' for right-to-left languages, else 'ltr'."""
    return "rtl" if (language or "en").split("-")[0].split("_")[0] in RTL_LANGUAGES else "ltr"


def _signed_in():
    return current_user if getattr(current_user, "is_authenticated", False) else None


def select_locale() -> str:
    """?lang= for this page, else the staff member's own choice, else the browser's, else English."""
    asked = request.args.get("lang") if request else None
    if asked in UI_LANGUAGES:
        return asked
    user = _signed_in()
    if user is not None and user.locale in UI_LANGUAGES:
        return user.locale
    if request:
        return request.accept_languages.best_match(UI_LANGUAGES) or "en"
    return "en"


def select_timezone() -> str:
    user = _signed_in()
    return (user.timezone if user is not None and user.timezone else "UTC")


def ui_language() -> str:
    """The language of the page being rendered (Flask-Babel keeps it for the request)."""
    return formatting.language_of(str(get_locale() or "en"))


def ui_digits() -> str:
    user = _signed_in()
    return formatting.digits_for(ui_language(), getattr(user, "digits", None) if user is not None else None)


def viewer_zone() -> str:
    return select_timezone()


def when(moment, zone: str | None = None, form: str = "short") -> str:
    """A moment on the viewer's clock (or the zone given), in their calendar and digits."""
    return formatting.format_moment(moment, ui_language(), ui_digits(), zone or viewer_zone(), form)


def number(value) -> str:
    return formatting.format_number(value, ui_language(), ui_digits())


def money(amount, currency: str) -> str:
    return formatting.format_money(amount, currency, ui_language(), ui_digits())


def zone_label(zone: str | None = None) -> str:
    return formatting.zone_label(zone or viewer_zone(), ui_language())


def digits(text) -> str:
    """Digits inside a text (an id, a count) in the viewer's digit system."""
    from letters.l10n import to_digits

    return to_digits(str(text), ui_digits())


def template_context() -> dict:
    """Language, direction and navigation for the page being rendered (``_`` comes from Flask-Babel)."""
    language = ui_language()
    return {"ui_lang": language, "ui_dir": direction(language), "text_dir": direction,
            "nav_endpoints": current_app.view_functions, "zone_label": zone_label,
            "extra_nav": current_app.extensions.get("retention_nav", [])}


def init_app(app: Flask) -> None:
    """Flask-Babel with our catalogs and selectors, the context above and the formatting filters."""
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "en")
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone,
                   default_translation_directories=str(TRANSLATIONS))
    # Flask-Babel keeps the locale on `g`, which outlives a request when an app context is already open
    # (a worker, a test): forget it at the start of each request so every request asks whose it is.
    app.before_request(refresh)
    app.context_processor(template_context)
    for name, function in (("when", when), ("num", number), ("money", money), ("digits", digits)):
        app.add_template_filter(_per_viewer(function), name)


def _per_viewer(function):
    """A filter Jinja must call at render time: without pass_context it would fold `{{ 0|num }}` into
    the template once, in the digits of whoever rendered it first."""
    from functools import wraps

    from jinja2 import pass_context

    @pass_context
    @wraps(function)
    def filter_(_context, *args, **kwargs):
        return function(*args, **kwargs)

    return filter_
