"""The "bare ReportLab" baseline of bench/letters.py: the same pages, drawn with a plain Canvas.

Everything text-related is prepared before the clock starts (``prepare_latin`` / ``prepare_rtl``), from
the very ``LetterContent`` objects the app renders from its templates:

* Latin letters keep their texts as strings; the timed loop wraps the body with ReportLab's own
  ``simpleSplit`` and draws every line with ``drawString`` / ``drawRightString`` (address window,
  letterhead, date, body, closing, handwriting signature in Kristi, QR code, reference footer).
* Right-to-left letters are drawn from pre-shaped, pre-ordered visual runs (taken from the letter
  generator's own layout, outside the clock), so the baseline pays no shaping, bidi or fallback
  cost: one ``drawString`` per same-font run at its precomputed x.

The fonts are the same TTF files registered once under their own names (``Bare*``), so the baseline
subsets and embeds exactly like the app does, without sharing any state with it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
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


QR_SECONDS = [0.0]     # time the baseline spent encoding QR codes (inside its timed loop)


def _qr_rects(data: str, x: float, y: float, size: float) -> list[tuple[float, float, float, float]]:
    """Encode the code (the same `qrcode` call the generator makes, uncached: every letter's URL differs)
    and return its dark-module runs as rectangles. Part of the timed loop: a page with a QR code cannot
    be drawn without encoding it."""
    import time

    import qrcode
    from qrcode.constants import ERROR_CORRECT_M

    t0 = time.perf_counter()
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=0)
    code.add_data(data)
    code.make(fit=True)
    matrix = code.get_matrix()
    QR_SECONDS[0] += time.perf_counter() - t0
    n = len(matrix)
    module = size / n
    rects = []
    for r, row in enumerate(matrix):
        top = y + size - r * module
        c = 0
        while c < n:
            if row[c]:
                start = c
                while c < n and row[c]:
                    c += 1
                rects.append((x + start * module, top - module, (c - start) * module, module))
            else:
                c += 1
    return rects


def _draw_qr(c: Canvas, data: str, x: float, y: float, size: float) -> None:
    path = c.beginPath()
    for rect in _qr_rects(data, x, y, size):
        path.rect(*rect)
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
    reference: str


def prepare_latin(content) -> LatinLetter:
    """Strings of one letter (the app's own address formatting and date, computed here, not timed)."""
    from letters.addressing import address_lines
    from letters.l10n import format_letter_date
    from letters.layouts import get_layout

    lines = [ln.strip() for ln in content.return_address if ln and ln.strip()]
    return LatinLetter(
        layout=get_layout(content.paper), return_address=lines, return_line=" · ".join(lines),
        address=address_lines(content.recipient_name, content.address),
        date=format_letter_date(content.letter_date, content.language, content.digits),
        paragraphs=[p.strip("\n") for p in _PARAGRAPH_SPLIT.split(content.body) if p.strip()],
        closing=content.closing, signer_name=content.signer_name, signer_title=content.signer_title,
        handwriting=content.handwriting_signature, qr_url=content.qr_url, reference=content.reference)


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
        _draw_qr(c, L.qr_url, right - size, block_top - size, size)
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
    qr: tuple | None
    texts: list[tuple[float, float, list[tuple[str, float, str, float]]]]   # x, y, runs


def prepare_rtl(content) -> list[RtlPage]:
    """Visual lines of one letter from the generator's layout (shaping/bidi done here, not timed)."""
    from letters.render import _footer_texts, compose

    composed = compose(content)
    total = len(composed.pages)
    pages = []
    for number, page in enumerate(composed.pages, start=1):
        texts = []
        for item in page.texts + _footer_texts(composed, number, total):
            runs = [(BARE[font], item.size * factor, text, w) for font, text, w, factor in item.line.runs]
            if runs:
                texts.append((item.x, item.y, runs))
        qr = page.qr          # (data, x, y, size): encoded in the timed loop
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
                c.drawString(x, y, text)
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
