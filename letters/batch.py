"""Print batches: many letters into one PDF on disk, written as it goes.

Letters are pulled one at a time from any iterable, laid out, drawn on a single canvas and
flushed to the file before the next one is looked at, so memory does not grow with the batch.
The file is written under a temporary name beside the target and renamed when complete, so a
half-written batch is never mistaken for a finished one.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable

from .layouts import A4
from .model import BatchEntry, LetterContent
from .pdfstream import StreamingPdf, open_output
from .render import compose, draw


class PaperMismatch(ValueError):
    """A letter on another paper size than the file's: it belongs in another part of the batch."""

    def __init__(self, paper: str, file_paper: str):
        super().__init__(f"paper: the letter needs {paper} and this file is {file_paper}")
        self.paper = paper


class LetterRenderError(RuntimeError):
    """A letter of a batch could not be laid out or drawn; ``index`` says which one."""

    def __init__(self, index: int, cause: BaseException):
        super().__init__(f"letter #{index} of the batch failed: {cause}")
        self.index = index


def write_batch(
    letters: Iterable[LetterContent],
    path: str | os.PathLike,
    *,
    duplex: bool = False,
    total: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    on_letter: Callable[[int, BatchEntry], None] | None = None,
    on_error: Callable[[int, Exception], None] | None = None,
    max_pages: int | None = None,
) -> list[BatchEntry]:
    """Write all letters into one PDF at ``path`` and return where each one landed.

    ``duplex`` adds a blank back page after every letter with an odd page count, so each letter
    starts on a front side. ``progress(done, total)`` is called after each letter (``total`` is
    taken from ``len(letters)`` when not given, and is 0 if unknown). ``on_letter(index, entry)``
    is called as soon as a letter is in the file, e.g. to append a manifest row.

    A letter that cannot be laid out (any error while composing it, e.g. over ``max_pages`` or a QR
    link too long for a code) is left out of the file and reported to ``on_error(index, exc)``; the
    batch goes on. Without ``on_error`` it stops the batch (LetterRenderError). Layout happens before
    anything is drawn, so a letter left out leaves nothing behind in the file.

    One paper size per file: the first letter's paper is the file's, and a letter on another paper
    is left out with the reason (``PaperMismatch``); callers split a batch by paper beforehand.
    """
    if total is None:
        try:
            total = len(letters)  # type: ignore[arg-type]
        except TypeError:
            total = 0
    path = os.fspath(path)
    tmp_path = f"{path}.part"
    entries: list[BatchEntry] = []
    out = open_output(tmp_path)
    try:
        pdf = StreamingPdf(out, A4.pagesize, title=os.path.basename(path))
        canvas = pdf.canvas
        paper = None
        for index, content in enumerate(letters):
            first_page = pdf.page_count + 1
            try:
                composed = compose(content, max_pages)
                if paper is None:
                    paper = composed.layout.name
                elif composed.layout.name != paper:
                    raise PaperMismatch(composed.layout.name, paper)
            except Exception as exc:
                if on_error is None:
                    raise LetterRenderError(index, exc) from exc
                on_error(index, exc)
                continue
            try:
                count = draw(canvas, composed)
            except Exception as exc:
                raise LetterRenderError(index, exc) from exc
            blank = duplex and count % 2 == 1
            if blank:
                canvas.setPageSize(composed.layout.pagesize)
                canvas.showPage()
            pdf.flush()
            entry = BatchEntry(index=index, first_page=first_page, page_count=count,
                               blank_back_added=blank, paper=composed.layout.name,
                               sheets=(count + 1) // 2 if duplex else count,
                               address=[" ".join(a.split()) for a in composed.address_printed])
            entries.append(entry)
            if on_letter is not None:
                on_letter(index, entry)
            if progress is not None:
                progress(index + 1, total)
        pdf.close()
        out.close()
        os.replace(tmp_path, path)
    except BaseException:
        out.close()
        try:
            os.remove(tmp_path)
        except OSError:
            pass
        raise
    return entries
