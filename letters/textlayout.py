"""Line breaking, bidi ordering, HarfBuzz shaping and font choice for drawing text with ReportLab.

A paragraph is laid out in four steps:

1. **Keep together.** Spaces inside things a reader must not lose across a line end (phone
   numbers, amounts with their currency, postal codes, product names the letter's context marked)
   are no-break spaces (U+00A0); lines only break at ordinary spaces.
2. **Break** the paragraph into lines by measuring each word *shaped*, in logical order.
3. **Order** each finished line with the Unicode bidi algorithm (embedding levels from
   ``python-bidi``; isolates such as LRI/PDI around a phone number respected), then cut it into
   runs of one level and one font, and put the runs in visual order (rule L2).
4. **Shape** every run with HarfBuzz (``uharfbuzz``) in its own direction, script and language:
   contextual forms, ligatures and mark positioning come from the font's own GSUB/GPOS rules, and
   paired punctuation ( ) [ ] « » is mirrored in right-to-left runs. The glyphs are handed to
   ReportLab as its ``ShapedStr`` (ReportLab's shaping support), which draws each glyph with the
   offsets HarfBuzz gave it.

Breaking before ordering matters: ordering a whole paragraph and then cutting it into lines would
put the end of the sentence on the first line.

Fonts per character: Arabic-script characters take the stack's first face that has them, Latin
letters and European digits the stack's Latin face (one typographic voice: Noto Serif beside
Noto Naskh Arabic, Vazirmatn's own Latin in Persian letters), and common characters (spaces,
punctuation) the face of the text around them.

Glyphs that the font has no character for (contextual alternates) get a private-use code, as in
ReportLab; the PDF's ToUnicode map gives them back their real text, so the PDF reads back and
searches as the words typed.

Latin-only text in a Latin stack takes a fast path that skips all of that (ReportLab's own
width tables, no kerning: the same as bare ``drawString``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import uharfbuzz as hb
from bidi import get_display
from reportlab.pdfbase import pdfmetrics, ttfonts
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfbase.ttfonts import ShapeData, ShapedStr

from .typefaces import FontStack, coverage

NBSP = "\u00a0"
_RTL_RE = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]")
_ARABIC_SCRIPT_RE = re.compile("[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufefc]")
# Format characters that steer bidi only: dropped once the levels are known. ZWNJ/ZWJ stay for
# the shaper (they decide joining); HarfBuzz leaves them out of the output.
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_DROP = frozenset(_BIDI_CONTROLS | set("\u00ad\u200b\u2060\ufeff"))
# Lines break at these only (never at a no-break space).
_BREAK_SPACES = re.compile(r"[ \t\r\f\v\u2000-\u2006\u2008-\u200a\u3000]+")
_DIGIT = "0-9\u0660-\u0669\u06f0-\u06f9"
# A phone number: digit groups joined by spaces, dots or hyphens, perhaps with a leading "+" and
# a bracketed area code. Its spaces become no-break spaces.
_PHONE_RE = re.compile(rf"(?<![\w{_DIGIT}])\+?\(?[{_DIGIT}]+\)?(?:[ .\-]\(?[{_DIGIT}]+\)?){{2,}}(?![\w{_DIGIT}])")
# A short parenthetical or quotation: "(نسخهٔ ۲)", "(version 2)", "«راهنما»", "[p. 4]": at most four words and
# 30 characters between paired brackets; a line never ends inside it.
_SHORT_PAREN_RE = re.compile(r"[(\[«](?:[^()\[\]«»\s]+ ){1,3}[^()\[\]«»\s]+[)\]»]")
_PAREN_MAX = 32
# A number and the word after it (its unit or what it counts: "12 kg", "۲ کیلوگرم", "3 months"): the space between
# becomes a no-break space when that word is short; a number ends in a digit (so "0000. Next" stays apart).
_NUMBER_UNIT_RE = re.compile(
    rf"(?<![\w{_DIGIT}])[{_DIGIT}](?:[{_DIGIT}.,\u066b\u066c:/]*[{_DIGIT}])? (?=[^\s{_DIGIT}]{{1,12}}(?:\s|$))")
_KEEP_HINT_RE = re.compile(rf"[(\[«{_DIGIT}]")

_WIDTH_CACHE: dict[tuple[str, float, str], float] = {}
_WIDTH_CACHE_LIMIT = 50_000


@dataclass(frozen=True)
class TextStyle:
    """A font stack at a size with a line pitch, all in points; ``lang`` steers shaping (ar, fa)."""

    stack: FontStack
    size: float
    leading: float
    lang: str = ""


@dataclass(slots=True)
class Line:
    """One visual line: runs left to right as (font name, text, width in points, size factor).

    A run's text is a ReportLab ``ShapedStr`` (glyphs with HarfBuzz offsets) or a plain string.
    """

    runs: list[tuple[str, str, float, float]]
    width: float
    # The line's text as typed (logical order), e.g. for a manifest that lists what was printed.
    source: str = ""
    # Per run: the logical pieces it was shaped from, as (text, right to left) (bench/letters_bare.py
    # shapes the same pieces with HarfBuzz in its baseline). None on the unshaped fast path.
    pieces: list[list[tuple[str, bool]]] | None = None

    @property
    def text(self) -> str:
        """The glyphs' characters, left to right (for tests and debugging)."""
        return "".join(r[1] for r in self.runs)


