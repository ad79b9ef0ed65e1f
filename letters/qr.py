"""QR codes drawn as vector rectangles (crisp at any print resolution, no image decoding)."""

from __future__ import annotations

from functools import lru_cache

import qrcode
from qrcode.constants import ERROR_CORRECT_M
from qrcode.exceptions import DataOverflowError


class QrTooLong(ValueError):
    """The link is longer than the largest QR code holds (at the error correction used)."""


@lru_cache(maxsize=256)
def qr_matrix(data: str) -> tuple[tuple[bool, ...], ...]:
    """Module matrix for ``data`` (True = dark), without the quiet zone."""
    # A fixed mask: scoring all eight (the library's default) costs 4 ms a code in pure Python, and
    # every letter's link is different; any mask is valid to a reader, and print is high-contrast.
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=0, mask_pattern=0)
    code.add_data(data)
    try:
        code.make(fit=True)
    except (DataOverflowError, ValueError) as exc:
        raise QrTooLong(f"the QR link of {len(data.encode('utf-8')):,} bytes is longer than a QR code holds") \
            from exc
    return tuple(tuple(bool(v) for v in row) for row in code.get_matrix())


def draw_qr(canvas, data: str, x: float, y: float, size: float) -> None:
    """Draw the code for ``data`` with its lower-left corner at (x, y), ``size`` points square.

    Dark modules of a row are merged into one rectangle per run, which keeps the page stream
    small; the caller leaves a white quiet zone around it.
    """
    matrix = qr_matrix(data)
    n = len(matrix)
    module = size / n
    path = canvas.beginPath()
    for r, row in enumerate(matrix):
        top = y + size - r * module
        c = 0
        while c < n:
            if row[c]:
                start = c
                while c < n and row[c]:
                    c += 1
                path.rect(x + start * module, top - module, (c - start) * module, module)
            else:
                c += 1
    canvas.saveState()
    canvas.setFillColorRGB(0, 0, 0)
    canvas.drawPath(path, stroke=0, fill=1)
    canvas.restoreState()
