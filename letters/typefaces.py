"""Bundled TrueType fonts: registered with ReportLab once per process, grouped into fallback stacks.

ReportLab's TTFont embeds only a subset of each font (the glyphs actually drawn), so the bundled
files can be complete. A stack lists fonts in order of preference; each character is drawn with
the first font whose cmap has it, which is how Latin words inside an Arabic line get Noto Sans
while the Arabic around them gets Noto Naskh.
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
}

SANS = "LtrNotoSans"
NASKH = "LtrNotoNaskhArabic"
VAZIR = "LtrVazirmatn"
HANDWRITING = "LtrKristi"

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


# Noto Sans looks a size larger than Noto Naskh at the same point size; Kristi is drawn large,
# so its fallbacks are drawn smaller.
_STACKS = {
    "latin": FontStack("latin", (SANS, NASKH), (1.0, 1.1)),
    "ar": FontStack("ar", (NASKH, SANS), (1.0, 0.9)),
    "fa": FontStack("fa", (VAZIR, NASKH, SANS)),
    "handwriting": FontStack("handwriting", (HANDWRITING, SANS, NASKH), (1.0, 0.6, 0.65)),
}


def has_own_stack(language: str) -> bool:
    """True when the language has bundled fonts of its own (Arabic, Persian), not the Latin fallback."""
    return base_language(language) in _STACKS


def stack_for_language(language: str) -> FontStack:
    """Body-text font stack for a letter language; unknown languages get Noto Sans first."""
    register_fonts()
    return _STACKS.get(base_language(language), _STACKS["latin"])


def handwriting_stack() -> FontStack:
    """Stack for the handwriting-style signature (Kristi, then the body fonts for what it lacks)."""
    register_fonts()
    return _STACKS["handwriting"]


def base_language(language: str) -> str:
    """'fa_IR' / 'ar-SA' / 'EN' -> 'fa' / 'ar' / 'en'."""
    return (language or "en").replace("-", "_").split("_")[0].lower()