def has_rtl(text: str) -> bool:
    """True if the text contains right-to-left script characters."""
    return _RTL_RE.search(text) is not None


def _nbsp(m: re.Match) -> str:
    return m.group(0).replace(" ", NBSP)


def keep_together(text: str) -> str:
    """No-break spaces where a line must not end: inside phone numbers, short parentheticals and quotations
    ("(نسخهٔ ۲)"), and between a number and its unit ("12 kg", "۲ کیلوگرم")."""
    if _KEEP_HINT_RE.search(text) is None:
        return text
    text = _PHONE_RE.sub(_nbsp, text)
    text = _SHORT_PAREN_RE.sub(lambda m: _nbsp(m) if len(m.group(0)) <= _PAREN_MAX else m.group(0), text)
    return _NUMBER_UNIT_RE.sub(_nbsp, text)


def nobreak(text: str) -> str:
    """The text as one unbreakable unit (its spaces made no-break)."""
    return " ".join(text.split()).replace(" ", NBSP) if text else text


@lru_cache(maxsize=None)
def _covered_chars(font: str) -> frozenset[str]:
    return frozenset(map(chr, coverage(font)))


_CHAR_WIDTHS: dict[str, dict[int, float]] = {}


def _measure(text: str, font: str, size: float) -> float:
    """ReportLab's stringWidth for a TrueType face, without its per-character generator (pure Python when
    ReportLab's C accelerator is not installed): the face's own width table, summed in one pass."""
    widths = _CHAR_WIDTHS.get(font)
    if widths is None:
        face = getattr(pdfmetrics.getFont(font), "face", None)
        widths = _CHAR_WIDTHS[font] = getattr(face, "charWidths", None) or {}
    try:
        return 0.001 * size * sum(map(widths.__getitem__, map(ord, text)))
    except KeyError:   # a character the face has no width for: ReportLab's default width
        return stringWidth(text, font, size)


def text_width(text: str, font: str, size: float, cache: bool = False) -> float:
    """Width of a string drawn in one font without shaping (the Latin fast path)."""
    if not cache:
        return _measure(text, font, size)
    key = (font, size, text)
    w = _WIDTH_CACHE.get(key)
    if w is None:
        if len(_WIDTH_CACHE) > _WIDTH_CACHE_LIMIT:
            _WIDTH_CACHE.clear()
        w = _WIDTH_CACHE[key] = _measure(text, font, size)
    return w


# --- Bidi levels --------------------------------------------------------------------------------

_NEEDS_BIDI_RE = re.compile(rf"[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc{''.join(sorted(_BIDI_CONTROLS))}]")
_STRONG_L_OR_NUMBER_RE = re.compile(rf"[A-Za-z\u00c0-\u024f\u0370-\u052f{_DIGIT}]")
_NOT_DIGITS = bytes(b for b in range(256) if not 0x30 <= b <= 0x39)


