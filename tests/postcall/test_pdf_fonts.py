"""The shared fonts: embedded programs are the vendored font's own glyphs, placed as fpdf2 would.

The reference everywhere is plain fpdf2 (its `add_font` and its fontTools subsetting), which the
letters used before; pages must rasterise to the same pixels.
"""

from __future__ import annotations

import inspect
import io
import logging
import struct
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import fpdf
import pytest
from fontTools import ttLib
from fpdf import FPDF
from fpdf.fonts import SubsetMap, TTFFont
from fpdf.output import OutputProducer
from pypdf import PdfReader

from postcall import pdf_fonts
from postcall.documents import LetterAddress
from postcall.fee_notice import render_fee_notice
from postcall.pdf_layout import FONT_FAMILY, font_path
from tests.postcall.fee_support import flat, need, notice, run, text, write

SAMPLE = (
    "Jürgen Weiß · Großer Anger 7 · 27,95 € · Νίκος Παπαδόπουλος · Иван Петров · "
    "Nguyễn Thị Minh Khai · Ærøskøbing · Łódź · ½ № ™ „Zitat“ – ‚innen‘"
)
NAMES = ("Νίκος Παπαδόπουλος", "Иван Петров", "Nguyễn Thị Minh Khai")

TTFFONT_SLOTS = {
    "i", "type", "name", "desc", "glyph_ids", "_hbfont", "sp", "ss", "up", "ut", "cw",
    "ttffile", "fontkey", "emphasis", "scale", "subset", "cmap", "ttfont", "missing_glyphs",
    "biggest_size_pt", "color_font", "unicode_range", "palette_index", "is_compressed", "is_cff",
    "is_cid_keyed", "is_symbol", "cff_ros", "collection_font_number",
}  # fmt: skip


def test_fpdf_internals_we_rely_on_are_unchanged() -> None:
    """pdf_fonts and pdf_text copy or call these; a new fpdf2 must be checked against them."""
    assert fpdf.FPDF_VERSION.startswith("2.8."), "check postcall/pdf_fonts.py, pdf_text.py"
    assert set(TTFFont.__slots__) == TTFFONT_SLOTS
    producer = inspect.signature(OutputProducer._add_fonts).parameters
    assert list(producer) == [
        "self", "image_objects_per_index", "gfxstate_objs_per_name", "pattern_objs_per_name"
    ]  # fmt: skip
    for name in ("_add_pdf_obj", "bufferize"):
        assert callable(getattr(OutputProducer, name)), name
    for name in ("_tt_font_widths", "_build_cmap_blocks", "PDFFontStream", "CIDSystemInfo"):
        assert hasattr(fpdf.output, name), name
    assert hasattr(SubsetMap.pick, "cache_clear") and hasattr(SubsetMap.get_glyph, "cache_clear")
    render = inspect.signature(FPDF._render_styled_text_line).parameters
    assert {"text_line", "h", "border", "new_x", "new_y", "fill", "link", "padding",
            "prevent_font_change"} <= set(render)  # fmt: skip
    multi_cell = inspect.signature(FPDF.multi_cell).parameters
    assert list(multi_cell)[:4] == ["self", "w", "h", "text"]
    for name in ("_preload_font_styles", "_perform_page_break_if_need_be", "_out"):
        assert callable(getattr(FPDF, name)), name


def sample_pdf(ours: bool) -> bytes:
    pdf = FPDF(format="A4")
    for style in ("", "B"):
        if ours:
            pdf_fonts.add_font(pdf, FONT_FAMILY, style, font_path(style))
        else:
            pdf.add_font(FONT_FAMILY, style, str(font_path(style)))
    pdf.add_page()
    for size in (7, 10, 15):
        for style in ("", "B"):
            pdf.set_font(FONT_FAMILY, style, size)
            pdf.multi_cell(180, size * 0.5, SAMPLE, new_x="LMARGIN", new_y="NEXT")
    if ours:
        return bytes(pdf.output(output_producer_class=pdf_fonts.LetterOutputProducer))
    return bytes(pdf.output())


def test_pages_rasterise_as_with_fpdf_own_fonts(tmp_path: Path) -> None:
    need("pdftoppm")
    images = []
    for ours in (False, True):
        path = write(tmp_path, sample_pdf(ours), f"sample-{ours}.pdf")
        prefix = tmp_path / f"sample-{ours}"
        result = run("pdftoppm", "-r", "150", "-gray", "-singlefile", str(path), str(prefix))
        assert result.returncode == 0, result.stderr
        images.append(Path(f"{prefix}.pgm").read_bytes())
    assert images[0] == images[1]
    assert flat(text(tmp_path / "sample-True.pdf")).count("Nguyễn Thị Minh Khai") == 6


