"""pdf_text.multi_cell against fpdf2's own multi_cell: same page content, position and result."""

from __future__ import annotations

import random
from typing import Any

import pytest
from fpdf import FPDF
from fpdf.enums import MethodReturnValue
from fpdf.errors import FPDFException

from postcall import pdf_fonts, pdf_text
from postcall.pdf_layout import FONT_FAMILY, font_path
from postcall.pdf_text import split_lines

WORDS = (
    "Gebührenbescheid", "der", "für", "Meldebescheinigung", "€", "12,50", "§ 23", "VwVfG", "a",
    "Straße", "Widerspruch", "Rechtsbehelfsbelehrung:", "Νίκος", "Иван", "Nguyễn", "中",
    "Donaudampfschifffahrtsgesellschaftskapitänsmützenabzeichen", "(GebVerz.", "Nr.", "3.1)",
)  # fmt: skip


def page(y: float = 30) -> FPDF:
    pdf = FPDF(format="A4")
    for style in ("", "B"):
        pdf_fonts.add_font(pdf, FONT_FAMILY, style, font_path(style))
    pdf.add_page()
    pdf.set_xy(25, y)
    return pdf


def random_text(rng: random.Random) -> str:
    parts: list[str] = []
    for _ in range(rng.randint(0, 60)):
        parts.append(rng.choice(WORDS))
        parts.append(rng.choice((" ", " ", " ", " ", "  ", "\n", "-", " ")))
    return "".join(parts).rstrip("\n")


def random_call(rng: random.Random) -> dict[str, Any]:
    call: dict[str, Any] = {
        "w": rng.choice((0, 12, 20, 35, 50, 80, 165)),
        "h": rng.choice((None, 3, 4.4, 4.6, 6)),
        "text": random_text(rng),
        "align": rng.choice(("L", "J", "R", "C")),
        "new_x": rng.choice(("LEFT", "RIGHT", "LMARGIN")),
        "new_y": rng.choice(("NEXT", "TOP", "LAST")),
    }
    if rng.random() < 0.4:
        call["padding"] = rng.choice((0, 1.2, (1.2, 1.0, 1.2, 1.0), (0, 2, 0, 0)))
    if rng.random() < 0.3:
        call["max_line_height"] = rng.choice((2, 4.4))
    if rng.random() < 0.3:
        call["output"] = MethodReturnValue.PAGE_BREAK | MethodReturnValue.HEIGHT
    return call


def state(pdf: FPDF) -> tuple[Any, ...]:
    contents = tuple(bytes(pdf.pages[number].contents) for number in range(1, pdf.page + 1))
    return pdf.page, round(pdf.x, 9), round(pdf.y, 9), contents


@pytest.mark.parametrize("seed", range(12))
def test_fast_multi_cell_matches_fpdf(seed: int) -> None:
    rng = random.Random(seed)
    taken = 0
    for _ in range(60):
        call = random_call(rng)
        size, bold = rng.choice((6.5, 7, 8, 9, 10, 12, 15)), rng.random() < 0.3
        start_y = rng.choice((30, 150, 255, 268))  # some run over the page break
        reference, fast = page(start_y), page(start_y)
        for pdf in (reference, fast):
            pdf.set_font(FONT_FAMILY, "B" if bold else "", size)
        try:
            expected = FPDF.multi_cell(reference, **call)
        except FPDFException:  # not even one character fits: fpdf2 raises, we defer to it
            assert pdf_text.multi_cell(fast, (), call) is None
            continue
        result = pdf_text.multi_cell(fast, (), call)
        assert result is not None, call  # a plain call never falls back
        taken += 1
        assert result == expected, call
        assert state(fast) == state(reference), call
    assert taken >= 50


def test_positional_arguments_and_what_is_left_to_fpdf() -> None:
    reference, fast = page(), page()
    for pdf in (reference, fast):
        pdf.set_font(FONT_FAMILY, "", 10)
    expected = FPDF.multi_cell(reference, 80, 4.6, "Guten Tag Jürgen Weiß, " * 8, align="L")
    assert pdf_text.multi_cell(fast, (80, 4.6, "Guten Tag Jürgen Weiß, " * 8), {"align": "L"}) == (
        expected
    )
    assert state(fast) == state(reference)
    left_to_fpdf = [
        {"w": 80, "text": "mit **Markdown**", "markdown": True},
        {"w": 80, "text": "gerahmt", "border": 1},
        {"w": 80, "text": "weich\u00adgetrennt"},
        {"w": 80, "text": "geschützt\u00a0verbunden"},
        {"w": 80, "text": "endet mit Umbruch\n"},
        {"w": 80, "text": "Seite {nb}"},
        {"w": 80, "text": "Zeilen", "output": "LINES"},
        {"w": 80, "text": "trocken", "dry_run": True},
    ]
    for call in left_to_fpdf:
        assert pdf_text.multi_cell(fast, (), call) is None, call
    fast.set_font("helvetica", "", 10)  # not one of our fonts
    assert pdf_text.multi_cell(fast, (), {"w": 80, "text": "Kern"}) is None


def test_split_lines_breaks_like_fpdf() -> None:
    pdf = page()
    pdf.set_font(FONT_FAMILY, "", 10)
    font = pdf.current_font
    assert isinstance(font, pdf_fonts.LetterFont)
    text = "Gegen diesen Bescheid kann innerhalb eines Monats Widerspruch erhoben werden."
    lines = split_lines(text, font.cw, 10, pdf.k, 60 - 2 * pdf.c_margin)
    expected = FPDF.multi_cell(pdf, 60, 4, text, dry_run=True, output="LINES")
    assert lines is not None and [line.text for line in lines] == expected
    assert [line.justifiable for line in lines] == [True] * (len(lines) - 1) + [False]
