"""The letters' fonts: embedded as subsets of the vendored DejaVu Sans, every script kept
(German, Turkish, Cyrillic, Greek, Vietnamese and Arabic names as written).

Read back as a printer or a viewer meets the file: pdffonts and pdftotext (poppler), the embedded
font programs opened with fontTools and compared glyph for glyph with the vendored files.
"""

from __future__ import annotations

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
from postcall.letter_render import font_path
from postcall.rejection import render_rejection_notice
from tests.postcall.fee_support import flat, need, notice, run, text, write
from tests.postcall.test_rejection_notice import rejection

SAMPLE = (
    "Jürgen Weiß · Großer Anger 7 · 27,95 € · Νίκος Παπαδόπουλος · Иван Петров · "
    "Nguyễn Thị Minh Khai · Ærøskøbing · Łódź · Şükrü Öztürk · ½ № ™ „Zitat“ – ‚innen‘"
)
NAMES = ("Νίκος Παπαδόπουλος", "Иван Петров", "Nguyễn Thị Minh Khai", "Ayşe Yılmaz",
         "محمد حسن")
BIDI_MARKS = dict.fromkeys(range(0x202A, 0x202F))  # pdftotext frames right-to-left runs


def sample_pdf() -> bytes:
    """A letter with the sample in six paragraphs of its reasons."""
    return render_rejection_notice(rejection(reasons="\n\n".join([SAMPLE] * 6)))


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
    assert sorted(row[0].split("+")[1] for row in rows) == ["DejaVu-Sans", "DejaVu-Sans-Bold"]
    for row in rows:
        assert row[1:3] == ["CID", "TrueType"] and row[4:7] == ["yes", "yes", "yes"], row
    for name, subset in embedded(path.read_bytes()).items():
        full = ttLib.TTFont(font_path("bold" if name.endswith("Bold") else "regular"))
        # A letter uses a few dozen of the font's 6,000 glyphs; only those travel with it (the
        # subset keeps the glyph numbers, so the glyphs it leaves out are empty).
        glyphs = subset["glyf"]
        drawn = [g for g in subset.getGlyphOrder() if glyphs[g].numberOfContours != 0]
        assert 30 < len(drawn) < full["maxp"].numGlyphs // 50, name


def test_embedded_glyphs_are_the_vendored_ones(tmp_path: Path) -> None:
    fonts = embedded(sample_pdf())
    assert sorted(name.split("+")[1] for name in fonts) == ["DejaVu-Sans", "DejaVu-Sans-Bold"]
    [regular] = [font for name, font in fonts.items() if name.endswith("DejaVu-Sans")]
    full = ttLib.TTFont(font_path("regular"))
    full_cmap = full.getBestCmap()
    # The subset keeps the vendored glyph names: compare each glyph the sample needs, by name.
    names = set(regular.getGlyphOrder())
    for char in set(SAMPLE) - {" "}:
        glyph = full_cmap[ord(char)]
        assert glyph in names, char
        mine, theirs = regular["glyf"][glyph], full["glyf"][glyph]
        assert mine.getCoordinates(regular["glyf"])[0] == theirs.getCoordinates(full["glyf"])[0]
        assert regular["hmtx"][glyph] == full["hmtx"][glyph]


def test_every_script_in_the_sample_reads_back_as_written(tmp_path: Path) -> None:
    path = write(tmp_path, sample_pdf())
    body = flat(text(path))
    assert body.count(SAMPLE) == 6  # no glyph lost or swapped


def test_names_in_other_scripts_lose_no_glyph(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    need("pdffonts")
    for number, name in enumerate(NAMES):
        recipient = LetterAddress.of(name, "Großer Anger 7", "73760", "Musterhausen")
        with caplog.at_level(logging.WARNING):
            pdf = write(tmp_path, render_fee_notice(notice(recipient=recipient)), f"{number}.pdf")
        body = flat(text(pdf)).translate(BIDI_MARKS)
        assert name in body, name
        if name[0].isascii() or name[0] in "ΝИ":  # left to right: the greeting reads as written
            assert f"Guten Tag {name}," in body
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
