"""The letters' fonts: embedded as subsets of the vendored DejaVu Sans, every script kept.

Read back as a printer or a viewer meets the file: pdffonts and pdftotext (poppler), the embedded
font programs opened with fontTools and compared glyph for glyph with the vendored files.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fontTools import ttLib
from pypdf import PdfReader

from postcall.documents import LetterAddress
from postcall.fee_notice import render_fee_notice
from postcall.pdf_layout import LetterPDF, font_path
from tests.postcall.fee_support import authority, flat, need, notice, run, text, write

SAMPLE = (
    "Jürgen Weiß · Großer Anger 7 · 27,95 € · Νίκος Παπαδόπουλος · Иван Петров · "
    "Nguyễn Thị Minh Khai · Ærøskøbing · Łódź · ½ № ™ „Zitat“ – ‚innen‘"
)
NAMES = ("Νίκος Παπαδόπουλος", "Иван Петров", "Nguyễn Thị Minh Khai")


def sample_pdf() -> bytes:
    """A letter page with the sample in both weights and three sizes."""
    pdf = LetterPDF(authority(), subject="Probe", case_number="2026-000001",
                    date=dt.date(2026, 11, 24))  # fmt: skip
    pdf.add_page()
    for size in (7, 10, 15):
        for bold in (False, True):
            pdf.paragraph(SAMPLE, bold=bold, size=size)
    return bytes(pdf.output())


def embedded(pdf: bytes) -> dict[str, ttLib.TTFont]:
    """Each font program embedded on the first page, by its PDF name."""
    found = {}
    for ref in PdfReader(io.BytesIO(pdf)).pages[0]["/Resources"]["/Font"].values():
        font = ref.get_object()
        descendant = font["/DescendantFonts"][0].get_object()
        program = descendant["/FontDescriptor"]["/FontFile2"].get_object().get_data()
        found[str(font["/BaseFont"])] = ttLib.TTFont(io.BytesIO(program))
    return found


def test_fonts_are_embedded_as_subsets(tmp_path: Path) -> None:
    need("pdffonts")
    path = write(tmp_path, render_fee_notice(notice()))
    rows = [row.split() for row in run("pdffonts", str(path)).stdout.splitlines()[2:]]
    # name, type (two words), encoding, emb, sub, uni, object, id
    assert {row[0] for row in rows} == {"MPDFAA+DejaVuSansBook", "MPDFAA+DejaVuSansBold"}
    for row in rows:
        assert row[1:3] == ["CID", "TrueType"] and row[4:7] == ["yes", "yes", "yes"], row
    for name, subset in embedded(path.read_bytes()).items():
        full = ttLib.TTFont(font_path("B" if name.endswith("Bold") else ""))
        # A letter uses a few dozen of the font's 6,000 glyphs; only those travel with it.
        assert 30 < subset["maxp"].numGlyphs < full["maxp"].numGlyphs // 50, name


def test_embedded_glyphs_are_the_vendored_ones() -> None:
    fonts = embedded(sample_pdf())
    assert set(fonts) == {"/MPDFAA+DejaVuSansBook", "/MPDFAA+DejaVuSansBold"}
    for name, subset in fonts.items():
        full = ttLib.TTFont(font_path("B" if name.endswith("Bold") else ""))
        full_cmap, codes = full.getBestCmap(), subset.getBestCmap()
        # Every character of the sample is in the subset (spaces included).
        assert set(SAMPLE) <= {chr(code) for code in codes}, name
        for code, glyph in codes.items():
            # Outline (composites resolved), advance and hinting as in the vendored file.
            mine, theirs = subset["glyf"][glyph], full["glyf"][full_cmap[code]]
            assert mine.getCoordinates(subset["glyf"])[0] == theirs.getCoordinates(full["glyf"])[0]
            assert subset["hmtx"][glyph] == full["hmtx"][full_cmap[code]]
            if mine.numberOfContours > 0 and hasattr(theirs, "program"):
                assert mine.program.getBytecode() == theirs.program.getBytecode()


def test_every_script_in_the_sample_reads_back_as_written(tmp_path: Path) -> None:
    path = write(tmp_path, sample_pdf())
    body = flat(text(path))
    assert body.count(SAMPLE) == 6  # three sizes, two weights; no glyph lost or swapped


def test_names_in_other_scripts_lose_no_glyph(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    need("pdffonts")
    for number, name in enumerate(NAMES):
        recipient = LetterAddress.of(name, "Großer Anger 7", "73760", "Musterhausen")
        with caplog.at_level(logging.WARNING):
            pdf = write(tmp_path, render_fee_notice(notice(recipient=recipient)), f"{number}.pdf")
        body = flat(text(pdf))
        assert name in body and f"Guten Tag {name}," in body
        assert not re.search(r"missing|no glyph", caplog.text, re.IGNORECASE), caplog.text
        assert " yes " in run("pdffonts", str(pdf)).stdout


def test_rendering_in_threads_gives_the_serial_files() -> None:
    letters = [notice(case_number=f"2026-{n:06d}") for n in range(12)]
    serial = [render_fee_notice(letter) for letter in letters]
    with ThreadPoolExecutor(max_workers=6) as pool:
        parallel = list(pool.map(render_fee_notice, letters * 3))
    assert parallel == serial * 3


def test_a_letter_does_not_depend_on_what_was_rendered_before() -> None:
    before = render_fee_notice(notice())
    # Other glyphs, another page count, a page of the sample in between.
    render_fee_notice(notice(recipient=LetterAddress.of(NAMES[0], "Uferweg 41", "73760", "Ort")))
    sample_pdf()
    assert render_fee_notice(notice()) == before
