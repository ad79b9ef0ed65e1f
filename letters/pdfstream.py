"""A ReportLab canvas whose finished pages go to the output file while drawing continues.

A stock ``Canvas`` keeps every page's content stream in memory until ``save()``, so a batch of
ten thousand letters would hold ten thousand pages. Here, after each letter, the finished page
objects and their content streams are serialised straight to the file and replaced in memory
by a tiny stand-in; what is left for the end is small and shared: the font subsets (their glyph
set is only known once every page is drawn), the page tree, the catalogue, the info dictionary
and the cross-reference table. PDF allows objects in any order, so writing pages first and
fonts last is valid.

This relies on ReportLab's document internals (``PDFDocument`` object registry), checked against
ReportLab 4.4. If those internals are not as expected, the writer quietly falls back to the
stock behaviour (everything written at ``close()``), which is correct, only not streaming.
"""

from __future__ import annotations

import io
import os
from typing import BinaryIO

from reportlab.pdfbase import pdfdoc
from reportlab.pdfgen.canvas import Canvas

from .typefaces import SANS, register_fonts


class _Written(pdfdoc.PDFObject):
    """Stand-in for an object already in the file: referable, but never formatted again."""

    __slots__ = ("__InternalName__",)

    def __init__(self, name: str):
        self.__InternalName__ = name

    def format(self, document):  # pragma: no cover - would mean a bug in the flush bookkeeping
        """Refuse: the object is already in the file."""
        raise RuntimeError(f"object {self.__InternalName__} was already written")


class StreamingPdf:
    """One PDF on an open binary file; draw on ``.canvas``, call ``flush()`` between letters."""

    def __init__(self, out: BinaryIO, pagesize: tuple[float, float], *, title: str = "",
                 author: str = "", creator: str = "letters"):
        register_fonts()
        self._out = out
        # A TrueType initial font keeps ReportLab from referencing a non-embedded Helvetica.
        self.canvas = Canvas(io.BytesIO(), pagesize=pagesize, initialFontName=SANS,
                             pageCompression=1)
        self.canvas.setCreator(creator)
        if title:
            self.canvas.setTitle(title)
        if author:
            self.canvas.setAuthor(author)
        self._doc = self.canvas._doc
        self._streaming = self._internals_ok()
        self._flushed_pages = 0
        self._written: set[str] = set()
        self._pos = 0
        self._closed = False
        if self._streaming:
            header = pdfdoc.PDFFile(self._doc._pdfVersion).format(self._doc)
            self._write(header)

    def _internals_ok(self) -> bool:
        doc = self._doc
        needed = ("numberToId", "idToObject", "idToObjectNumberAndVersion", "idToOffset",
                  "Pages", "delayedFonts", "encrypt", "Catalog", "info", "Outlines")
        return all(hasattr(doc, n) for n in needed) and isinstance(getattr(doc.Pages, "pages", None), list) \
            and hasattr(pdfdoc, "PDFIndirectObject") and hasattr(pdfdoc, "PDFCrossReferenceTable")

    def _write(self, data: bytes) -> None:
        self._out.write(data)
        self._pos += len(data)

    @property
    def page_count(self) -> int:
        """Pages finished so far (``showPage`` called)."""
        return len(self._doc.Pages.pages)

    def flush(self) -> None:
        """Write every finished page (and its content stream) to the file and drop it from memory."""
        if not self._streaming or self._closed:
            return
        doc = self._doc
        pages = doc.Pages.pages
        for i in range(self._flushed_pages, len(pages)):
            page = pages[i]
            name = page.__InternalName__
            if getattr(page, "stream", None) and not page.Contents:
                # Same stream ReportLab would build, minus the ASCII85 layer it adds by
                # default: Flate alone is smaller and cheaper to write.
                contents = pdfdoc.PDFStream()
                contents.content = page.stream
                if page.compression:
                    contents.filters = [pdfdoc.PDFZCompress]
                page.Contents = contents
                page.stream = None
            before = doc.objectcounter
            self._emit(name, page)
            # Formatting the page registered its content stream; it also registers the shared
            # page tree on first use, which must wait for the end.
            for number in range(before + 1, doc.objectcounter + 1):
                oid = doc.numberToId.get(number)
                if oid is not None and oid not in self._written \
                        and type(doc.idToObject[oid]) is pdfdoc.PDFStream:
                    self._emit(oid, doc.idToObject[oid])
            pages[i] = doc.idToObject[name]
        self._flushed_pages = len(pages)
        # Hand the bytes to the OS now, not when Python's buffer happens to fill.
        if hasattr(self._out, "flush"):
            self._out.flush()

    def _emit(self, oid: str, obj) -> None:
        doc = self._doc
        data = pdfdoc.PDFIndirectObject(oid, obj).format(doc)
        doc.idToOffset[oid] = self._pos
        self._write(data)
        self._written.add(oid)
        doc.idToObject[oid] = _Written(oid)

    def close(self) -> None:
        """Finish the document: fonts, page tree, catalogue, cross-reference table, trailer."""
        if self._closed:
            return
        self._closed = True
        canvas = self.canvas
        if canvas._code and self.page_count == 0:
            canvas.showPage()
        if not self._streaming:
            self._write(canvas.getpdfdata())
            return
        self.flush()
        doc = self._doc
        # The same preparation ReportLab's GetPDFData does before formatting.
        for font in doc.delayedFonts:
            font.addObjects(doc)
        doc.info.invariant = doc.invariant
        doc.info.digest(doc.signature)
        doc.Reference(doc.Catalog)
        doc.Reference(doc.info)
        doc.Outlines.prepare(doc, canvas)
        if doc.Outlines.ready < 0:
            doc.Catalog.Outlines = None
        doc.encrypt.prepare(doc)
        encrypt_ref = None
        encrypt_info = doc.encrypt.info()
        if encrypt_info:
            encrypt_ref = doc.Reference(encrypt_info)
        number = 0
        ids: list[str] = []
        while True:
            number += 1
            oid = doc.numberToId.get(number)
            if oid is None:
                break
            if oid not in self._written:
                self._emit(oid, doc.idToObject[oid])
            ids.append(oid)
        xref = pdfdoc.PDFCrossReferenceTable()
        xref.addsection(0, ids)
        xref_offset = self._pos
        self._write(xref.format(doc))
        trailer = pdfdoc.PDFTrailer(
            startxref=xref_offset,
            Size=len(ids) + 1,
            Root=doc.Reference(doc.Catalog),
            Info=doc.Reference(doc.info),
            Encrypt=encrypt_ref,
            ID=doc.ID(),
        )
        self._write(trailer.format(doc))


def open_output(path: str | os.PathLike) -> BinaryIO:
    """Open a batch output file for writing, creating its directory."""
    path = os.fspath(path)
    parent = os.path.dirname(path)
    if parent:
        os.makedirs(parent, exist_ok=True)
    return open(path, "wb")
