"""The page filters format for whoever is reading (retention/i18n.py)."""
from __future__ import annotations

from contextlib import contextmanager

from flask import render_template_string
from flask_babel import refresh


@contextmanager
def page(app, path, **kwargs):
    """A request as the app serves it: the reader's language is asked afresh (before_request does this)."""
    with app.test_request_context(path, **kwargs):
        refresh()
        yield


def test_a_filter_on_a_literal_follows_each_readers_digits(app):
    template = "{{ 1234|num }}"
    with page(app, "/?lang=fa"):
        assert render_template_string(template) == "۱٬۲۳۴"
    with page(app, "/?lang=en"):
        assert render_template_string(template) == "1,234"
    with page(app, "/?lang=ar"):
        assert render_template_string(template) == "١٬٢٣٤"


def test_unknown_languages_fall_back_to_english(app):
    with page(app, "/?lang=xx", headers={"Accept-Language": "fa-IR,fa;q=0.9"}):
        assert render_template_string("{{ _('My calls') }}") == "تماس‌های من"
    with page(app, "/", headers={"Accept-Language": "de"}):
        assert render_template_string("{{ _('My calls') }}") == "My calls"