@lru_cache(maxsize=32768)
def bidi_levels(text: str, base_dir: str) -> tuple[int, ...]:
    """Resolved embedding level of every character (Unicode bidi algorithm, base 'L' or 'R')."""
    base = 1 if base_dir == "R" else 0
    if base == 0 and _NEEDS_BIDI_RE.search(text) is None:
        return (0,) * len(text)
    if base == 1 and _STRONG_L_OR_NUMBER_RE.search(text) is None and not (_BIDI_CONTROLS & set(text)):
        return (1,) * len(text)
    debug = get_display(text, base_dir=base_dir, debug=True)
    start = debug.index("levels:")
    section = debug[start:debug.index("paragraphs:", start)]
    # python-bidi reports one level per UTF-8 byte.
    digits = section.encode("ascii", "ignore").translate(None, _NOT_DIGITS)
    per_byte = [d - 0x30 for d in digits] if len(digits) == section.count("Level(") else \
        [int(n) for n in re.findall(r"Level\(\s*(\d+)", section)]
    out = []
    pos = 0
    for ch in text:
        out.append(per_byte[pos] if pos < len(per_byte) else base)
        pos += len(ch.encode("utf-8"))
    return tuple(out)


def detect_direction(text: str) -> str:
    """'R' or 'L' from the first strong character (rule P2), 'L' when there is none."""
    for ch in text:
        bc = unicodedata.bidirectional(ch)
        if bc in ("R", "AL"):
            return "R"
        if bc == "L":
            return "L"
    return "L"


# --- Fonts per character ------------------------------------------------------------------------

def _script(ch: str) -> str:
    """'A' Arabic script (letters, Arabic-Indic digits, Arabic punctuation), 'L' other letters and
    European digits, 'M' a combining mark, 'C' common (spaces, punctuation, symbols)."""
    if _ARABIC_SCRIPT_RE.match(ch):
        return "M" if unicodedata.category(ch) in ("Mn", "Me") else "A"
    cat = unicodedata.category(ch)
    if cat[0] == "L" or cat == "Nd":
        return "L"
    if cat in ("Mn", "Me"):
        return "M"
    return "C"


def _first_covering(ch: str, order: tuple[int, ...], covers: list[frozenset[str]]) -> int:
    for i in order:
        if ch in covers[i]:
            return i
    return order[0]


def _assign_fonts(text: str, stack: FontStack) -> list[int]:
    fonts = stack.fonts
    covers = [_covered_chars(f) for f in fonts]
    arabic_order = tuple(range(len(fonts)))
    latin_order = (stack.latin,) + tuple(i for i in range(len(fonts)) if i != stack.latin)
    n = len(text)
    scripts = [_script(ch) for ch in text]
    assigned: list[int | None] = [None] * n
    for i, ch in enumerate(text):
        s = scripts[i]
        if s == "A":
            assigned[i] = _first_covering(ch, arabic_order, covers)
        elif s == "L":
            assigned[i] = _first_covering(ch, latin_order, covers)
    for i, ch in enumerate(text):
        if assigned[i] is not None:
            continue
        if scripts[i] == "M":
            prev = assigned[i - 1] if i else None
            assigned[i] = prev if prev is not None and (ch in covers[prev] or ch in "\u200c\u200d") \
                else _first_covering(ch, arabic_order, covers)
            continue
        # Common characters join the text around them: the previous font, else the next one.
        prev = next((assigned[j] for j in range(i - 1, -1, -1) if assigned[j] is not None), None)
        nxt = next((assigned[j] for j in range(i + 1, n) if scripts[j] in "AL"), None)
        choice = None
        for cand in (prev, nxt):
            if cand is not None and (ch in covers[cand] or ch in "\u200c\u200d"):
                choice = cand
                break
        assigned[i] = choice if choice is not None else _first_covering(ch, latin_order, covers)
    return assigned  # type: ignore[return-value]


# --- Shaping ------------------------------------------------------------------------------------

# Text of glyphs given a private-use code, per font face name: the PDF's ToUnicode map uses it.
_PRIVATE_TEXT: dict[bytes, dict[int, str]] = {}
_HB_FONTS: dict[str, tuple[object, object]] = {}
_NAME_CODE_RE = re.compile(r"^(?:uni([0-9A-F]{4})|u([0-9A-F]{4,6}))(?:[._]|$)")


