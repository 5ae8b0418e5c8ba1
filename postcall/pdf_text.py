"""`multi_cell` for our letters in linear time, with fpdf2's exact output.

fpdf2's `MultiLineBreak` re-measures the whole line for every character it adds (quadratic in the
line length); on a fee notice that was the largest cost after the fonts, table cells included.
`split_lines` makes the same decisions from running integer sums of the same glyph widths, and
`multi_cell` is fpdf2's `FPDF.multi_cell` (2.8) line for line with that one step replaced. It takes
the plain case our letters and fpdf2's tables use (one font of ours, no markdown, no text shaping,
no borders or fill); anything else returns None and the caller goes to fpdf2.
tests/postcall/test_pdf_text.py compares both on random text, sizes, paddings and page breaks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from fpdf import FPDF
from fpdf.enums import Align, MethodReturnValue, WrapMode, XPos, YPos
from fpdf.line_break import TextLine
from fpdf.util import FloatTolerance, Padding

from postcall.pdf_fonts import LetterFont

# fpdf2's breaking spaces other than " " (line_break.BREAKING_SPACE_SYMBOLS), the no-break space
# and soft hyphen it treats specially, form feed and carriage return: left to fpdf2.
_SPECIAL = frozenset(
    "\u200b\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2008\u2009\u200a\u205f\u3000\t"
    "\u00a0\u00ad\u000c\r"
)


class Line(NamedTuple):
    text: str
    justifiable: bool  # broken at a space: fpdf2 justifies it in a justified block
    kept_fragment: bool  # broken back at a space that began the line: an empty text is printed


def split_lines(
    text: str, widths: Mapping[int, float], size_pt: float, k: float, max_width: float
) -> list[Line] | None:
    """The lines fpdf2 would make of `text`.

    `widths` are the font's glyph widths in thousandths of the size (`TTFFont.cw`), `max_width`
    the room for text (the cell width less both cell margins), in document units. None when the
    text holds a character fpdf2 treats specially, or ends with a line break.
    """
    if _SPECIAL.intersection(text) or text.endswith("\n"):
        return None
    lines: list[Line] = []
    length = len(text)
    start = 0
    last_forced = -1
    while start < length:
        total: float = 0  # glyph widths on the line; fpdf2: width = total * size * 0.001 / k
        space_at = -1  # index in `text` of the last space on the line
        index = start
        line: Line | None = None
        while index < length:
            char = text[index]
            if char == "\n":
                line, start = Line(text[start:index], False, False), index + 1
                break
            glyph = widths[ord(char)]
            char_width = glyph * size_pt * 0.001 / k
            if FloatTolerance.greater_than(total * size_pt * 0.001 / k + char_width, max_width):
                if char == " ":  # a space that does not fit ends the line and is dropped
                    line, start = Line(text[start:index], True, False), index + 1
                elif space_at >= 0:  # back to the last space, which is dropped
                    line, start = Line(text[start:space_at], True, True), space_at + 1
                else:  # one word wider than the line: cut it
                    if last_forced == index:
                        return None  # not even one character fits: fpdf2 raises
                    last_forced = index
                    line, start = Line(text[start:index], False, False), index
                break
            if char == " ":
                space_at = index
            total += glyph
            index += 1
        if line is None:  # the end of the text
            if total * size_pt * 0.001 / k:
                lines.append(Line(text[start:], False, False))
            break
        lines.append(line)
    return lines


_KEYWORDS = frozenset({
    "w", "h", "text", "border", "align", "fill", "link", "max_line_height", "markdown",
    "print_sh", "new_x", "new_y", "wrapmode", "dry_run", "output", "center", "padding",
})  # fmt: skip
_ALIGNS = (Align.L, Align.J, Align.R, Align.C)


def _plain(pdf: FPDF, params: dict[str, Any]) -> bool:
    font, text, w, h = pdf.current_font, params.get("text", ""), params.get("w"), params.get("h")
    return bool(
        pdf.page and isinstance(font, LetterFont) and isinstance(text, str)
        and isinstance(w, (int, float)) and (h is None or isinstance(h, (int, float)))
        and not any(params.get(flag) for flag in
                    ("border", "fill", "markdown", "print_sh", "dry_run", "center"))
        and WrapMode.coerce(params.get("wrapmode", WrapMode.WORD)) == WrapMode.WORD
        and not MethodReturnValue.coerce(params.get("output", MethodReturnValue.PAGE_BREAK))
        & MethodReturnValue.LINES
        and Align.coerce(params.get("align", Align.J)) in _ALIGNS
        and not (pdf.text_shaping or pdf._fallback_font_ids or pdf.char_spacing
                 or pdf.underline or pdf.strikethrough or pdf.font_stretching != 100)
        and not (pdf.str_alias_nb_pages and pdf.str_alias_nb_pages in text)
    )  # fmt: skip


def multi_cell(pdf: FPDF, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """`pdf.multi_cell(*args, **kwargs)` if the call is plain (see the module), else None."""
    if len(args) > 3 or not _KEYWORDS.issuperset(kwargs):
        return None
    params = dict(zip(("w", "h", "text"), args, strict=False)) | kwargs
    if not _plain(pdf, params):
        return None
    font = pdf.current_font
    assert isinstance(font, LetterFont)
    text: str = params.get("text", "")
    align = Align.coerce(params.get("align", Align.J))
    new_x = XPos.coerce(params.get("new_x", XPos.RIGHT))
    new_y = YPos.coerce(params.get("new_y", YPos.NEXT))
    padding = Padding.new(params.get("padding", 0))
    output = MethodReturnValue.coerce(params.get("output", MethodReturnValue.PAGE_BREAK))
    max_line_height = params.get("max_line_height")
    h: float = pdf.font_size if params.get("h") is None else params["h"]
    w: float = params["w"] or pdf.w - pdf.r_margin - pdf.x
    prev_y = pdf.y
    w = w - padding.right - padding.left
    room = w
    for side in (padding.left, padding.right):
        if not side:
            room -= float(pdf.c_margin)
    lines = split_lines(text, font.cw, pdf.font_size_pt, pdf.k, room)
    if lines is None:
        return None
    pdf.x += padding.left
    pdf.y += padding.top
    line_height = h if max_line_height is None or len(lines) <= 1 else min(h, max_line_height)
    page_break = False
    total: float = 0
    for number, line in enumerate(lines or [Line("", False, False)]):
        if pdf._perform_page_break_if_need_be(h + padding.bottom):
            page_break = True
            pdf.y += padding.top
        last = number >= len(lines) - 1
        line_align = Align.L if align == Align.J and not line.justifiable and lines else align
        fragments = pdf._preload_font_styles(line.text or " " * line.kept_fragment, False)
        if line.kept_fragment and not line.text:
            fragments = (fragments[0].clone(characters=""),)
        pdf._render_styled_text_line(
            TextLine(
                fragments, text_width=0,
                number_of_spaces=line.text.count(" "), align=line_align, height=line_height,
                max_width=w, trailing_nl=False,
            ),
            h=line_height, new_x=new_x if last else XPos.LEFT,
            new_y=new_y if last else YPos.NEXT, border=0, fill=False, link=params.get("link"),
            padding=Padding(0, padding.right, 0, padding.left), prevent_font_change=False,
        )  # fmt: skip
        total += line_height
    if total < h:
        if new_y == YPos.NEXT:
            pdf.y += h - total
        total = h
    if page_break and new_y == YPos.TOP:
        prev_y = pdf.y
    if new_y == YPos.TOP:
        pdf.y = prev_y
    elif new_y == YPos.NEXT:
        pdf.y += padding.bottom
    if new_x == XPos.RIGHT:
        pdf.x += padding.right
    elif new_x == XPos.LEFT:
        pdf.x -= padding.left
    result: tuple[Any, ...] = ()
    if output & MethodReturnValue.PAGE_BREAK:
        result += (page_break,)
    if output & MethodReturnValue.HEIGHT:
        result += (total + padding.top + padding.bottom,)
    return result[0] if len(result) == 1 else result
