"""Lays out one letter (address window, date, body, closing, signature, QR, footer) and draws it.

Layout happens in two steps: ``compose()`` turns a ``LetterContent`` into pages of positioned
lines (so the page count is known before anything is drawn, for "Page 1 of 2"), and ``draw()``
puts those pages on a ReportLab canvas. Drawing uses one text object per page and sets the font
only when it changes, which keeps Latin letters close to the cost of bare ``drawString`` calls.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field

from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics

from .addressing import address_lines
from .l10n import format_letter_date, is_rtl, native_digits, page_label
from .layouts import Layout, get_layout
from .model import LetterContent
from .pdfstream import StreamingPdf
from . import qr as _qr
from .qr import draw_qr
from .textlayout import Line, TextStyle, has_rtl, ink_overhang, nobreak, single_line, wrap_text
from .typefaces import FontStack, base_language, handwriting_stack, register_fonts, stack_for_language

_PARAGRAPH_SPLIT = re.compile(r"\n[ \t\r\f\v]*\n")

# Type sizes and line pitches in points. Arabic-script faces have tall ascenders and deep
# descenders, so they get more leading than Noto Sans at a similar apparent size.
_BODY = {"latin": (10.5, 15.0), "ar": (12.0, 20.0), "fa": (11.0, 19.0)}
# Postal services ask for at least 8 pt in the address: the block wraps long lines inside the window
# rather than shrinking below that, and a letter whose address still cannot fit is taken out.
ADDRESS_SIZE, ADDRESS_LEADING, ADDRESS_MIN_SIZE = 10.0, 12.0, 8.0
RETURN_LINE_SIZE, RETURN_LINE_MIN_SIZE = 7.0, 5.0
LETTERHEAD_SIZE, LETTERHEAD_LEADING = 8.0, 10.0
FOOTER_SIZE = 7.5
SIGNATURE_SIZE = 26.0
SIGNATURE_SPACE_MM = 14.0     # room for the signature, drawn or written by hand
QR_SIZE_MM = 22.0
QR_URL_SIZE = 6.5
QR_URL_MAX_WIDTH_MM = 60.0


class AddressDoesNotFit(ValueError):
    """The recipient's address cannot be printed whole inside the envelope window at 8 pt or more."""


class LetterTooLong(ValueError):
    """The letter would run over its page limit (layout stops there, it does not lay out the rest)."""

    def __init__(self, max_pages: int):
        super().__init__(f"the letter runs over {max_pages} pages")
        self.max_pages = max_pages


@dataclass(slots=True)
class _Text:
    x: float          # left edge of the visual line, points
    y: float          # baseline, points from the page bottom
    size: float
    line: Line


@dataclass
class _Page:
    texts: list[_Text] = field(default_factory=list)
    qr: tuple[str, float, float, float] | None = None     # data, x, y, size (points)
    marks: bool = False


@dataclass
class ComposedLetter:
    """A letter laid out into pages, ready to draw."""

    layout: Layout
    rtl: bool
    pages: list[_Page]
    language: str
    digits: str
    reference: str
    styles: dict[str, TextStyle]
    recipient: str = ""
    date_text: str = ""
    address_printed: list[str] = field(default_factory=list)


class _Cursor:
    """Vertical position on the current page, in points from the top, with page breaking."""

    def __init__(self, composer: "_Composer", top: float):
        self.c = composer
        self.top = top

    @property
    def bottom_limit(self) -> float:
        """Lowest point body text may reach on any page."""
        return (self.c.layout.page_height - self.c.layout.margin_bottom) * mm

    def room(self) -> float:
        """Space left on the current page."""
        return self.bottom_limit - self.top

    def new_page(self) -> None:
        """Continue on a fresh page, at its top margin."""
        if self.c.max_pages is not None and len(self.c.pages) >= self.c.max_pages:
            raise LetterTooLong(self.c.max_pages)
        self.c.pages.append(_Page())
        self.top = self.c.layout.margin_top * mm