def _hb_font(font_name: str):
    got = _HB_FONTS.get(font_name)
    if got is None:
        ttf = pdfmetrics.getFont(font_name)
        face = hb.Face(hb.Blob(ttf.face._ttf_data))
        got = _HB_FONTS[font_name] = (ttf, hb.Font(face))
    return got


def _private_code(ttf, hbfont, gid: int, cluster_text: str) -> int:
    """A code for a glyph with no character of its own (contextual alternates), registered with the
    ReportLab face like ReportLab's own shaping does; its text goes to the ToUnicode map."""
    face = ttf.face
    known = getattr(face, "_letters_private", None)
    if known is None:
        known = face._letters_private = {}
    code = known.get(gid)
    if code is not None:
        return code
    code = max(known.values(), default=0xE000 - 1) + 1
    while code in face.charToGlyph:
        code += 1
    if code > 0xF8FF:
        raise ValueError(f"font {ttf.fontName}: too many glyphs without characters")
    known[gid] = code
    face.charToGlyph[code] = gid
    face.glyphToChar.setdefault(gid, []).append(code)
    face.charWidths[code] = ttf.pdfScale(hbfont.get_glyph_h_advance(gid))
    name = hbfont.glyph_to_string(gid)
    m = _NAME_CODE_RE.match(name)
    text = chr(int(m.group(1) or m.group(2), 16)) if m else cluster_text
    _PRIVATE_TEXT.setdefault(face.name, {})[code] = text
    return code


_REMOVE_IGNORABLES = hb.BufferFlags.REMOVE_DEFAULT_IGNORABLES


@lru_cache(maxsize=65536)
def shape_run(font_name: str, text: str, rtl: bool, lang: str) -> tuple[str, float]:
    """One run of text in one font and direction, shaped by HarfBuzz: (ShapedStr in visual order,
    advance in thousandths of the font size)."""
    ttf, hbfont = _hb_font(font_name)
    buf = hb.Buffer()
    buf.add_str(text)
    buf.direction = "rtl" if rtl else "ltr"
    buf.guess_segment_properties()
    if lang:
        buf.language = lang
    buf.flags = _REMOVE_IGNORABLES
    buf.cluster_level = hb.BufferClusterLevel.MONOTONE_CHARACTERS
    hb.shape(hbfont, buf, {"kern": True, "liga": True})
    infos, positions = buf.glyph_infos, buf.glyph_positions
    glyph_to_char = ttf.face.glyphToChar
    char_widths = ttf.face.charWidths
    scale = ttf.pdfScale
    clusters = sorted({info.cluster for info in infos}) + [len(text)]
    cluster_end = {c: clusters[i + 1] for i, c in enumerate(clusters[:-1])}
    chars: list[str] = []
    data: list[ShapeData] = []
    total = 0.0
    shaped = False
    for info, pos in zip(infos, positions):
        gid = info.codepoint
        if gid == 0 and text[info.cluster] in "\u200c\u200d":
            continue
        codes = glyph_to_char.get(gid)
        if codes:
            code = codes[0]
        else:
            c0 = info.cluster
            code = _private_code(ttf, hbfont, gid, text[c0:cluster_end.get(c0, c0 + 1)])
        x_adv, x_off, y_off = scale(pos.x_advance), scale(pos.x_offset), scale(pos.y_offset)
        width = char_widths.get(code, x_adv)
        shaped = shaped or bool(x_off or y_off) or abs(width - x_adv) > 0.01
        chars.append(chr(code))
        data.append(ShapeData(info.cluster, x_adv, 0, x_off, y_off, width))
        total += x_adv
    s = "".join(chars)
    return (ShapedStr(s, shapeData=data) if shaped else s), total


