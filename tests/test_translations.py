"""Every string a staff member reads ships in Arabic and Persian (retention/translations, Flask-Babel).

The messages are extracted from the code and templates exactly as `make i18n` does (babel.cfg); a message
with no Arabic or Persian translation, a fuzzy one, one that drops or invents a placeholder, or a compiled
catalog (.mo) older than its .po fails here.
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
CATALOGS = ROOT / "retention" / "translations"
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None, "lazy_ngettext": (1, 2)}
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|%[sd]|\{\w*\}")


@lru_cache(maxsize=1)
def extracted() -> dict:
    """msgid (str, or (singular, plural)) -> the files it comes from."""
    with open(ROOT / "babel.cfg", encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found: dict = {}
    for filename, _lineno, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=KEYWORDS):
        key = message if isinstance(message, str) else tuple(m for m in message if m)
        if isinstance(key, tuple) and len(key) == 1:
            key = key[0]
        if key:
            found.setdefault(key, set()).add(filename)
    return found


def catalog(language: str):
    with open(CATALOGS / language / "LC_MESSAGES" / "messages.po", "rb") as f:
        return read_po(f, locale=language)


def untranslated(language: str, messages: dict) -> list:
    cat = catalog(language)
    gaps = []
    for key in messages:
        msgid = key[0] if isinstance(key, tuple) else key
        entry = cat.get(msgid)
        strings = entry.string if entry is not None else ""
        strings = strings if isinstance(strings, tuple) else (strings,)
        if entry is None or entry.fuzzy or not all(s.strip() for s in strings):
            gaps.append(key)
    return gaps


def test_messages_are_extracted_from_code_and_templates():
    messages = extracted()
    sources = {f for files in messages.values() for f in files}
    assert any(f.endswith(".html") for f in sources) and any(f.endswith(".py") for f in sources)
    assert "My calls" in messages and "Work ahead" in messages  # a template string and a lazy one


@pytest.mark.parametrize("language", ["ar", "fa"])
def test_every_message_has_a_translation(language):
    gaps = untranslated(language, extracted())
    assert not gaps, f"{len(gaps)} message(s) without a {language} translation: {gaps[:20]}"


@pytest.mark.parametrize("language", ["ar", "fa"])
def test_translations_keep_their_placeholders(language):
    wrong = []
    for entry in catalog(language):
        if not entry.id:
            continue
        ids = entry.id if isinstance(entry.id, tuple) else (entry.id,)
        expected = set(PLACEHOLDER.findall(ids[-1])) | set(PLACEHOLDER.findall(ids[0]))
        for text in (entry.string if isinstance(entry.string, tuple) else (entry.string,)):
            if text and not set(PLACEHOLDER.findall(text)) <= expected:
                wrong.append((entry.id, text))
            # singular-only entries must keep every named placeholder they are formatted with
            if text and not isinstance(entry.id, tuple) and set(PLACEHOLDER.findall(text)) != expected:
                wrong.append((entry.id, text))
    assert not wrong, wrong[:10]


@pytest.mark.parametrize("language", ["ar", "fa"])
def test_compiled_catalog_matches_its_source(language):
    with open(CATALOGS / language / "LC_MESSAGES" / "messages.mo", "rb") as f:
        compiled = read_mo(f)
    source = {m.id: m.string for m in catalog(language) if m.id and not m.fuzzy and m.string}
    # read_mo gives a plural message's forms as lists; the .po reader gives tuples
    shipped = {tuple(m.id) if isinstance(m.id, list) else m.id: tuple(m.string) if isinstance(m.string, list)
               else m.string for m in compiled if m.id}
    assert shipped == source, "run `make i18n` (pybabel compile) after editing a .po file"