class _Composer:
    def __init__(self, content: LetterContent, max_pages: int | None = None):
        register_fonts()
        self.content = content
        self.max_pages = max_pages
        self.layout = get_layout(content.paper)
        self.rtl = is_rtl(content.language)
        lang = base_language(content.language)
        self.body_stack: FontStack = stack_for_language(lang)
        size, leading = _BODY.get(lang if lang in _BODY else "latin")
        self.lang = lang
        self.body = TextStyle(self.body_stack, size, leading, lang)
        self.small = TextStyle(self.body_stack, LETTERHEAD_SIZE, LETTERHEAD_LEADING, lang)
        self.footer = TextStyle(self.body_stack, FOOTER_SIZE, FOOTER_SIZE * 1.2, lang)
        self.date_text = format_letter_date(content.letter_date, content.locale or content.language,
                                            content.digits, content.calendar)
        # Every number in the letter in the template's digits (words holding Latin letters excepted).
        digits = content.digits
        self.body_source = native_digits(content.body, digits)
        self.closing_text = native_digits(content.closing, digits)
        self.signer_title = native_digits(content.signer_title, digits)
        self.address_printed: list[str] = []
        self.pages: list[_Page] = [_Page(marks=True)]
        lay = self.layout
        self.page_h = lay.page_height * mm
        self.left = lay.margin_left * mm
        self.right = (lay.page_width - lay.margin_right) * mm
        self.text_width = self.right - self.left

    # -- placement helpers -------------------------------------------------------------
    def _put(self, line: Line, size: float, baseline_from_top: float, *, align: str, edge: float,
             page: _Page | None = None) -> None:
        x = edge - line.width if align == "right" else edge
        (page or self.pages[-1]).texts.append(_Text(x, self.page_h - baseline_from_top, size, line))

    @property
    def start_align(self) -> str:
        """Where lines start: 'left' for LTR letters, 'right' for RTL ones."""
        return "right" if self.rtl else "left"

    @property
    def start_edge(self) -> float:
        """The margin lines start from, in points."""
        return self.right if self.rtl else self.left

    # -- page 1 furniture ----------------------------------------------------------------
    def letterhead(self) -> None:
        """Full return address, small, at the top of page 1."""
        lines = [ln for ln in self.content.return_address if ln and ln.strip()]
        top = self.layout.letterhead_top * mm
        # Mirrored: LTR letters carry the sender top right, RTL letters top left.
        align, edge = ("left", self.left) if self.rtl else ("right", self.right)
        for i, text in enumerate(lines):
            line = single_line(text, self.small)
            self._put(line, self.small.size, top + LETTERHEAD_SIZE + i * LETTERHEAD_LEADING,
                      align=align, edge=edge)

    def _window_edges(self) -> tuple[float, float]:
        lay = self.layout
        pad = lay.window_padding
        return (lay.window_left + pad) * mm, (lay.window_right - pad) * mm

    def return_line(self) -> None:
        """One-line return address at the top of the window field, shrunk to fit."""
        lines = [ln.strip() for ln in self.content.return_address if ln and ln.strip()]
        if not lines:
            return
        lay = self.layout
        inner_left, inner_right = self._window_edges()
        avail = inner_right - inner_left
        text = " · ".join(lines)
        size = RETURN_LINE_SIZE
        style = TextStyle(self.body_stack, size, size, self.lang)
        line = single_line(text, style)
        while line.width > avail and size > RETURN_LINE_MIN_SIZE:
            size = max(RETURN_LINE_MIN_SIZE, size - 0.5)
            style = TextStyle(self.body_stack, size, size, self.lang)
            line = single_line(text, style)
        while line.width > avail and " · " in text:
            text = text.rsplit(" · ", 1)[0]     # the street and town come first; drop the tail
            line = single_line(text, style)
        baseline = (lay.window_top + lay.return_line_height) * mm - 1.2 * mm
        self._put(line, size, baseline, align=self.start_align,
                  edge=inner_right if self.rtl else inner_left)

    def recipient(self) -> None:
        """Recipient block inside the window: 10 pt, down to 8 pt, long lines wrapped inside the window;
        AddressDoesNotFit when even that cannot hold it (never printed half hidden)."""
        c = self.content
        lay = self.layout
        texts = address_lines(c.recipient_name, c.address, c.sender_country)
        if any(has_rtl(t) for t in texts):
            # An address written in Arabic script takes the letter's digits (postal code included);
            # a Latin one stays as the destination's post writes it.
            texts = [native_digits(t, c.digits) for t in texts]
        inner_left, inner_right = self._window_edges()
        avail = inner_right - inner_left
        field_top = (lay.window_top + lay.return_line_height) * mm + 0.5 * mm
        bottom = lay.window_bottom * mm - 1.0 * mm
        size, leading = ADDRESS_SIZE, ADDRESS_LEADING
        while True:
            style = TextStyle(self.body_stack, size, leading, self.lang)
            lines: list[Line] = []
            printed: list[str] = []
            for text in texts:
                rtl = has_rtl(text)
                whole = single_line(text, style)
                wrapped = wrap_text(text, style, avail, rtl) if whole.width > avail else [whole]
                lines.extend(wrapped)
                printed.extend([text] if len(wrapped) == 1 else [ln.source for ln in wrapped])
            fits_across = max((ln.width for ln in lines), default=0.0) <= avail + 0.01
            if fits_across and field_top + len(lines) * leading <= bottom:
                break
            if size <= ADDRESS_MIN_SIZE:
                raise AddressDoesNotFit(
                    f"the address needs {len(lines)} lines at {ADDRESS_MIN_SIZE:g} pt and the envelope window "
                    f"holds {int((bottom - field_top) // leading)}")
            size = max(ADDRESS_MIN_SIZE, size - 0.5)
            leading = size * 1.2
        self.address_printed = texts if len(lines) == len(texts) else printed
        block = len(lines) * leading
        top = lay.recipient_top * mm
        if top + block > bottom:
            # Use the endorsement zone rather than spill below the window.
            top = max(field_top, bottom - block)
        for i, line in enumerate(lines):
            self._put(line, size, top + size + i * leading, align=self.start_align,
                      edge=inner_right if self.rtl else inner_left)

    def date(self) -> None:
        """Localized date: information column (LTR) or right margin (RTL)."""
        line = single_line(self.date_text, self.body, rtl=self.rtl)
        baseline = self.layout.date_top * mm + self.body.size
        if self.rtl:
            self._put(line, self.body.size, baseline, align="right", edge=self.right)
        else:
            self._put(line, self.body.size, baseline, align="left", edge=self.layout.info_left * mm)

    # -- flowing content -----------------------------------------------------------------
    def body_text(self, cur: _Cursor) -> None:
        """Paragraphs of the body, flowing over as many pages as needed."""
        style = self.body
        gap = style.leading * 0.5
        paragraphs = [p.strip("\n") for p in _PARAGRAPH_SPLIT.split(self.body_source.replace("\r\n", "\n"))]
        first = True
        for para in paragraphs:
            if not para.strip():
                continue
            lines = wrap_text(para, style, self.text_width, self.rtl)
            if not first:
                cur.top += gap
            first = False
            self._flow(lines, cur, style)

    def _flow(self, lines: list[Line], cur: _Cursor, style: TextStyle) -> None:
        leading = style.leading
        i, n = 0, len(lines)
        while i < n:
            fit = int(cur.room() // leading)
            remaining = n - i
            fresh_page = cur.top <= self.layout.margin_top * mm + 0.01
            if fit >= remaining:
                take = remaining
            elif fresh_page:
                take = max(1, fit)   # nothing better to do on an empty page; never loop forever
            elif fit <= 0 or (fit == 1 and remaining > 1):
                # No orphan: never leave a paragraph's first line alone at the page foot.
                cur.new_page()
                continue
            else:
                take = fit
                if remaining - take == 1 and take >= 2:
                    take -= 1   # no widow: carry two lines over, not one
            for line in lines[i:i + take]:
                self._put_flow(line, cur, style)
            i += take
            if i < n:
                cur.new_page()

    def _put_flow(self, line: Line, cur: _Cursor, style: TextStyle) -> None:
        if self.layout.text_off_folds:
            # The sheet is folded through every page: a line never straddles a fold.
            for fold in self.layout.fold_marks:
                f = fold * mm
                if cur.top - 0.5 * mm < f < cur.top + style.leading:
                    cur.top = f + 1.0 * mm
        baseline = cur.top + style.size
        if self.rtl:
            self._put(line, style.size, baseline, align="right", edge=self.right)
        else:
            self._put(line, style.size, baseline, align="left", edge=self.left)
        cur.top += style.leading

    def closing_block(self, cur: _Cursor) -> None:
        """Closing, signature, signer name and title, with the QR code beside them; kept together."""
        c = self.content
        body = self.body
        # (line, size, baseline below the item's top, advance), all in points.
        items: list[tuple[Line, float, float, float]] = []
        ink_shift, signature = 0.0, None
        if self.closing_text.strip():
            items.append((single_line(self.closing_text, body), body.size, body.size, body.leading))
        if c.signer_name.strip() or c.signer_title.strip():
            space = SIGNATURE_SPACE_MM * mm
            if c.handwriting_signature and c.signer_name.strip():
                arabic_script = has_rtl(c.signer_name)
                hw = TextStyle(handwriting_stack(arabic_script), SIGNATURE_SIZE * (0.8 if arabic_script else 1.0),
                               space, self.lang)
                # Drawn at the size it was measured at (an Arabic-script name is set smaller than a Latin one), and
                # aligned by its ink rather than its advance widths: swashes stay inside the margin, in line
                # with the typed name below.
                signature = single_line(c.signer_name, hw)
                items.append((signature, hw.size, space - 3.0 * mm, space))
                left, right = ink_overhang(signature, hw.size)
                ink_shift = -right if self.rtl else left
            else:
                items.append((Line([], 0.0), body.size, 0.0, space))   # left blank to sign by hand
            if c.signer_name.strip():
                items.append((single_line(c.signer_name, body), body.size, body.size, body.leading))
            if c.signer_title.strip():
                items.append((single_line(self.signer_title, self.small), self.small.size, self.small.size,
                              self.small.leading))
        qr_h = 0.0
        url_lines: list[Line] = []
        url_style = TextStyle(self.body_stack, QR_URL_SIZE, QR_URL_SIZE * 1.25, self.lang)
        if c.qr_url:
            _qr.qr_matrix(c.qr_url)   # a link too long for a code fails here, before anything is drawn
            url_lines = wrap_text(c.qr_url, url_style, QR_URL_MAX_WIDTH_MM * mm, rtl=False)
            qr_h = QR_SIZE_MM * mm + 1.5 * mm + len(url_lines) * url_style.leading
        if not items and not qr_h:
            return
        block_h = max(sum(item[3] for item in items) + body.leading * 0.5, qr_h)
        cur.top += body.leading
        if cur.room() < block_h:
            cur.new_page()
        top = cur.top
        for line, size, baseline, advance in items:
            if line.runs:
                shift = ink_shift if line is signature else 0.0
                self._put(line, size, cur.top + baseline, align=self.start_align, edge=self.start_edge + shift)
            cur.top += advance
        if c.qr_url:
            qr_size = QR_SIZE_MM * mm
            # The code goes to the side opposite the signature.
            qr_x = self.left if self.rtl else self.right - qr_size
            self.pages[-1].qr = (c.qr_url, qr_x, self.page_h - top - qr_size, qr_size)
            y = top + qr_size + 1.5 * mm
            for line in url_lines:
                y += QR_URL_SIZE
                if self.rtl:
                    self._put(line, QR_URL_SIZE, y, align="left", edge=self.left)
                else:
                    self._put(line, QR_URL_SIZE, y, align="right", edge=self.right)
                y += url_style.leading - QR_URL_SIZE
            cur.top = max(cur.top, top + qr_h)

    def compose(self) -> ComposedLetter:
        """Lay out the whole letter."""
        self.letterhead()
        self.return_line()
        self.recipient()
        self.date()
        cur = _Cursor(self, self.layout.body_top * mm)
        self.body_text(cur)
        self.closing_block(cur)
        return ComposedLetter(self.layout, self.rtl, self.pages, self.content.language,
                              self.content.digits, self.content.reference,
                              {"footer": self.footer, "header": self.small}, self.content.recipient_name,
                              self.date_text, self.address_printed)


def compose(content: LetterContent, max_pages: int | None = None) -> ComposedLetter:
    """Lay out a letter into pages without drawing it; LetterTooLong past ``max_pages``, QrTooLong for a
    link no QR code holds."""
    return _Composer(content, max_pages).compose()


def _draw_marks(canvas, layout: Layout) -> None:
    canvas.saveState()
    canvas.setLineWidth(0.3)
    canvas.setStrokeGray(0.45)
    h = layout.page_height * mm
    for pos in layout.fold_marks:
        canvas.line(4 * mm, h - pos * mm, 9 * mm, h - pos * mm)
    if layout.hole_mark is not None:
        canvas.line(4 * mm, h - layout.hole_mark * mm, 11 * mm, h - layout.hole_mark * mm)
    canvas.restoreState()


def _footer_texts(letter: ComposedLetter, page_no: int, total: int) -> list[_Text]:
    lay = letter.layout
    style = letter.styles["footer"]
    y = lay.footer_baseline_from_bottom * mm
    left, right = lay.margin_left * mm, (lay.page_width - lay.margin_right) * mm
    out = []
    if letter.reference:
        line = single_line(letter.reference, style)
        out.append(_Text(right - line.width if letter.rtl else left, y, style.size, line))
    if total > 1:
        line = single_line(page_label(page_no, total, letter.language, letter.digits), style, rtl=letter.rtl)
        out.append(_Text(left if letter.rtl else right - line.width, y, style.size, line))
    return out


def _header_texts(letter: ComposedLetter, page_no: int, total: int) -> list[_Text]:
    """Pages 2 and later: the recipient at the line's start, date and "page x of y" at its end."""
    lay = letter.layout
    style = letter.styles["header"]
    y = lay.page_height * mm - lay.continuation_header * mm
    left, right = lay.margin_left * mm, (lay.page_width - lay.margin_right) * mm
    name = single_line(letter.recipient, style)
    label = page_label(page_no, total, letter.language, letter.digits)
    # Two separate units: the date and the page label, never broken, in the letter's direction.
    tail = single_line(f"{nobreak(letter.date_text)} \u00b7 {nobreak(label)}", style, rtl=letter.rtl)
    if letter.rtl:
        return [_Text(right - name.width, y, style.size, name), _Text(left, y, style.size, tail)]
    return [_Text(left, y, style.size, name), _Text(right - tail.width, y, style.size, tail)]


# Small: what repeats (letterhead, closing, footer, a template's fixed lines) comes back within a few letters, and
# a 20,000-letter batch must not hold every line it printed.
_RUN_CACHE_LIMIT = 128


def _plain_ops(canvas, font_name: str, text: str) -> tuple[tuple[int, str, str], ...]:
    """The PDF operators of an unshaped run in a TrueType font: (subset, subset font name, "(...) Tj") per
    chunk, as ReportLab's documented way for dynamic fonts does it (``splitString`` +
    ``getSubsetInternalName``). Cached per document: letterhead, return line, closing, signer and footer
    repeat on every letter of a batch, and a chunk's subset codes never change within a document."""
    doc = canvas._doc
    cache = doc.__dict__.get("_letters_runs")
    if cache is None or len(cache) > _RUN_CACHE_LIMIT:
        cache = doc.__dict__["_letters_runs"] = {}
    key = (font_name, text)
    ops = cache.get(key)
    if ops is None:
        font = pdfmetrics.getFont(font_name)
        escape = canvas._escape
        ops = cache[key] = tuple((subset, font.getSubsetInternalName(subset, doc), f"({escape(chunk)}) Tj")
                                 for subset, chunk in font.splitString(text, doc))
    return ops


def draw(canvas, letter: ComposedLetter) -> int:
    """Draw a composed letter on the canvas, one ``showPage`` per page; returns the page count."""
    total = len(letter.pages)
    pagesize = letter.layout.pagesize
    for number, page in enumerate(letter.pages, start=1):
        canvas.setPageSize(pagesize)
        if page.marks:
            _draw_marks(canvas, letter.layout)
        if page.qr is not None:
            draw_qr(canvas, *page.qr)
        tx = canvas.beginText()
        # What textOut and setTextOrigin write, without their cost: every line is placed absolutely (Tm) and
        # each Tj advances the PDF's own text position, so ReportLab's cursor (re-measuring every string) is
        # never needed. Coordinates to 1/1000 pt. Shaped runs go through ReportLab's own _formatText (glyph
        # offsets, rise); plain ones through _plain_ops, keeping the text object's current subset in step.
        code, text_op = tx._code, tx._formatText
        current = None
        size_op = ""
        extra = _footer_texts(letter, number, total)
        if number > 1:
            extra += _header_texts(letter, number, total)
        for item in page.texts + extra:
            runs = item.line.runs
            if not runs:
                continue
            code.append(f"1 0 0 1 {item.x:.3f} {item.y:.3f} Tm")
            for font, text, _w, factor in runs:
                key = (font, item.size * factor)
                if key != current:
                    tx.setFont(font, key[1])
                    current = key
                    size_op = f" {key[1]:g} Tf"
                elif type(text) is not str and text.__shapeData__[0].y_offset:
                    # ReportLab 4.4 fails (IndexError in setRise) on a shaped run whose first glyph is raised
                    # unless it writes the font operator first: make it do so.
                    tx._curSubset = -1
                if type(text) is not str:
                    code.append(text_op(text))
                    continue
                for subset, name, op in _plain_ops(canvas, font, text):
                    if subset != tx._curSubset:
                        code.append(name + size_op)
                        tx._curSubset = subset
                    code.append(op)
        canvas.drawText(tx)
        canvas.showPage()
    return total


def render_letter(content: LetterContent, max_pages: int | None = None) -> bytes:
    """Render one letter to PDF bytes (preview, reprint)."""
    composed = compose(content, max_pages)
    out = io.BytesIO()
    pdf = StreamingPdf(out, composed.layout.pagesize, title=content.reference or "Letter")
    draw(pdf.canvas, composed)
    pdf.close()
    return out.getvalue()
