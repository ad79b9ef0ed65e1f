"""Print batches: one PDF for many letters, manifest agrees with the file, duplex, progress, memory."""

from __future__ import annotations

import tracemalloc

import pytest
from letterkit import MM, arabic, english, long_body, open_pdf, page_text, persian

from letters import LAYOUTS, BatchEntry, LetterRenderError, PaperMismatch, write_batch


def _letters(n: int, paper: str = "A4"):
    """n letters with 1, 2 or 3 pages, mixed languages, all on one paper; reference L-<index>."""
    out = []
    for i in range(n):
        ref = f"L-{i:06d}"
        kind = i % 4
        if kind == 0:
            out.append(english(reference=ref, recipient_name=f"Customer {i}", paper=paper))
        elif kind == 1:
            out.append(english(reference=ref, body=long_body(9), paper=paper))
        elif kind == 2:
            out.append(arabic(reference=ref, paper=paper))
        else:
            out.append(persian(reference=ref, body=long_body(32, "با ما در تماس باشید. "), paper=paper))
    return out


def _pages_with_reference(pdf, ref: str) -> list[int]:
    return [n for n, page in enumerate(pdf.pages, start=1) if ref in page_text(page)]


def test_batch_writes_all_letters_into_one_pdf_and_the_manifest_matches_it(tmp_path):
    letters = _letters(8)
    path = tmp_path / "batch.pdf"
    entries = write_batch(letters, path)
    pdf = open_pdf(path)
    assert [e.index for e in entries] == list(range(8))
    assert sum(e.page_count for e in entries) == len(pdf.pages)
    assert {e.page_count for e in entries} >= {1, 2, 3}
    for entry, letter in zip(entries, letters):
        pages = _pages_with_reference(pdf, letter.reference)
        assert pages == list(range(entry.first_page, entry.first_page + entry.page_count))
        assert not entry.blank_back_added
    # One paper size for the whole file, and the manifest facts say which and how many sheets.
    lay = LAYOUTS["A4"]
    for page in pdf.pages:
        assert (page.width, page.height) == pytest.approx((lay.page_width * MM, lay.page_height * MM), abs=0.5)
    assert {e.paper for e in entries} == {"A4"}
    assert [e.sheets for e in entries] == [e.page_count for e in entries]
    assert entries[0].address == ["Customer 0", "1600 Amphitheatre Pkwy", "MOUNTAIN VIEW, CA 94043", "UNITED STATES"]


def test_a_letter_on_another_paper_is_left_out_of_the_file_with_the_reason(tmp_path):
    letters = _letters(4, "LETTER")
    letters[2] = arabic(reference="L-A4", paper="A4")
    errors = []
    entries = write_batch(letters, tmp_path / "letter.pdf", on_error=lambda i, exc: errors.append((i, exc)))
    assert [e.index for e in entries] == [0, 1, 3]
    assert [i for i, _ in errors] == [2]
    assert isinstance(errors[0][1], PaperMismatch) and "A4" in str(errors[0][1])
    pdf = open_pdf(tmp_path / "letter.pdf")
    lay = LAYOUTS["LETTER"]
    assert all((p.width, p.height) == pytest.approx((lay.page_width * MM, lay.page_height * MM), abs=0.5)
               for p in pdf.pages)
    assert not any("L-A4" in page_text(p) for p in pdf.pages)


def test_duplex_counts_sheets_not_pages(tmp_path):
    entries = write_batch(_letters(4), tmp_path / "d.pdf", duplex=True)
    assert [e.sheets for e in entries] == [(e.page_count + 1) // 2 for e in entries]


def test_duplex_batch_starts_every_letter_on_a_front_side(tmp_path):
    letters = _letters(8)
    path = tmp_path / "duplex.pdf"
    entries = write_batch(letters, path, duplex=True)
    pdf = open_pdf(path)
    assert len(pdf.pages) % 2 == 0
    for entry, letter in zip(entries, letters):
        assert entry.first_page % 2 == 1
        assert entry.blank_back_added == (entry.page_count % 2 == 1)
        assert _pages_with_reference(pdf, letter.reference) == \
            list(range(entry.first_page, entry.first_page + entry.page_count))
        if entry.blank_back_added:
            back = pdf.pages[entry.first_page + entry.page_count - 1]
            assert not back.chars and not back.rects and not back.lines
    last = entries[-1]
    assert len(pdf.pages) == last.first_page + last.page_count - 1 + int(last.blank_back_added)


def test_progress_and_manifest_callbacks_follow_the_letters_as_they_are_written(tmp_path):
    path = tmp_path / "out" / "batch.pdf"
    calls: list[tuple[int, int]] = []
    seen: list[tuple[int, BatchEntry]] = []
    sizes: list[int] = []

    def on_letter(index, entry):
        seen.append((index, entry))
        # The batch is on disk and growing while later letters are still to come...
        sizes.append(sum(f.stat().st_size for f in path.parent.iterdir()))
        # ...but the finished name only appears once the whole file is complete.
        assert not path.exists()

    letters = iter(_letters(6))   # a plain iterator: nothing is known up front
    entries = write_batch(letters, path, total=6, progress=lambda d, t: calls.append((d, t)),
                          on_letter=on_letter)
    assert calls == [(i, 6) for i in range(1, 7)]
    assert [e for _, e in seen] == entries and [i for i, _ in seen] == list(range(6))
    assert all(b > a for a, b in zip(sizes, sizes[1:]))
    assert path.exists() and list(path.parent.iterdir()) == [path]


def test_progress_total_comes_from_a_sized_collection(tmp_path):
    calls = []
    write_batch(_letters(3), tmp_path / "b.pdf", progress=lambda d, t: calls.append((d, t)))
    assert calls == [(1, 3), (2, 3), (3, 3)]


def test_a_broken_letter_names_its_index_and_leaves_no_half_file(tmp_path):
    letters = _letters(3) + [english(paper="B5")]
    path = tmp_path / "bad.pdf"
    with pytest.raises(LetterRenderError) as info:
        write_batch(letters, path)
    assert info.value.index == 3
    assert list(tmp_path.iterdir()) == []


def test_empty_batch_gives_an_empty_manifest_and_a_valid_file(tmp_path):
    path = tmp_path / "empty.pdf"
    assert write_batch([], path) == []
    assert len(open_pdf(path).pages) == 0


def _peak_bytes(n: int, tmp_path) -> int:
    def gen():
        for i in range(n):
            yield english(reference=f"L-{i:06d}", recipient_name=f"Customer {i}", body=long_body(3))
    tracemalloc.start()
    try:
        write_batch(gen(), tmp_path / f"mem{n}.pdf")
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_stays_flat_as_the_batch_grows(tmp_path):
    write_batch([english()], tmp_path / "warm.pdf")   # fonts and caches loaded once
    small = _peak_bytes(40, tmp_path)
    large = _peak_bytes(240, tmp_path)
    per_letter = (large - small) / 200
    # A page's drawing commands alone are several kilobytes; keeping pages in memory until the
    # end (what a plain ReportLab canvas does) would cost at least that much per letter.
    assert per_letter < 2000, f"{per_letter:.0f} bytes retained per letter"