def ink_overhang(line: Line, size: float) -> tuple[float, float]:
    """How far a one-run line's ink reaches past its left and right ends, in points (each >= 0): a
    handwriting face's swashes (Aref Ruqaa's initial lām, Kristi's capitals) overhang the advance widths a
    line is aligned by. (0, 0) for a line of several runs or an unshaped one."""
    if len(line.runs) != 1 or not line.pieces or len(line.pieces[0]) != 1:
        return 0.0, 0.0
    font, _glyphs, width, factor = line.runs[0]
    text, rtl = line.pieces[0][0]
    _ttf, hbfont = _hb_font(font)
    buf = hb.Buffer()
    buf.add_str(text)
    buf.direction = "rtl" if rtl else "ltr"
    buf.guess_segment_properties()
    hb.shape(hbfont, buf, {"kern": True, "liga": True})
    pen, lo, hi = 0, 0, 0
    for info, pos in zip(buf.glyph_infos, buf.glyph_positions):
        ext = hbfont.get_glyph_extents(info.codepoint)
        if ext is not None and ext.width:
            left = pen + pos.x_offset + ext.x_bearing
            lo, hi = min(lo, left), max(hi, left + ext.width)
        pen += pos.x_advance
    scale = size * factor / hbfont.face.upem
    return max(0, -lo) * scale, max(0, hi - pen) * scale


def _make_to_unicode(original):
    def make(fontname, subset):
        """ReportLab's ToUnicode CMap, with the real text of glyphs drawn under a private-use code."""
        face = fontname.split("+", 1)[-1].encode("pdfdoc", "ignore") if isinstance(fontname, str) else fontname
        private = next((v for k, v in _PRIVATE_TEXT.items() if face.startswith(k)), None)
        cmap = original(fontname, subset)
        if not private or not any(code in private for code in subset):
            return cmap
        lines = cmap.split("\n")
        for i, code in enumerate(subset):
            if code in private:
                old = "<%02X> <%04X>" % (i, code)
                new = "<%02X> <%s>" % (i, private[code].encode("utf-16-be").hex().upper() or "FFFD")
                lines = [new if ln == old else ln for ln in lines]
        return "\n".join(lines)
    make._letters = True
    return make


if not getattr(ttfonts.makeToUnicodeCMap, "_letters", False):
    ttfonts.makeToUnicodeCMap = _make_to_unicode(ttfonts.makeToUnicodeCMap)


# --- Lines --------------------------------------------------------------------------------------

def _visual_runs(levels: list[int], spans: list[tuple[int, int, int, int]]) -> list[tuple[int, int, int, int]]:
    """Rule L2 on runs (start, end, level, font) given in logical order."""
    runs = list(spans)
    if not runs:
        return runs
    top = max(r[2] for r in runs)
    lowest_odd = min(r[2] for r in runs)
    if lowest_odd % 2 == 0:
        lowest_odd += 1
    for level in range(top, lowest_odd - 1, -1):
        i = 0
        while i < len(runs):
            if runs[i][2] >= level:
                j = i
                while j < len(runs) and runs[j][2] >= level:
                    j += 1
                runs[i:j] = runs[i:j][::-1]
                i = j
            else:
                i += 1
    return runs


def layout_line(logical: str, style: TextStyle, base_dir: str) -> Line:
    """One logical line as a visual line: bidi levels, font runs, each run shaped."""
    return _layout_line(logical, style.stack, style.size, style.lang, base_dir)


@lru_cache(maxsize=32768)
def _layout_line(logical: str, stack: FontStack, size: float, lang: str, base_dir: str) -> Line:
    levels_all = bidi_levels(logical, base_dir)
    keep = [i for i, ch in enumerate(logical) if ch not in _DROP]
    text = "".join(logical[i] for i in keep)
    levels = [levels_all[i] for i in keep]
    if not text:
        return Line([], 0.0, logical)
    fonts = _assign_fonts(text, stack)
    # A mark or joiner belongs to its letter's run whatever level the algorithm gave it.
    spans: list[tuple[int, int, int, int]] = []
    start = 0
    for i in range(1, len(text) + 1):
        if i == len(text) or levels[i] != levels[start] or fonts[i] != fonts[start]:
            spans.append((start, i, levels[start], fonts[start]))
            start = i
    runs: list[tuple[str, str, float, float]] = []
    pieces: list[list[tuple[str, bool]]] = []
    total = 0.0
    for s, e, level, fi in _visual_runs(levels, spans):
        font = stack.fonts[fi]
        factor = stack.scale(fi)
        glyphs, advance = shape_run(font, text[s:e], level % 2 == 1, lang)
        if not glyphs:
            continue
        w = advance * size * factor / 1000.0
        if runs and runs[-1][0] == font and runs[-1][3] == factor and not isinstance(glyphs, ShapedStr) \
                and not isinstance(runs[-1][1], ShapedStr):
            prev = runs[-1]
            runs[-1] = (font, prev[1] + glyphs, prev[2] + w, factor)
            pieces[-1].append((text[s:e], level % 2 == 1))
        else:
            runs.append((font, glyphs, w, factor))
            pieces.append([(text[s:e], level % 2 == 1)])
        total += w
    return Line(runs, total, logical, pieces)


