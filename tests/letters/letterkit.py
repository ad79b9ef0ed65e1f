"""Shared builders and PDF-reading helpers for the letter tests (no fixtures: runs with --noconftest)."""

from __future__ import annotations

import datetime
import io
import sys
import unicodedata
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pdfplumber  # noqa: E402

from letters import Address, LetterContent  # noqa: E402

MM = 72 / 25.4

EN_RETURN = ["Acme Shop GmbH", "Hauptstraße 5", "10115 Berlin", "Germany"]
AR_RETURN = ["متجر أكمي", "شارع الملك فهد", "الرياض"]
FA_RETURN = ["فروشگاه آکمه", "خیابان انقلاب", "تهران"]

US_ADDRESS = Address(["1600 Amphitheatre Pkwy"], "Mountain View", "CA", "94043", "US")
DE_ADDRESS = Address(["Invalidenstraße 117"], "Berlin", "", "10115", "DE")

AR_BODY = (
    "شكرًا لشرائك iPhone 15 Pro رقم الطلب 12345. نتمنى أن ينال المنتج إعجابك وأن تستمتع "
    "باستخدامه كل يوم، ونحن هنا لمساعدتك في أي وقت تحتاج فيه إلى دعم أو نصيحة حول جهازك الجديد.\n\n"
    "كَتَبَ الطالبُ الدرسَ بِعنايةٍ."
)
FA_BODY = (
    "پژوهش ما نشان می‌دهد که گفتگو با مشتریان چگونه کیفیت خدمات را بهتر می‌کند و ژرفای رضایت "
    "آن‌ها را افزایش می‌دهد؛ سفارش شماره 4567 برای Galaxy S24 ارسال شد و به زودی به دست شما می‌رسد."
)


def english(**kw) -> LetterContent:
    """A one-page English letter to a US address; keywords override fields."""
    base = dict(
        language="en", paper="A4", recipient_name="Jane Doe", address=US_ADDRESS,
        return_address=EN_RETURN, letter_date=datetime.date(2024, 3, 15),
        body="Dear Jane,\n\nThank you for your order of the iPhone 15 Pro.\n\nWe hope you enjoy it.",
        closing="Warm regards,", signer_name="Max Mustermann", signer_title="Owner",
        reference="L-000123",
    )
    base.update(kw)
    return LetterContent(**base)


def arabic(**kw) -> LetterContent:
    """A one-page Arabic letter to Dubai; keywords override fields."""
    base = dict(
        language="ar", paper="A4", recipient_name="محمد أحمد",
        address=Address(["شارع الشيخ زايد 1"], "دبي", "", "", "AE"),
        return_address=AR_RETURN, letter_date=datetime.date(2024, 3, 15), body=AR_BODY,
        closing="مع أطيب التحيات،", signer_name="Max Mustermann", signer_title="المدير",
        reference="L-000200",
    )
    base.update(kw)
    return LetterContent(**base)


def persian(**kw) -> LetterContent:
    """A one-page Persian letter to Tehran; keywords override fields."""
    base = dict(
        language="fa", paper="A4", recipient_name="علی رضایی",
        address=Address(["خیابان ولیعصر، پلاک 12"], "تهران", "تهران", "1234567890", "IR"),
        return_address=FA_RETURN, letter_date=datetime.date(2024, 3, 15), body=FA_BODY,
        closing="با احترام،", signer_name="مریم کریمی", signer_title="مدیر فروش",
        reference="L-000300",
    )
    base.update(kw)
    return LetterContent(**base)


def long_body(paragraphs: int, sentence: str = "This paragraph keeps the letter going for a while. ") -> str:
    """A body long enough to need more pages."""
    return "\n\n".join([sentence * 10] * paragraphs)


def open_pdf(data: bytes | str | Path) -> pdfplumber.PDF:
    """Open PDF bytes or a path with pdfplumber."""
    if isinstance(data, (bytes, bytearray)):
        return pdfplumber.open(io.BytesIO(data))
    return pdfplumber.open(str(data))


