"""Page geometry per paper size, in millimetres measured from the page's top-left corner.

A mail room that finds the address slipping out of its envelope window adjusts the numbers
here (or replaces an entry of ``LAYOUTS`` at start-up) and nothing else.

A4 follows DIN 5008 form B for DL / C5-6 / C5 window envelopes: the address field is 85 x 45 mm,
20 mm from the left edge and 45 mm from the top; its first 5 mm hold the small return-address
line, the next 12.7 mm are the endorsement zone, and the recipient's (up to six) lines start
62.7 mm from the top. The sheet is folded at 105 mm and 210 mm (fold marks) and punched at
148.5 mm (hole mark).

US Letter targets a standard #10 window envelope (9.5 x 4.125 in; window 4.5 x 1.125 in,
7/8 in from the left and 1/2 in from the bottom of the envelope). A letter tri-folded at
11/3 in and resting in the bottom of the envelope shows the band 2.04 to 3.17 in from the top
of the sheet through the window, hence an address field 1.125 in tall at 2.0 in from the top.
Horizontally the field runs from 7/8 in to 4.5 in, and text starts 1/8 in inside it (1 in from
the left edge, in line with the body margin); the 8.5 in sheet has up to 1 in of play in the
9.5 in envelope, and a centred sheet still shows that whole text column through the window.
"""

from __future__ import annotations

from dataclasses import dataclass

from reportlab.lib.units import mm

INCH_MM = 25.4


@dataclass(frozen=True)
class Layout:
    """Positions for one paper size; every length is in millimetres."""

    name: str
    page_width: float
    page_height: float
    # Body text margins (continuation pages start at margin_top).
    margin_left: float
    margin_right: float
    margin_top: float
    margin_bottom: float
    # Letterhead: the full return address, small, at the top of page 1.
    letterhead_top: float
    # Address field as the envelope window shows it.
    window_left: float
    window_top: float
    window_width: float
    window_height: float
    # Text inside the field starts this far in from its left/right edge.
    window_padding: float
    # Height of the strip at the top of the field that holds the one-line return address.
    return_line_height: float
    # Where the recipient's first line starts (top of the text line).
    recipient_top: float
    # Date: left edge of the information column (LTR letters) and top of the date line.
    info_left: float
    date_top: float
    # Body text starts here on page 1.
    body_top: float
    # Footer baseline (page number, reference), measured from the page bottom.
    footer_baseline_from_bottom: float
    fold_marks: tuple[float, ...] = ()
    hole_mark: float | None = None
    # Body lines are moved off the fold lines (US Letter: the tri-fold runs through the body).
    text_off_folds: bool = False
    # Baseline of the header of pages 2 and later, from the page top.
    continuation_header: float = 15.0

    @property
    def pagesize(self) -> tuple[float, float]:
        """Page size in PDF points, as ReportLab wants it."""
        return (self.page_width * mm, self.page_height * mm)

    @property
    def window_right(self) -> float:
        """Right edge of the address field in mm from the left edge."""
        return self.window_left + self.window_width

    @property
    def window_bottom(self) -> float:
        """Bottom edge of the address field in mm from the top edge."""
        return self.window_top + self.window_height


A4 = Layout(
    name="A4",
    page_width=210.0,
    page_height=297.0,
    margin_left=25.0,
    margin_right=20.0,
    margin_top=25.0,
    margin_bottom=25.0,
    letterhead_top=15.0,
    window_left=20.0,
    window_top=45.0,
    window_width=85.0,
    window_height=45.0,
    window_padding=5.0,
    return_line_height=5.0,
    recipient_top=62.7,
    info_left=125.0,
    date_top=50.0,
    body_top=98.5,
    footer_baseline_from_bottom=12.0,
    fold_marks=(105.0, 210.0),
    hole_mark=148.5,
)

LETTER = Layout(
    name="LETTER",
    page_width=8.5 * INCH_MM,
    page_height=11.0 * INCH_MM,
    margin_left=1.0 * INCH_MM,
    margin_right=1.0 * INCH_MM,
    margin_top=1.0 * INCH_MM,
    margin_bottom=1.0 * INCH_MM,
    letterhead_top=0.5 * INCH_MM,
    window_left=0.875 * INCH_MM,
    window_top=2.0 * INCH_MM,
    window_width=3.625 * INCH_MM,
    window_height=1.125 * INCH_MM,
    window_padding=0.125 * INCH_MM,
    # The return line's cap height starts 2.5 mm below the window's top edge (sheet play).
    return_line_height=6.5,
    recipient_top=2.0 * INCH_MM + 7.5,
    info_left=5.0 * INCH_MM,
    # Below the window's band, so a sheet sliding in the envelope never shows the date.
    date_top=3.125 * INCH_MM + 4.0,
    # The first fold is at 93.1 mm: the body starts below it, clear of its descenders.
    body_top=3.75 * INCH_MM,
    footer_baseline_from_bottom=0.5 * INCH_MM,
    fold_marks=(11.0 / 3 * INCH_MM, 22.0 / 3 * INCH_MM),
    hole_mark=None,
    text_off_folds=True,
    continuation_header=0.6 * INCH_MM,
)

LAYOUTS: dict[str, Layout] = {"A4": A4, "LETTER": LETTER}


# Senders whose printers and post rooms hold US Letter and #10 envelopes; everyone else A4 and DL/C5.
LETTER_PAPER_COUNTRIES = frozenset({"US", "CA", "MX", "PH", "CL", "CO", "VE", "GT", "CR", "PA", "DO", "PR", "SV",
                                    "NI", "HN", "BZ"})


def default_paper(sender_country: str) -> str:
    """The paper a sender's printer holds by default: LETTER (+ #10 window envelopes) in North America,
    A4 (+ DL/C5 window envelopes) in Europe, the Middle East and elsewhere. The paper is the sender's,
    never the recipient's: a letter from London to New York prints on A4."""
    return "LETTER" if (sender_country or "").strip().upper() in LETTER_PAPER_COUNTRIES else "A4"


def get_layout(paper: str) -> Layout:
    """The layout for a paper name ('A4', 'LETTER', case-insensitive; 'US_LETTER' accepted)."""
    key = (paper or "A4").strip().upper().replace("US_", "").replace("US-", "")
    try:
        return LAYOUTS[key]
    except KeyError:
        raise ValueError(f"unknown paper size {paper!r}; known: {', '.join(LAYOUTS)}") from None