def _fast(text: str, style: TextStyle) -> bool:
    return style.stack.latin == 0 and _covered_chars(style.stack.fonts[0]).issuperset(text)


def _needs_shaping(text: str, style: TextStyle, rtl: bool) -> bool:
    return rtl or has_rtl(text) or not _fast(text, style)


def _plain_line(text: str, style: TextStyle, width: float | None = None) -> Line:
    font = style.stack.fonts[0]
    if width is None:
        width = text_width(text, font, style.size)
    return Line([(font, text, width, 1.0)], width, text)


def _word_width(word: str, style: TextStyle, shaping: bool, base_dir: str) -> float:
    if not shaping:
        return text_width(word, style.stack.fonts[0], style.size, True)
    return _layout_line(word, style.stack, style.size, style.lang, base_dir).width


def _break_long_word(word: str, style: TextStyle, shaping: bool, base_dir: str, max_width: float) -> list[str]:
    pieces: list[str] = []
    current = ""
    for ch in word:
        if current and _word_width(current + ch, style, shaping, base_dir) > max_width:
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
    base direction; LTR paragraphs that contain Arabic or Hebrew words are reordered too. Lines
    break only at ordinary spaces: no-break spaces (phone numbers, amounts, names the context
    marked) hold their words together; a word wider than the line is cut as a last resort.
    """
    lines: list[Line] = []
    base_dir = "R" if rtl else "L"
    for hard_line in keep_together(text).split("\n"):
        words = hard_line.split() if NBSP not in hard_line else [w for w in _BREAK_SPACES.split(hard_line.strip()) if w]
        if not words:
            lines.append(Line([], 0.0))
            continue
        shaping = _needs_shaping(hard_line, style, rtl)
        space = (_layout_line(" ", style.stack, style.size, style.lang, base_dir).width if shaping
                 else text_width(" ", style.stack.fonts[0], style.size, True))
        current: list[str] = []
        current_w = 0.0

        def finish(words_on_line: list[str], width: float) -> Line:
            joined = " ".join(words_on_line)
            if shaping:
                return _layout_line(joined, style.stack, style.size, style.lang, base_dir)
            return _plain_line(joined, style, width)

        for word in words:
            ww = _word_width(word, style, shaping, base_dir)
            pieces = _break_long_word(word, style, shaping, base_dir, max_width) if ww > max_width else [word]
            for piece in pieces:
                pw = ww if len(pieces) == 1 else _word_width(piece, style, shaping, base_dir)
                if current and current_w + space + pw > max_width:
                    lines.append(finish(current, current_w))
                    current, current_w = [piece], pw
                else:
                    current_w += (space if current else 0.0) + pw
                    current.append(piece)
        if current:
            lines.append(finish(current, current_w))
    return lines


def single_line(text: str, style: TextStyle, rtl: bool | None = None) -> Line:
    """Lay out a short string as one visual line (no wrapping).

    ``rtl=None`` lets the text's first strong character pick the direction, which suits address
    lines and names that may be in either script whatever the letter's language.
    """
    text = " ".join(text.split()) if NBSP not in text else " ".join(_BREAK_SPACES.split(text.strip()))
    if rtl is not True and not has_rtl(text) and _fast(text, style):
        return _plain_line(text, style)
    base_dir = detect_direction(text) if rtl is None else ("R" if rtl else "L")
    return _layout_line(text, style.stack, style.size, style.lang, base_dir)


def clear_caches() -> None:
    """Forget every cached measure, bidi level, shaped run and laid-out line (benchmarks start cold)."""
    _WIDTH_CACHE.clear()
    bidi_levels.cache_clear()
    shape_run.cache_clear()
    _layout_line.cache_clear()
