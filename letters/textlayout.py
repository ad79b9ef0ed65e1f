"""Line breaking, Arabic shaping, bidi ordering and font fallback for drawing text with ReportLab.

ReportLab draws glyphs strictly left to right and does no Arabic shaping, so for right-to-left
text this module:

1. shapes each word in logical order with ``arabic_reshaper`` (contextual letter forms and the
   lam-alef ligatures as presentation-form code points; harakat kept);
2. breaks the paragraph into lines by measuring the *shaped* words, still in logical order;
3. reorders each finished line with the Unicode bidi algorithm (``python-bidi``), so the first
   word of a sentence stands at the right and Latin words and numbers inside keep their
   left-to-right order;
4. splits the visual line into runs by font (the first font of the stack that has each glyph).

Breaking before reordering matters: reordering a whole paragraph and then cutting it into lines
would put the end of the sentence on the first line.

Latin-only text in a Latin stack takes a fast path that skips all of that.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from arabic_reshaper import ArabicReshaper
from bidi import get_display
from reportlab.pdfbase.pdfmetrics import stringWidth

from .typefaces import FontStack, coverage

_ARABIC_RE = re.compile("[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufefc]")
_RTL_RE = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]")
# Invisible format characters: they steer shaping and bidi but have no glyph worth drawing.
_CONTROLS_RE = re.compile("[\u00ad\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")

_RESHAPER = ArabicReshaper(
    configuration={
        "delete_harakat": False,
        # Harakat stay after their letter in logical order; bidi then puts each mark before
        # its letter in visual order, which is where the zero-width mark glyphs expect to be.
        "shift_harakat_position": False,
        "support_ligatures": True,
        # The Allah ligature would swallow the harakat written on that word.
        "ARABIC LIGATURE ALLAH": False,
    }
)

_WIDTH_CACHE: dict[tuple[str, float, str], float] = {}
_WIDTH_CACHE_LIMIT = 50_000


@dataclass(frozen=True)
class TextStyle:
    """A font stack at a size with a line pitch, all in points."""

    stack: FontStack
    size: float
    leading: float


@dataclass(slots=True)
class Line:
    """One visual line: runs left to right as (font name, text, width in points, size factor)."""

    runs: list[tuple[str, str, float, float]]
    width: float


def has_rtl(text: str) -> bool:
    """True if the text contains right-to-left script characters."""
    return _RTL_RE.search(text) is not None


def _covered_chars(font: str) -> frozenset[str]:
    return _covered_chars_cached(font)


@lru_cache(maxsize=None)
def _covered_chars_cached(font: str) -> frozenset[str]:
    return frozenset(map(chr, coverage(font)))


@lru_cache(maxsize=65536)
def shape_word(word: str) -> str:
    """Contextual Arabic letter forms for one word (logical order), harakat kept."""
    if _ARABIC_RE.search(word) is None:
        return word
    return _RESHAPER.reshape(word)


def text_width(text: str, font: str, size: float, cache: bool = False) -> float:
    """Width of a string drawn in one font; ``cache`` for words, which letters repeat a lot."""
    if not cache:
        return stringWidth(text, font, size)
    key = (font, size, text)
    w = _WIDTH_CACHE.get(key)
    if w is None:
        if len(_WIDTH_CACHE) > _WIDTH_CACHE_LIMIT:
            _WIDTH_CACHE.clear()
        w = _WIDTH_CACHE[key] = stringWidth(text, font, size)
    return w


def _is_mark(ch: str) -> bool:
    return unicodedata.category(ch) in ("Mn", "Me")


def _font_for(ch: str, fonts: tuple[str, ...], covers: list[frozenset[str]]) -> str:
    for font, cov in zip(fonts, covers):
        if ch in cov:
            return font
    return fonts[0]


def split_runs(visual: str, stack: FontStack, size: float, cache: bool = False) -> Line:
    """Cut a visual-order string into same-font runs and measure them."""
    fonts = stack.fonts
    covers = [_covered_chars(f) for f in fonts]
    if covers[0].issuperset(visual):
        w = text_width(visual, fonts[0], size, cache)
        return Line([(fonts[0], visual, w, 1.0)], w)
    n = len(visual)
    assigned: list[str | None] = [None] * n
    for i, ch in enumerate(visual):
        if not (ch == " " or _is_mark(ch)):
            assigned[i] = _font_for(ch, fonts, covers)
    for i, ch in enumerate(visual):
        if assigned[i] is not None:
            continue
        # A mark must use its letter's font. After bidi reordering an RTL mark precedes its
        # letter, an LTR one (e.g. a combining accent) follows it; a space joins either side.
        nxt = next((assigned[j] for j in range(i + 1, n) if assigned[j] is not None), None)
        prev = next((assigned[j] for j in range(i - 1, -1, -1) if assigned[j] is not None), None)
        before_rtl_letter = i + 1 < n and (_RTL_RE.match(visual[i + 1]) is not None or _is_mark(visual[i + 1]))
        candidates = (nxt, prev) if ch != " " and before_rtl_letter else (prev, nxt)
        choice = None
        for cand in candidates:
            if cand is not None and ch in covers[fonts.index(cand)]:
                choice = cand
                break
        assigned[i] = choice or _font_for(ch, fonts, covers)
    runs: list[tuple[str, str, float, float]] = []
    start = 0
    total = 0.0
    for i in range(1, n + 1):
        if i == n or assigned[i] != assigned[start]:
            chunk = visual[start:i]
            font = assigned[start]
            factor = stack.scale(fonts.index(font))
            w = text_width(chunk, font, size * factor, cache)
            runs.append((font, chunk, w, factor))
            total += w
            start = i
    return Line(runs, total)


def _visual_line(logical: str, style: TextStyle, base_dir: str | None, fast: bool, width: float | None) -> Line:
    if fast:
        if width is None:
            width = text_width(logical, style.stack.fonts[0], style.size)
        return Line([(style.stack.fonts[0], logical, width, 1.0)], width)
    if base_dir == "R" or has_rtl(logical):
        visual = get_display(logical, base_dir=base_dir)
    else:
        visual = logical
    visual = _CONTROLS_RE.sub("", visual)
    return split_runs(visual, style.stack, style.size)


def _word_width(word: str, style: TextStyle, fast: bool) -> float:
    if fast:
        return text_width(word, style.stack.fonts[0], style.size, True)
    return split_runs(_CONTROLS_RE.sub("", word), style.stack, style.size, True).width


def _break_long_word(word: str, style: TextStyle, fast: bool, max_width: float) -> list[str]:
    pieces: list[str] = []
    current = ""
    for ch in word:
        if current and _word_width(current + ch, style, fast) > max_width:
            pieces.append(current)
            current = ch
        else:
            current += ch
    if current:
        pieces.append(current)
    return pieces


def wrap_text(text: str, style: TextStyle, max_width: float, rtl: bool) -> list[Line]:
    """Break a paragraph into visual lines no wider than ``max_width`` points.

    Single newlines inside the paragraph are kept as line breaks. ``rtl`` sets the paragraph's
    base direction; LTR paragraphs that contain Arabic or Hebrew words are reordered too.
    """
    primary_cov = _covered_chars(style.stack.fonts[0])
    lines: list[Line] = []
    for hard_line in text.split("\n"):
        words = hard_line.split()
        if not words:
            lines.append(Line([], 0.0))
            continue
        needs_bidi = rtl or has_rtl(hard_line)
        fast = not needs_bidi and primary_cov.issuperset(hard_line.replace("\t", " "))
        if needs_bidi:
            words = [shape_word(w) for w in words]
        space = text_width(" ", style.stack.fonts[0], style.size, True)
        base_dir = "R" if rtl else ("L" if needs_bidi else None)
        current: list[str] = []
        current_w = 0.0
        for word in words:
            ww = _word_width(word, style, fast)
            if ww > max_width:
                pieces = _break_long_word(word, style, fast, max_width)
            else:
                pieces = [word]
            for piece in pieces:
                pw = ww if len(pieces) == 1 else _word_width(piece, style, fast)
                if current and current_w + space + pw > max_width:
                    lines.append(_visual_line(" ".join(current), style, base_dir, fast, current_w))
                    current, current_w = [piece], pw
                else:
                    current_w += (space if current else 0.0) + pw
                    current.append(piece)
        if current:
            lines.append(_visual_line(" ".join(current), style, base_dir, fast, current_w))
    return lines


def single_line(text: str, style: TextStyle, rtl: bool | None = None) -> Line:
    """Lay out a short string as one visual line (no wrapping).

    ``rtl=None`` lets the text's first strong character pick the direction, which suits address
    lines and names that may be in either script whatever the letter's language.
    """
    text = " ".join(text.split())
    if rtl is None:
        base_dir = None
        needs_bidi = has_rtl(text)
    else:
        base_dir = "R" if rtl else "L"
        needs_bidi = rtl or has_rtl(text)
    if not needs_bidi:
        return _visual_line(text, style, None, _covered_chars(style.stack.fonts[0]).issuperset(text), None)
    shaped = " ".join(shape_word(w) for w in text.split(" "))
    return _visual_line(shaped, style, base_dir, False, None)