@dataclass
class Word:
    """A visual word: its glyphs as extracted left to right, and its box (points, top-down)."""

    text: str
    x0: float
    x1: float
    top: float
    bottom: float

    @property
    def logical(self) -> str:
        """The word as it is typed: visual RTL glyphs reversed, presentation forms undone."""
        return unicodedata.normalize("NFKC", self.text[::-1])


@dataclass
class VisualLine:
    """Glyphs sharing a baseline, split into words at spaces."""

    baseline: float
    words: list[Word]

    @property
    def text(self) -> str:
        """The line's visual words joined by spaces."""
        return " ".join(w.text for w in self.words)

    @property
    def x0(self) -> float:
        """Left edge of the line."""
        return min(w.x0 for w in self.words)

    @property
    def x1(self) -> float:
        """Right edge of the line."""
        return max(w.x1 for w in self.words)


def _is_mark(ch: dict) -> bool:
    return unicodedata.category(ch["text"][:1] or " ") in ("Mn", "Me")


def _with_marks_on_their_letters(chars: list[dict]) -> list[dict]:
    """Chars left to right, each combining mark (drawn inside its letter, where the font's mark
    positioning put it) moved next to that letter: before an Arabic letter in visual order, so that
    reading right to left meets the letter first and then its mark, as typed."""
    bases = [c for c in chars if not _is_mark(c)]
    out = list(bases)
    for mark in (c for c in chars if _is_mark(c)):
        centre = (mark["x0"] + mark["x1"]) / 2
        base = min(bases, key=lambda c: 0 if c["x0"] - 0.2 <= centre <= c["x1"] + 0.2
                   else min(abs(c["x0"] - centre), abs(c["x1"] - centre)), default=None)
        if base is None:
            out.append(mark)
            continue
        i = next(k for k, c in enumerate(out) if c is base)
        arabic = "\u0600" <= unicodedata.normalize("NFKC", base["text"])[:1] <= "\u06ff"
        out.insert(i if arabic else i + 1, mark)
    return out


def visual_lines(page, top: float = 0, bottom: float | None = None, left: float = 0,
                 right: float | None = None) -> list[VisualLine]:
    """Lines of text in a region, top to bottom, each with its words left to right.

    Grouped by the drawn baseline, not by glyph boxes: Latin and Arabic fonts on the same line
    have different descents.
    """
    bottom = page.height if bottom is None else bottom
    right = page.width if right is None else right
    groups: dict[float, list[tuple[int, dict]]] = {}
    for i, ch in enumerate(page.chars):
        baseline = round(page.height - ch["matrix"][5], 1)
        if not (top <= baseline <= bottom and left <= ch["x0"] <= right):
            continue
        key = next((k for k in groups if abs(k - baseline) < 1.0), baseline)
        groups.setdefault(key, []).append((i, ch))
    lines = []
    for baseline in sorted(groups):
        chars = _with_marks_on_their_letters(
            [c for _, c in sorted(groups[baseline], key=lambda t: (round(t[1]["x0"], 2), t[0]))])
        words: list[Word] = []
        cur: list[dict] = []
        for ch in chars + [None]:
            # Separately placed texts on one baseline (footer reference and page label) have
            # no space glyph between them, only a gap. A mark (zero width) sits inside its letter,
            # so the gap is measured from the rightmost edge so far.
            if cur and ch is not None and ch["x0"] - max(c["x1"] for c in cur) > 3.0:
                words.append(Word("".join(c["text"] for c in cur), min(c["x0"] for c in cur),
                                  max(c["x1"] for c in cur), min(c["top"] for c in cur),
                                  max(c["bottom"] for c in cur)))
                cur = []
            if ch is None or ch["text"].isspace():
                if cur:
                    words.append(Word("".join(c["text"] for c in cur), min(c["x0"] for c in cur),
                                      max(c["x1"] for c in cur), min(c["top"] for c in cur),
                                      max(c["bottom"] for c in cur)))
                cur = []
            else:
                cur.append(ch)
        if words:
            lines.append(VisualLine(baseline, words))
    return lines


def page_text(page) -> str:
    """All text of a page as pdfplumber extracts it."""
    return page.extract_text() or ""
