"""Embedded TrueType fonts for our letters: parsed once per process, subset in microseconds.

Plain fpdf2 parses the whole font file on every `add_font()` (cmap, metrics and glyph names of
DejaVu Sans' 6,000 glyphs) and runs fontTools' general subsetter on every `output()`; for a
fee notice that was three quarters of its time. Here:

* each font file is parsed once per process, lazily on first use and under a lock (letters are
  rendered in worker threads). The result is fpdf2's own font object, kept as a template;
* each document gets a light `LetterFont`: the template's immutable parts shared, its own
  character widths, glyph subset map and descriptor;
* `LetterOutputProducer` embeds a font program cut from the file's bytes by
  `postcall.truetype_subset` with each glyph at its character id, so the CIDToGIDMap is
  /Identity. Everything else in the font objects is what fpdf2 itself writes.

The whole font stays available, so a name in Greek, Cyrillic or Vietnamese renders as before.

This leans on fpdf2 internals: `TTFFont`'s slots and `SubsetMap`, `OutputProducer._add_fonts`,
`_add_pdf_obj`, `_tt_font_widths`, `_build_cmap_blocks`. pyproject.toml pins the fpdf2 minor
version and tests/postcall/test_pdf_fonts.py fails loudly when any of these change.
"""

from __future__ import annotations

import copy
import logging
import threading
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from fontTools import ttLib
from fpdf import FPDF
from fpdf.fonts import PDFFontDescriptor, SubsetMap, TTFFont
from fpdf.output import (
    CIDSystemInfo,
    OutputProducer,
    PDFExtGState,
    PDFFont,
    PDFFontStream,
    PDFType3Font,
    PDFXObject,
    _build_cmap_blocks,
    _tt_font_widths,
)
from fpdf.pattern import Pattern
from fpdf.syntax import Name, PDFArray, PDFContentStream

from postcall.truetype_subset import FontFormatError, TrueTypeFont

LOGGER = logging.getLogger(__name__)

# TTFFont slots a document gets fresh; every other slot is shared with the template.
_PER_DOCUMENT = {"i", "fontkey", "cw", "desc", "subset", "missing_glyphs", "biggest_size_pt",
                 "_hbfont"}  # fmt: skip
# The name table as fontTools' subsetter leaves it for fpdf2: name ids 0–6, English, Unicode.
_NAME_IDS = range(7)


@dataclass(frozen=True)
class _Shared:
    template: TTFFont
    program: TrueTypeFont
    glyph_id: dict[str, int]


_cache: dict[tuple[str, str], _Shared] = {}
_lock = threading.Lock()


def _name_table(ttfont: ttLib.TTFont) -> bytes:
    table = ttLib.newTable("name")
    table.names = [
        record for record in ttfont["name"].names
        if record.nameID in _NAME_IDS
        and (record.platformID == 0 or (record.platformID == 3 and record.langID == 0x409))
    ]  # fmt: skip
    data: bytes = table.compile(ttfont)
    return data


def _load(path: Path, style: str) -> _Shared:
    template = TTFFont(FPDF(), path, f"template{style}", style)
    if template.is_cff or template.is_compressed or template.is_symbol or template.color_font:
        raise FontFormatError(f"{path.name}: only plain TrueType fonts are supported")
    program = TrueTypeFont(path.read_bytes(), name_table=_name_table(template.ttfont))
    glyph_id = dict(template.ttfont.getReverseGlyphMap())
    return _Shared(template=template, program=program, glyph_id=glyph_id)


def _shared(path: Path, style: str) -> _Shared:
    key = (str(path), style)
    found = _cache.get(key)
    if found is None:
        with _lock:
            found = _cache.get(key)
            if found is None:
                found = _cache[key] = _load(path, style)
    return found


class LetterFont(TTFFont):
    """fpdf2's TrueType font for one document, sharing the parsed file with all others."""

    __slots__ = ("shared",)
    shared: _Shared


def add_font(pdf: FPDF, family: str, style: str, path: Path) -> None:
    """What `FPDF.add_font(family, style, path)` does, without parsing the file again."""
    shared = _shared(path, style)
    template = shared.template
    font = LetterFont.__new__(LetterFont)
    for slot in TTFFont.__slots__:
        if slot not in _PER_DOCUMENT and hasattr(template, slot):
            setattr(font, slot, getattr(template, slot))
    font.i = len(pdf.fonts) + 1
    font.fontkey = f"{family.lower()}{style}"
    # Reading an unknown character inserts its default width: each document its own dict.
    missing_width = template.desc.missing_width
    font.cw = defaultdict(lambda: missing_width, template.cw)
    font.desc = copy.copy(template.desc)  # output() sets the name and the font file on it
    font.missing_glyphs = []
    font.biggest_size_pt = 0
    font._hbfont = None
    font.shared = shared
    font.subset = SubsetMap(font)
    pdf.fonts[font.fontkey] = font


def _to_unicode(font: TTFFont) -> PDFContentStream:
    """The ToUnicode CMap exactly as fpdf2 writes it (copy and search in the PDF)."""

    def code(unicode: int) -> str:
        if unicode > 0xFFFF:
            high = 0xD800 | (unicode - 0x10000) >> 10
            low = 0xDC00 | (unicode & 0x3FF)
            return f"{high:04X}{low:04X}"
        return f"{unicode:04X}"

    entries = [
        f"<{cid:04X}> <{''.join(code(unicode) for unicode in glyph.unicode)}>\n"
        for glyph, cid in font.subset.items()
        if glyph is not None and isinstance(glyph.unicode, tuple) and glyph.unicode
    ]
    return PDFContentStream(
        (
            "/CIDInit /ProcSet findresource begin\n"
            "12 dict begin\n"
            "begincmap\n"
            "/CIDSystemInfo\n"
            "<</Registry (Adobe)\n"
            "/Ordering (UCS)\n"
            "/Supplement 0\n"
            ">> def\n"
            "/CMapName /Adobe-Identity-UCS def\n"
            "/CMapType 2 def\n"
            "1 begincodespacerange\n"
            "<0000> <FFFF>\n"
            "endcodespacerange\n"
            f"{_build_cmap_blocks(entries, 'bfchar')}"
            "endcmap\n"
            "CMapName currentdict /CMap defineresource pop\n"
            "end\n"
            "end"
        ).encode("latin-1")
    )


def font_program(font: LetterFont) -> bytes:
    """The embedded TrueType program: glyph i is the glyph of character id i."""
    used = [(cid, glyph) for glyph, cid in font.subset.items() if glyph is not None]
    glyphs: list[int | None] = [None] * (max((cid for cid, _ in used), default=0) + 1)
    codes: dict[int, int] = {}
    for cid, glyph in used:
        glyphs[cid] = font.shared.glyph_id[glyph.glyph_name]
        if isinstance(glyph.unicode, tuple) and len(glyph.unicode) == 1:
            codes.setdefault(glyph.unicode[0], cid)
    return font.shared.program.subset(glyphs, codes)


class LetterOutputProducer(OutputProducer):
    """fpdf2's PDF writer with `LetterFont`s embedded from the shared, pre-parsed files."""

    def _add_fonts(
        self,
        image_objects_per_index: dict[int, PDFXObject],
        gfxstate_objs_per_name: dict[str, PDFExtGState],
        pattern_objs_per_name: dict[str, Pattern],
    ) -> dict[int, PDFFont | PDFType3Font]:
        fonts = sorted(self.fpdf.fonts.values(), key=lambda font: font.i)
        if not all(isinstance(font, LetterFont) for font in fonts):
            # Another kind of font in the document: fpdf2 does it all, on private copies of the
            # parsed files, since its subsetter changes the font it is given.
            for font in fonts:
                if isinstance(font, LetterFont):
                    font.ttfont = ttLib.TTFont(font.ttffile, recalcTimestamp=False, lazy=True)
            return super()._add_fonts(
                image_objects_per_index, gfxstate_objs_per_name, pattern_objs_per_name
            )
        objects: dict[int, PDFFont | PDFType3Font] = {}
        for font in fonts:
            assert isinstance(font, LetterFont)
            objects[font.i] = self._add_letter_font(font)
        return objects

    def _add_letter_font(self, font: LetterFont) -> PDFFont:
        fontname = f"MPDFAA+{font.name}"
        if font.missing_glyphs:
            missing = ", ".join(f"U+{code:04X}" for code in font.missing_glyphs[:10])
            LOGGER.warning("font %s has no glyph for %s", fontname, missing)
        program = font_program(font)
        composite = PDFFont(subtype="Type0", base_font=fontname, encoding="Identity-H")
        self._add_pdf_obj(composite, "fonts")
        cid_font = PDFFont(
            subtype="CIDFontType2",
            base_font=fontname,
            d_w=font.desc.missing_width,
            w=_tt_font_widths(font),
        )
        self._add_pdf_obj(cid_font, "fonts")
        composite.descendant_fonts = PDFArray([cid_font])
        to_unicode = _to_unicode(font)
        self._add_pdf_obj(to_unicode, "fonts")
        composite.to_unicode = to_unicode
        system_info = CIDSystemInfo()
        self._add_pdf_obj(system_info, "fonts")
        cid_font.c_i_d_system_info = system_info
        descriptor: PDFFontDescriptor = font.desc
        descriptor.font_name = Name(fontname)
        self._add_pdf_obj(descriptor, "fonts")
        cid_font.font_descriptor = descriptor
        cid_font.c_i_d_to_g_i_d_map = Name("Identity")  # type: ignore[assignment]
        font_file = PDFFontStream(contents=program)
        self._add_pdf_obj(font_file, "fonts")
        descriptor.font_file2 = font_file  # type: ignore[attr-defined]
        # fpdf2's glyph caches are per class: emptied after each document, as fpdf2 does.
        font.subset.pick.cache_clear()
        font.subset.get_glyph.cache_clear()
        return composite