def embedded(pdf: bytes) -> dict[str, tuple[ttLib.TTFont, dict[int, int]]]:
    """Each embedded font program, with its ToUnicode map (character id → code point)."""
    found = {}
    for ref in PdfReader(io.BytesIO(pdf)).pages[0]["/Resources"]["/Font"].values():
        font = ref.get_object()
        descendant = font["/DescendantFonts"][0].get_object()
        assert descendant["/CIDToGIDMap"] == "/Identity"
        program = descendant["/FontDescriptor"]["/FontFile2"].get_object().get_data()
        cmap = font["/ToUnicode"].get_object().get_data().decode()
        codes = {
            int(cid, 16): int(code, 16)
            for cid, code in (line[1:-1].split("> <") for line in cmap.splitlines()
                              if line.startswith("<") and "> <" in line and len(line) == 13)
        }  # fmt: skip
        # The whole file sums to the OpenType magic number (head.checkSumAdjustment is right).
        words = struct.unpack(f">{len(program) // 4}I", program + b"\0" * (-len(program) % 4))
        assert sum(words) & 0xFFFFFFFF == 0xB1B0AFBA
        found[str(font["/BaseFont"])] = (ttLib.TTFont(io.BytesIO(program)), codes)
    return found


def test_embedded_glyphs_are_the_vendored_ones() -> None:
    fonts = embedded(sample_pdf(ours=True))
    assert set(fonts) == {"/MPDFAA+DejaVuSansBook", "/MPDFAA+DejaVuSansBold"}
    for name, (subset, codes) in fonts.items():
        full = ttLib.TTFont(font_path("B" if name.endswith("Bold") else ""))
        full_cmap, order = full.getBestCmap(), subset.getGlyphOrder()
        assert codes.pop(0) == 0  # character id 0: .notdef
        notdef = subset["glyf"][order[0]].getCoordinates(subset["glyf"])[0]
        assert notdef == full["glyf"][".notdef"].getCoordinates(full["glyf"])[0]
        assert len(codes) > 60
        for cid, code in codes.items():
            # Glyph id = character id; outlines (composites resolved), hinting and metrics equal.
            mine, theirs = subset["glyf"][order[cid]], full["glyf"][full_cmap[code]]
            assert mine.getCoordinates(subset["glyf"])[0] == theirs.getCoordinates(full["glyf"])[0]
            assert subset["hmtx"][order[cid]] == full["hmtx"][full_cmap[code]]
            if mine.numberOfContours > 0:
                assert mine.program.getBytecode() == theirs.program.getBytecode()
            assert subset.getBestCmap()[code] == order[cid]
        # Font box, extents and maxima as fontTools computes them for this glyph set.
        before = [getattr(subset[tag], field) for tag, field in RECALCULATED]
        subset["maxp"].recalc(subset)
        subset["hhea"].recalc(subset)
        assert [getattr(subset[tag], field) for tag, field in RECALCULATED] == before
        for tag in ("fpgm", "prep", "cvt ", "gasp", "OS/2"):
            assert subset.reader[tag] == full.reader[tag], tag


RECALCULATED = [
    ("head", "xMin"), ("head", "yMin"), ("head", "xMax"), ("head", "yMax"), ("head", "flags"),
    ("hhea", "advanceWidthMax"), ("hhea", "minLeftSideBearing"), ("hhea", "minRightSideBearing"),
    ("hhea", "xMaxExtent"), ("maxp", "maxPoints"), ("maxp", "maxContours"),
    ("maxp", "maxCompositePoints"), ("maxp", "maxCompositeContours"),
    ("maxp", "maxComponentElements"), ("maxp", "maxComponentDepth"),
]  # fmt: skip


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
        assert "has no glyph" not in caplog.text
        assert " yes " in run("pdffonts", str(pdf)).stdout


def test_rendering_in_threads_gives_the_serial_files() -> None:
    letters = [notice(case_number=f"2026-{n:06d}") for n in range(12)]
    serial = [render_fee_notice(letter) for letter in letters]
    with ThreadPoolExecutor(max_workers=6) as pool:
        parallel = list(pool.map(render_fee_notice, letters * 3))
    assert parallel == serial * 3


def test_a_core_font_in_the_document_leaves_the_shared_fonts_intact(tmp_path: Path) -> None:
    before = render_fee_notice(notice())
    pdf = FPDF(format="A4")
    pdf_fonts.add_font(pdf, FONT_FAMILY, "", font_path(""))
    pdf.add_page()
    pdf.set_font(FONT_FAMILY, "", 10)
    pdf.cell(text="Jürgen Weiß")
    pdf.set_font("helvetica", "", 10)
    pdf.cell(text=" und Helvetica")
    mixed = write(tmp_path, bytes(pdf.output(output_producer_class=pdf_fonts.LetterOutputProducer)))
    assert flat(text(mixed)) == "Jürgen Weiß und Helvetica"
    assert render_fee_notice(notice()) == before


def test_fonts_are_parsed_on_first_use_not_on_import() -> None:
    code = (
        "import postcall.fee_notice, postcall.print_batch, postcall.pdf_fonts as fonts;"
        "assert not fonts._cache;"
        "from tests.postcall.fee_support import notice;"
        "postcall.fee_notice.render_fee_notice(notice());"
        "assert len(fonts._cache) == 2"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr
