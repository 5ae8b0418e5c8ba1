"""A DIN 5008 form B business letter on A4 with fpdf2: the frame every letter of ours shares.

Positions (millimetres from the top-left corner of the sheet):
  letterhead          0–45 high, text from 25 left
  address field       20 left, 45 top, 85 × 45: return-address line in the upper 17.7 mm
                      (additions and remarks zone), recipient lines below (address zone);
                      text indented to 25 mm so it sits clear of a DL window's edge
  information block   125 left, 50 top, 75 wide (to 200); the date comes last
  fold marks          105 and 210 (a DL envelope takes the sheet folded in three);
  hole mark           148.5 (the middle of the sheet)
  text body           25 left, 20 right, so 165 wide
  footer              Geschäftsangaben (address, contact, bank) on every page
Pages after the first carry a short header (authority, subject, case number, "Seite 2 von 3").

The font is DejaVu Sans, vendored in postcall/fonts (Bitstream Vera licence, see LICENSE there) so
umlauts and ß render the same on every machine; Debian's copy is the fallback. fpdf2 embeds it
(`add_font`) and writes only the glyphs a letter uses (its fontTools subset), so a name in Greek,
Cyrillic or Vietnamese prints as well as a German one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import segno
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from postcall.documents import Authority, LetterAddress, LetterBase
from postcall.girocode import normalize_bic, normalize_iban

FONT_FAMILY = "DejaVu"
_FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}
_FONT_DIRS = (
    Path(__file__).resolve().parent / "fonts",
    Path("/usr/share/fonts/truetype/dejavu"),
)

PAGE_W = 210.0
PAGE_H = 297.0
LEFT = 25.0
RIGHT = 20.0
TEXT_W = PAGE_W - LEFT - RIGHT
ADDRESS_X, ADDRESS_Y, ADDRESS_W, ADDRESS_H = 20.0, 45.0, 85.0, 45.0
ADDRESS_ZONE_Y = ADDRESS_Y + 17.7  # recipient lines start below the remarks zone
INFO_X, INFO_Y, INFO_W = 125.0, 50.0, 75.0
FOLD_MARKS = (105.0, 210.0)
HOLE_MARK = 148.5
FOLLOW_TOP = 32.0  # where text continues on pages after the first
FOOTER_Y = 277.0
BOTTOM_MARGIN = PAGE_H - 270.0  # text stops above the page number and the footer

BODY_PT = 10.0
LINE_H = 4.6
GREY = (90, 90, 90)


class FontMissing(RuntimeError):
    """Neither the vendored nor the system DejaVu Sans is present."""


def font_path(style: str) -> Path:
    name = _FONT_FILES[style]
    for folder in _FONT_DIRS:
        candidate = folder / name
        if candidate.is_file():
            return candidate
    searched = ", ".join(str(folder) for folder in _FONT_DIRS)
    raise FontMissing(
        f"font {name} not found in {searched}; restore postcall/fonts or install fonts-dejavu-core"
    )


def german_date(day: dt.date) -> str:
    return day.strftime("%d.%m.%Y")


def format_eur(cents: int) -> str:
    """German money from integer cents: 1234567 → "12.345,67 €" (no floats, no rounding)."""
    sign = "-" if cents < 0 else ""
    euros, rest = divmod(abs(cents), 100)
    grouped = f"{euros:,}".replace(",", ".")
    return f"{sign}{grouped},{rest:02d} €"


def info_lines(data: LetterBase, contact: str) -> list[tuple[str, str]]:
    """Page one's information block: the case number, the appointment or the request sent
    online, ``contact`` (who answers questions), the office's phone and e-mail, and the date
    last."""
    info = [("Kassenzeichen", data.case_number)]
    if data.request_reference:
        when = f" vom {german_date(data.request_date)}" if data.request_date else ""
        info.append(("Ihr Antrag", f"{data.request_reference}{when}"))
    if data.appointment_reference:
        when = f" am {german_date(data.service_date)}" if data.service_date else ""
        info.append(("Ihr Termin", f"{data.appointment_reference}{when}"))
    return info + contact_lines(data.authority, contact, data.issue_date)


def contact_lines(auth: Authority, contact: str, issue_date: dt.date) -> list[tuple[str, str]]:
    """The end of every information block: who answers questions, the office's phone and
    e-mail, and the date."""
    info = [("Auskunft", contact)]
    if auth.phone:
        info.append(("Telefon", auth.phone))
    if auth.email:
        info.append(("E-Mail", auth.email))
    info.append(("Datum", german_date(issue_date)))
    return info


def service_line(data: LetterBase) -> str:
    """The line under the subject: the service, and the day of its video appointment (or of
    the request sent online)."""
    when = ""
    if data.service_date:
        when = f" (Videotermin am {german_date(data.service_date)})"
    elif data.request_date:
        when = f" (Online-Antrag vom {german_date(data.request_date)})"
    return f"Leistung: {data.service}{when}"


class LetterPDF(FPDF):
    """One letter (possibly several pages). Call `first_page()` then write the body."""

    def __init__(self, authority: Authority, *, subject: str, case_number: str, date: dt.date,
                 reference_label: str = "Kassenzeichen"):
        """``case_number`` is the letter's reference, printed on every later page after
        ``reference_label`` (a rejection has no Kassenzeichen: its Vorgangsnummer)."""
        super().__init__(orientation="P", unit="mm", format="A4")
        self.authority = authority
        self.subject = subject
        self.case_number = case_number
        self.reference_label = reference_label
        self.letter_date = date
        for style in _FONT_FILES:
            self.add_font(FONT_FAMILY, style, font_path(style))
        self.set_margins(LEFT, FOLLOW_TOP, RIGHT)
        self.set_auto_page_break(auto=True, margin=BOTTOM_MARGIN)
        self.set_lang("de-DE")
        self.set_title(f"{subject} {case_number}")
        self.set_author(authority.name)
        self.set_subject(subject)
        self.set_creator(authority.department or authority.name)
        # A fixed creation date keeps the file reproducible for the same data.
        self.set_creation_date(dt.datetime.combine(date, dt.time(8, 0), tzinfo=dt.UTC))
        self.set_text_color(0)
        self.info_bottom = INFO_Y

    # --- fpdf2 hooks ---------------------------------------------------------------------

    def header(self) -> None:
        if self.page_no() == 1:
            return
        self.font(8)
        self.set_text_color(*GREY)
        self.set_xy(LEFT, 15)
        title = f"{self.authority.name} · {self.subject} vom {german_date(self.letter_date)}"
        self.cell(TEXT_W * 0.7, 4, title)
        self.cell(TEXT_W * 0.3, 4, f"Seite {self.page_no()} von {{nb}}", align="R")
        self.set_xy(LEFT, 19)
        self.cell(TEXT_W, 4, f"{self.reference_label} {self.case_number}")
        self.set_draw_color(*GREY)
        self.set_line_width(0.2)
        self.line(LEFT, 24.5, PAGE_W - RIGHT, 24.5)
        self.set_text_color(0)
        self.set_xy(LEFT, FOLLOW_TOP)
        self.font(BODY_PT)

    def footer(self) -> None:
        self.font(8)
        self.set_text_color(*GREY)
        self.set_xy(LEFT, PAGE_H - BOTTOM_MARGIN + 0.5)
        self.cell(TEXT_W, 4, f"Seite {self.page_no()} von {{nb}}", align="R")
        self.set_draw_color(*GREY)
        self.set_line_width(0.2)
        self.line(LEFT, FOOTER_Y - 1.5, PAGE_W - RIGHT, FOOTER_Y - 1.5)
        self.font(6.5)
        auth, bank = self.authority, self.authority.bank
        columns = (
            [auth.name, auth.department, *auth.address_lines],
            [
                f"Telefon {auth.phone}" if auth.phone else "",
                f"E-Mail {auth.email}" if auth.email else "",
                auth.website,
            ],
            # Ungrouped here (the payment block prints it in groups of four): copy-paste friendly.
            [bank.bank_name, f"IBAN {normalize_iban(bank.iban)}", f"BIC {normalize_bic(bank.bic)}"]
            if bank is not None else [],
        )
        col_w = TEXT_W / 3
        for index, column in enumerate(columns):
            lines = [line for line in column if line]
            if not lines:
                continue
            self.set_xy(LEFT + index * col_w, FOOTER_Y)
            self.multi_cell(col_w - 2, 3, "\n".join(lines), new_x=XPos.LEFT, new_y=YPos.NEXT)
        self.set_text_color(0)

    # --- helpers -------------------------------------------------------------------------

    def font(self, size: float, bold: bool = False) -> None:
        self.set_font(FONT_FAMILY, "B" if bold else "", size)

    def first_page(self, recipient: LetterAddress, info: Sequence[tuple[str, str]]) -> None:
        """Page one's frame: letterhead, marks, window address, information block."""
        self.add_page()
        self._letterhead()
        self._marks()
        self._address(recipient)
        self._info_block(info)

    def _letterhead(self) -> None:
        auth = self.authority
        self.set_xy(LEFT, 14)
        self.font(15, bold=True)
        self.cell(100, 7, auth.name, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        if auth.department:
            self.font(11)
            self.cell(100, 6, auth.department, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        contact = [*auth.address_lines]
        contact += [f"Telefon {auth.phone}" if auth.phone else "", auth.email, auth.website]
        self.font(8)
        self.set_text_color(*GREY)
        self.set_xy(INFO_X, 14)
        lines = "\n".join(line for line in contact if line)
        self.multi_cell(INFO_W - 10, 3.6, lines, new_x=XPos.LEFT, new_y=YPos.NEXT)
        self.set_text_color(0)

    def _marks(self) -> None:
        self.set_draw_color(120)
        self.set_line_width(0.2)
        for y in FOLD_MARKS:
            self.line(4, y, 9, y)
        self.line(4, HOLE_MARK, 12, HOLE_MARK)
        self.set_draw_color(0)

    def _address(self, recipient: LetterAddress) -> None:
        auth = self.authority
        # The return address must be readable through the window too, so the post can send the
        # letter back; one line, small, underlined.
        sender = " · ".join([auth.name, *auth.address_lines])
        self.font(7)
        while self.get_string_width(sender) > ADDRESS_W - 6 and self.font_size_pt > 5:
            self.font(self.font_size_pt - 0.25)
        self.set_xy(ADDRESS_X + 5, ADDRESS_ZONE_Y - 6)
        self.cell(ADDRESS_W - 6, 3.5, sender)
        self.set_line_width(0.15)
        underline_y = ADDRESS_ZONE_Y - 2.3
        self.line(ADDRESS_X + 5, underline_y, ADDRESS_X + ADDRESS_W - 3, underline_y)
        self.font(BODY_PT)
        y = ADDRESS_ZONE_Y + 1
        for line in recipient.lines:
            self.set_xy(ADDRESS_X + 5, y)
            # Long lines shrink rather than leave the window.
            size = BODY_PT
            while self.get_string_width(line) > ADDRESS_W - 8 and size > 7:
                size -= 0.5
                self.font(size)
            self.cell(ADDRESS_W - 8, 4.2, line)
            self.font(BODY_PT)
            y += 4.2

    def _info_block(self, info: Sequence[tuple[str, str]]) -> None:
        label_w = 24.0
        y = INFO_Y
        for label, value in info:
            self.set_xy(INFO_X, y)
            self.font(7.5)
            self.set_text_color(*GREY)
            self.cell(label_w, 4.4, label)
            self.set_text_color(0)
            # Shrink a long value (an e-mail address) to one line before wrapping it.
            size = 9.0
            self.font(size)
            room = INFO_W - label_w - 2 * self.c_margin - 0.2
            while self.get_string_width(value) > room and size > 7:
                size -= 0.5
                self.font(size)
            self.multi_cell(
                INFO_W - label_w, 4.4, value, align="L", new_x=XPos.LEFT, new_y=YPos.NEXT
            )
            y = self.get_y()
        self.info_bottom = y

    def subject_line(self, title: str, detail: str = "") -> None:
        """Betreff under the address field (and under a long information block)."""
        y = max(ADDRESS_Y + ADDRESS_H + 8.5, self.info_bottom + 6)
        self.set_xy(LEFT, y)
        self.font(12, bold=True)
        self.multi_cell(TEXT_W, 6, title, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        if detail:
            self.font(BODY_PT, bold=True)
            self.multi_cell(TEXT_W, LINE_H, detail, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(LINE_H)
        self.font(BODY_PT)

    def paragraph(self, text: str, *, bold: bool = False, size: float = BODY_PT) -> None:
        self.font(size, bold=bold)
        # Flush left, ragged right, as DIN 5008 sets letters.
        self.multi_cell(TEXT_W, LINE_H, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.font(BODY_PT)

    def heading(self, text: str) -> None:
        """A section heading kept together with at least two lines of what follows."""
        self.keep_space(LINE_H * 4)
        self.ln(LINE_H * 0.5)
        self.paragraph(text, bold=True)
        self.ln(LINE_H * 0.2)

    def closing(self, machine_note: str, *, signer: str = "") -> None:
        """The greeting, ``signer`` (a clerk's name, optional), the office, and the note that
        the letter was made by machine."""
        auth = self.authority
        self.keep_space(LINE_H * (6 if signer else 5))
        self.ln(LINE_H)
        self.paragraph("Mit freundlichen Grüßen")
        if signer:
            self.paragraph(signer)
        self.paragraph(auth.department or auth.name)
        self.ln(LINE_H * 0.6)
        self.set_text_color(90)
        self.paragraph(machine_note, size=8)
        self.set_text_color(0)

    def keep_space(self, height: float) -> None:
        if self.will_page_break(height):
            self.add_page()

    def qr(self, qr: segno.QRCode, x: float, y: float, size: float) -> None:
        """Draw the code as vector squares (with its quiet zone): sharp at any print resolution.

        Each run of dark modules in a row is one filled rectangle: a few hundred for a GiroCode
        instead of a square per module.
        """
        border = 4
        matrix = qr.matrix
        module = size / (len(matrix) + 2 * border)
        self.set_fill_color(0)
        for r, row in enumerate(matrix):
            top = y + (border + r) * module
            c, width = 0, len(row)
            while c < width:
                if not row[c]:
                    c += 1
                    continue
                start = c
                while c < width and row[c]:
                    c += 1
                left = x + (border + start) * module
                self.rect(left, top, (c - start) * module, module, style="F")
