"""The "bare ReportLab" baseline of bench/print_letters.py: the same pages, drawn with a plain Canvas.

Everything text-related is prepared before the clock starts (``prepare_latin`` / ``prepare_rtl``), from
the very ``LetterContent`` objects the app renders from its templates:

* Latin letters keep their texts as strings; the timed loop wraps the body with ReportLab's own
  ``simpleSplit`` and draws every line with ``drawString`` / ``drawRightString`` (address window,
  letterhead, date, body, closing, handwriting signature in Kristi, QR code, reference footer).
* Right-to-left letters are drawn from pre-ordered runs of logical text (taken from the letter
  generator's own layout, outside the clock: the baseline pays no bidi or font-fallback cost), and
  each run is shaped with HarfBuzz inside the timed loop by ReportLab's own shaping support
  (``reportlab.pdfbase.ttfonts.shapeStr``, uharfbuzz), as any ReportLab program setting Arabic
  properly must: one ``drawString`` per shaped run at its precomputed x.

QR codes (the thank-you letter's) are encoded before the clock too, with the same ``qrcode`` call the
generator makes, and drawn in the timed loop as the same filled path of module rectangles; with
``--bare-encodes-qr`` the baseline encodes them inside its loop instead.

The fonts are the same TTF files registered once under their own names (``Bare*``), so the baseline
subsets and embeds exactly like the app does, without sharing any state with it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont, shapeStr
from reportlab.pdfgen.canvas import Canvas

from letters.typefaces import FONT_DIR, FONT_FILES

BARE = {name: "Bare" + name[3:] for name in FONT_FILES}       # LtrNotoSans -> BareNotoSans
SANS, KRISTI = BARE["LtrNotoSans"], BARE["LtrKristi"]
_PARAGRAPH_SPLIT = re.compile(r"\n[ \t\r\f\v]*\n")
_registered = False


def register_bare_fonts() -> None:
    global _registered
    if _registered:
        return
    for app_name, filename in FONT_FILES.items():
        pdfmetrics.registerFont(TTFont(BARE[app_name], str(FONT_DIR / filename)))
    _registered = True


QR_SECONDS = [0.0]     # time the baseline spent encoding QR codes inside its timed loop
# Like shaping, encoding a QR code is preparing content, not drawing it: by default the baseline's codes
# are encoded before the clock starts (the generator's own encoding time is reported beside the ratio).
# bench/print_letters.py --bare-encodes-qr sets this, and the baseline then encodes each code in its loop.
ENCODE_IN_CLOCK = [False]


def encode_qr(data: str) -> list[list[bool]]:
    """The module matrix with the same `qrcode` call the generator makes (uncached: every URL differs)."""
    import time

    import qrcode
    from qrcode.constants import ERROR_CORRECT_M

    t0 = time.perf_counter()
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=0)
    code.add_data(data)
    code.make(fit=True)
    matrix = code.get_matrix()
    QR_SECONDS[0] += time.perf_counter() - t0
    return matrix


def _prepared_qr(data: str | None):
    return encode_qr(data) if data and not ENCODE_IN_CLOCK[0] else None


def _draw_qr(c: Canvas, data: str, matrix, x: float, y: float, size: float) -> None:
    """Dark-module runs as rectangles of one filled path (as the generator draws them)."""
    if matrix is None:
        matrix = encode_qr(data)
    n = len(matrix)
    module = size / n
    path = c.beginPath()
    for r, row in enumerate(matrix):
        top = y + size - r * module
        col = 0
        while col < n:
            if row[col]:
                start = col
                while col < n and row[col]:
                    col += 1
                path.rect(x + start * module, top - module, (col - start) * module, module)
            else:
                col += 1
    c.saveState()
    c.setFillColorRGB(0, 0, 0)
    c.drawPath(path, stroke=0, fill=1)
    c.restoreState()


# --- Latin: strings, wrapped in the timed loop -------------------------------------------------

@dataclass
class LatinLetter:
    layout: object
    return_address: list[str]
    return_line: str
    address: list[str]
    date: str
    paragraphs: list[str]
    closing: str
    signer_name: str
    signer_title: str
    handwriting: bool
    qr_url: str | None
    qr_matrix: list | None
    reference: str


def prepare_latin(content) -> LatinLetter:
    """Strings of one letter (the app's own address formatting and date, computed here, not timed)."""
    from letters.addressing import address_lines
    from letters.l10n import format_letter_date
    from letters.layouts import get_layout

    lines = [ln.strip() for ln in content.return_address if ln and ln.strip()]
    return LatinLetter(
        layout=get_layout(content.paper), return_address=lines, return_line=" · ".join(lines),
        address=address_lines(content.recipient_name, content.address, content.sender_country),
        date=format_letter_date(content.letter_date, content.locale or content.language, content.digits),
        paragraphs=[p.strip("\n") for p in _PARAGRAPH_SPLIT.split(content.body) if p.strip()],
        closing=content.closing, signer_name=content.signer_name, signer_title=content.signer_title,
        handwriting=content.handwriting_signature, qr_url=content.qr_url,
        qr_matrix=_prepared_qr(content.qr_url), reference=content.reference)


def _marks(c: Canvas, lay, h: float) -> None:
    c.saveState()
    c.setLineWidth(0.3)
    c.setStrokeGray(0.45)
    for pos in lay.fold_marks:
        c.line(4 * mm, h - pos * mm, 9 * mm, h - pos * mm)
    if lay.hole_mark is not None:
        c.line(4 * mm, h - lay.hole_mark * mm, 11 * mm, h - lay.hole_mark * mm)
    c.restoreState()


def draw_latin(c: Canvas, L: LatinLetter) -> None:
    lay = L.layout
    w, h = lay.pagesize
    c.setPageSize((w, h))
    _marks(c, lay, h)
    left, right = lay.margin_left * mm, (lay.page_width - lay.margin_right) * mm
    c.setFont(SANS, 8)
    top = lay.letterhead_top * mm
    for i, text in enumerate(L.return_address):
        c.drawRightString(right, h - (top + 8 + i * 10), text)
    win_left = (lay.window_left + lay.window_padding) * mm
    c.setFont(SANS, 7)
    c.drawString(win_left, h - ((lay.window_top + lay.return_line_height) * mm - 1.2 * mm), L.return_line)
    c.setFont(SANS, 10)
    top = lay.recipient_top * mm
    for i, text in enumerate(L.address):
        c.drawString(win_left, h - (top + 10 + i * 12), text)
    c.setFont(SANS, 10.5)
    c.drawString(lay.info_left * mm, h - (lay.date_top * mm + 10.5), L.date)
    y = h - lay.body_top * mm
    width = right - left
    for para in L.paragraphs:
        for line in simpleSplit(para, SANS, 10.5, width):
            c.drawString(left, y - 10.5, line)
            y -= 15.0
        y -= 7.5
    y -= 15.0
    block_top = y
    if L.closing:
        c.drawString(left, y - 10.5, L.closing)
        y -= 15.0
    if L.signer_name:
        if L.handwriting:
            c.setFont(KRISTI, 26)
            c.drawString(left, y - 11 * mm, L.signer_name)
            c.setFont(SANS, 10.5)
        y -= 14 * mm
        c.drawString(left, y - 10.5, L.signer_name)
        y -= 15.0
    if L.signer_title:
        c.setFont(SANS, 8)
        c.drawString(left, y - 8, L.signer_title)
    if L.qr_url:
        size = 22 * mm
        _draw_qr(c, L.qr_url, L.qr_matrix, right - size, block_top - size, size)
        c.setFont(SANS, 6.5)
        c.drawRightString(right, block_top - size - 1.5 * mm - 6.5, L.qr_url)
    if L.reference:
        c.setFont(SANS, 7.5)
        c.drawString(left, lay.footer_baseline_from_bottom * mm, L.reference)
    c.showPage()


# --- RTL: pre-shaped visual runs at precomputed positions ---------------------------------------

@dataclass
class RtlPage:
    pagesize: tuple[float, float]
    layout: object | None                       # for the fold and hole marks (page 1)
    qr: tuple | None                            # data, matrix (None: encode when drawn), x, y, size
    texts: list[tuple[float, float, list[tuple[str, float, list[tuple[str, bool]] | str, float]]]]  # x, y, runs


def prepare_rtl(content) -> list[RtlPage]:
    """Visual lines of one letter from the generator's layout (shaping/bidi done here, not timed)."""
    from letters.render import _footer_texts, compose

    composed = compose(content)
    total = len(composed.pages)
    pages = []
    for number, page in enumerate(composed.pages, start=1):
        texts = []
        for item in page.texts + _footer_texts(composed, number, total):
            pieces = item.line.pieces
            runs = [(BARE[font], item.size * factor, pieces[i] if pieces else text, w)
                    for i, (font, text, w, factor) in enumerate(item.line.runs)]
            if runs:
                texts.append((item.x, item.y, runs))
        qr = None if page.qr is None else (page.qr[0], _prepared_qr(page.qr[0]), *page.qr[1:])
        pages.append(RtlPage(composed.layout.pagesize, composed.layout if page.marks else None, qr, texts))
    return pages


def draw_rtl(c: Canvas, pages: list[RtlPage]) -> None:
    for page in pages:
        c.setPageSize(page.pagesize)
        if page.layout is not None:
            _marks(c, page.layout, page.pagesize[1])
        if page.qr is not None:
            _draw_qr(c, *page.qr)
        current = None
        for x, y, runs in page.texts:
            for font, size, text, w in runs:
                if (font, size) != current:
                    c.setFont(font, size)
                    current = (font, size)
                if isinstance(text, str):
                    c.drawString(x, y, text)
                else:
                    # HarfBuzz shaping of each logical piece (right-to-left ones come out in visual order).
                    shaped = [shapeStr(piece, font, size) for piece, _rtl in text]
                    for glyphs in shaped:
                        c.drawString(x, y, glyphs)
                x += w
        c.showPage()


def write_bare(path: str, items: list, rtl: bool) -> int:
    """Draw every letter, one after the other, and save; returns the page count."""
    from reportlab.lib.pagesizes import A4

    c = Canvas(path, pagesize=A4, initialFontName=SANS, pageCompression=1)
    draw = draw_rtl if rtl else draw_latin
    for item in items:
        draw(c, item)
    pages = c.getPageNumber() - 1
    c.save()
    return pages
