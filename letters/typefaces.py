"""Bundled TrueType fonts: registered with ReportLab once per process, grouped into fallback stacks.

ReportLab's TTFont embeds only a subset of each font (the glyphs actually drawn), so the bundled
files can be complete. A stack lists fonts in order of preference for Arabic-script characters and
names its Latin face: one typographic voice per letter. Arabic letters set Latin words, European
digits and Latin punctuation in Noto Serif (designed to sit with Noto Naskh Arabic) at a size
matching the Arabic; Persian letters use Vazirmatn, whose Latin is its own; Latin letters use
Noto Sans with Noto Naskh for Arabic-script names. The Arabic-script signature is written in
Aref Ruqaa (the everyday handwriting style of the Arabic script; it has the Persian letters too).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

FONT_DIR = Path(__file__).resolve().parent / "fonts"

# ReportLab name -> file in FONT_DIR.
FONT_FILES: dict[str, str] = {
    "LtrNotoSans": "NotoSans-Regular.ttf",
    "LtrNotoNaskhArabic": "NotoNaskhArabic-Regular.ttf",
    "LtrVazirmatn": "Vazirmatn-Regular.ttf",
    "LtrKristi": "Kristi.ttf",
    "LtrNotoSerif": "NotoSerif-Regular.ttf",
    "LtrArefRuqaa": "ArefRuqaa-Regular.ttf",
}

SANS = "LtrNotoSans"
NASKH = "LtrNotoNaskhArabic"
VAZIR = "LtrVazirmatn"
HANDWRITING = "LtrKristi"
SERIF = "LtrNotoSerif"
RUQAA = "LtrArefRuqaa"

_lock = threading.Lock()
_registered = False
_coverage: dict[str, frozenset[int]] = {}


@dataclass(frozen=True)
class FontStack:
    """Fonts tried in order for each character; ``fonts[0]`` is the stack's main face."""

    key: str
    fonts: tuple[str, ...]
    # Size factor per font, so a fallback face matches the main face's apparent size.
    scales: tuple[float, ...] = ()
    # Index of the face for Latin letters, European digits and the punctuation around them.
    latin: int = 0

    def scale(self, index: int) -> float:
        """Size factor for ``fonts[index]``."""
        return self.scales[index] if index < len(self.scales) else 1.0

    @property
    def primary(self) -> str:
        """The main font of the stack."""
        return self.fonts[0]


def register_fonts() -> None:
    """Register every bundled font with ReportLab (idempotent, thread-safe, cheap after the first call)."""
    global _registered
    if _registered:
        return
    with _lock:
        if _registered:
            return
        for name, filename in FONT_FILES.items():
            font = TTFont(name, str(FONT_DIR / filename))
            pdfmetrics.registerFont(font)
            _coverage[name] = frozenset(font.face.charToGlyph)
        _registered = True


def coverage(font_name: str) -> frozenset[int]:
    """Code points the font has a glyph for."""
    register_fonts()
    return _coverage[font_name]


# Noto Sans looks a size larger than Noto Naskh at the same point size; Noto Serif's capitals at
# 0.9 stand a little below Naskh's alef (643 against 671 thousandths), as Latin caps sit beside
# Arabic. Kristi is drawn large, so its fallbacks are drawn smaller.
_STACKS = {
    "latin": FontStack("latin", (SANS, NASKH), (1.0, 1.1)),
    "ar": FontStack("ar", (NASKH, SERIF, SANS), (1.0, 0.9, 0.85), latin=1),
    "fa": FontStack("fa", (VAZIR, NASKH, SANS)),
    "handwriting": FontStack("handwriting", (HANDWRITING, SANS, NASKH), (1.0, 0.6, 0.65)),
    "handwriting_arabic": FontStack("handwriting_arabic", (RUQAA, NASKH, SERIF, SANS), (1.0, 0.8, 0.7, 0.65),
                                    latin=2),
}


def has_own_stack(language: str) -> bool:
    """True when the language has bundled fonts of its own (Arabic, Persian), not the Latin fallback."""
    return base_language(language) in _STACKS


def stack_for_language(language: str) -> FontStack:
    """Body-text font stack for a letter language; unknown languages get Noto Sans first."""
    register_fonts()
    return _STACKS.get(base_language(language), _STACKS["latin"])


def handwriting_stack(arabic_script: bool = False) -> FontStack:
    """Stack for the handwriting-style signature: Kristi for a Latin name, Aref Ruqaa for a name in
    Arabic script (then the body fonts for what either lacks)."""
    register_fonts()
    return _STACKS["handwriting_arabic" if arabic_script else "handwriting"]


def base_language(language: str) -> str:
    """'fa_IR' / 'ar-SA' / 'EN' -> 'fa' / 'ar' / 'en'."""
    return (language or "en").replace("-", "_").split("_")[0].lower()
