"""Every letter of ours as a tagged PDF/A-3b: Jinja HTML and CSS templates, rendered by WeasyPrint.

One renderer for all letters (fee notice, changed notice, receipt, payment reminder, rejection
notice, request for missing documents, cover letter of the print batch): each is a template in
``postcall/templates/letters`` that extends ``_letter.html`` (the DIN 5008 form B frame) and is
styled by ``letter.css``. WeasyPrint writes PDF/A-3b (``pdf_variant``: the XMP metadata claims
it, every font is embedded, no encryption) and tags the document (``pdf_tags``: headings,
paragraphs, tables and the GiroCode's alternative text reach a screen reader in reading order);
the document's language and title come from ``<html lang>`` and ``<title>``.

The font is DejaVu Sans, vendored in ``postcall/fonts`` (Bitstream Vera licence, see LICENSE
there): German with umlauts and ß, Turkish, Cyrillic, Greek and Arabic letters, so a citizen's
name in any of the pages' languages prints as written; Debian's copy (fonts-dejavu-core) is the
fallback. WeasyPrint embeds the subset of glyphs a letter uses.

Rendering is pure and reproducible: the same data gives the same bytes (the creation date is
the letter's date, the PDF identifier is derived from the content). The Jinja environment, the
font configuration and the stylesheet are made once per process on first use (never at import)
and shared by the letters a process renders, one letter at a time (a lock: the font
configuration is not made for threads); a print batch spreads letters over a process pool
(``postcall.print_batch``).

WeasyPrint reports what it cannot draw (an image that does not load, an SVG it cannot render)
as an error in its log and carries on without it. A letter must not go out with a gap, so such
an error fails the rendering (``RenderFailed``): an office's template that does this is refused
when it is saved.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import logging
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2
from fontTools.ttLib import TTFont
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates" / "letters"
_FONT_FILES = {"regular": "DejaVuSans.ttf", "bold": "DejaVuSans-Bold.ttf"}
_FONT_DIRS = (HERE / "fonts", Path("/usr/share/fonts/truetype/dejavu"))
FONT_FAMILY = "DejaVu Sans"
PDF_VARIANT = "pdf/a-3b"

# DIN 5008 form B, millimetres from the sheet's top-left corner (letter.css uses the same).
ADDRESS_X, ADDRESS_Y, ADDRESS_W, ADDRESS_H = 20.0, 45.0, 85.0, 45.0
REMARKS_H = 17.7  # the return-address and remarks zone at the window's top
INDENT = 5.0  # text sits 5 mm inside the window's left edge
RETURN_PT, RETURN_MIN_PT = 7.0, 5.5
RECIPIENT_PT, RECIPIENT_MIN_PT = 10.0, 7.5


class FontMissing(RuntimeError):
    """Neither the vendored nor the system DejaVu Sans is present."""


class RenderFailed(RuntimeError):
    """WeasyPrint could not draw part of the letter (see the module doc)."""


class _Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage()[:200])


_LOCK = threading.Lock()


def font_path(weight: str) -> Path:
    name = _FONT_FILES[weight]
    for folder in _FONT_DIRS:
        candidate = folder / name
        if candidate.is_file():
            return candidate
    searched = ", ".join(str(folder) for folder in _FONT_DIRS)
    raise FontMissing(
        f"font {name} not found in {searched}; restore postcall/fonts or install fonts-dejavu-core"
    )


# --- formatting -----------------------------------------------------------------------------


def german_date(day: dt.date) -> str:
    return day.strftime("%d.%m.%Y")


def format_eur(cents: int) -> str:
    """German money from integer cents: 1234567 → "12.345,67 €" (no floats, no rounding)."""
    sign = "-" if cents < 0 else ""
    euros, rest = divmod(abs(cents), 100)
    grouped = f"{euros:,}".replace(",", ".")
    return f"{sign}{grouped},{rest:02d} €"


def euro_words(cents: int) -> str:
    """An amount as a screen reader should say it: "27 Euro und 95 Cent"."""
    euros, rest = divmod(cents, 100)
    grouped = f"{euros:,}".replace(",", ".")
    return f"{grouped} Euro und {rest} Cent" if rest else f"{grouped} Euro"


@functools.cache
def _advances(weight: str) -> tuple[dict[int, str], dict[str, tuple[int, int]], int]:
    with TTFont(font_path(weight)) as font:
        cmap = dict(font.getBestCmap())
        metrics = {name: font["hmtx"][name] for name in {*cmap.values(), ".notdef"}}
        return cmap, metrics, int(font["head"].unitsPerEm)


def text_width_mm(text: str, size_pt: float, *, weight: str = "regular") -> float:
    """The width of one line of ``text`` in DejaVu Sans (advance widths, no kerning): enough
    to pick a size at which a line fits the window."""
    cmap, metrics, units = _advances(weight)
    fallback = metrics.get(".notdef", (units // 2, 0))[0]
    total = sum(metrics.get(cmap.get(ord(ch), ""), (fallback, 0))[0] for ch in text)
    return total / units * size_pt * 25.4 / 72


def fitting_size(lines: list[str], width_mm: float, largest: float, smallest: float) -> float:
    """The largest size from ``largest`` down to ``smallest`` (in half points) at which every
    line fits ``width_mm``; ``smallest`` when none does (the line then wraps inside the zone)."""
    size = largest
    while size > smallest and any(text_width_mm(line, size) > width_mm for line in lines):
        size -= 0.5
    return max(size, smallest)


def data_uri(content: bytes, media_type: str) -> str:
    return f"data:{media_type};base64,{base64.b64encode(content).decode('ascii')}"


# --- rendering ------------------------------------------------------------------------------


@functools.cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["eur"] = format_eur
    env.filters["date"] = german_date
    env.filters["euro_words"] = euro_words
    return env


@functools.cache
def _style() -> tuple[FontConfiguration, CSS]:
    fonts = FontConfiguration()
    faces = "".join(
        f"@font-face {{ font-family: '{FONT_FAMILY}'; font-weight: {weight};"
        f" src: url('{font_path(name).as_uri()}'); }}\n"
        for name, weight in (("regular", "normal"), ("bold", "bold"))
    )
    css = (TEMPLATES / "letter.css").read_text(encoding="utf-8")
    return fonts, CSS(string=faces + css, font_config=fonts, base_url=str(TEMPLATES))


def render_html(template: str, context: Mapping[str, Any]) -> str:
    return _environment().get_template(template).render(**context)


def html_to_pdf(html: str) -> bytes:
    """Tagged PDF/A-3b from a letter's HTML (no network: images are data URIs)."""
    fonts, css = _style()
    # Letters load nothing from the network: the fonts are files, images are data URIs; a
    # resource that fails to load stops the letter instead of leaving a gap.
    fetcher = URLFetcher(allowed_protocols=("data", "file"), fail_on_errors=True)
    identifier = hashlib.md5(html.encode("utf-8"), usedforsecurity=False).hexdigest()
    errors = _Errors()
    log = logging.getLogger("weasyprint")
    with _LOCK:
        log.addHandler(errors)
        try:
            document = HTML(string=html, base_url=str(TEMPLATES), url_fetcher=fetcher)
            pdf = document.write_pdf(
                stylesheets=[css], font_config=fonts, pdf_variant=PDF_VARIANT, pdf_tags=True,
                pdf_identifier=identifier.encode("ascii"),
            )
        finally:
            log.removeHandler(errors)
    if errors.messages:
        raise RenderFailed("; ".join(errors.messages))
    assert isinstance(pdf, bytes)  # write_pdf returns the bytes when given no target
    return pdf


def render_letter(template: str, context: Mapping[str, Any]) -> bytes:
    return html_to_pdf(render_html(template, context))
