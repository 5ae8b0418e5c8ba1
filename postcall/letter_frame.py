"""What the DIN 5008 frame of a letter shows (``templates/letters/_letter.html``).

``Frame`` holds the letterhead (with the municipality's name where an installation serves
several), the return-address line and the recipient for the window, the information block, the
subject, the footer's office details and the closing; the sizes of the window's lines are
picked here so that they fit 80 mm (an authority's name of 80 characters still makes one
return-address line, at a smaller size), since CSS cannot shrink text to fit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from postcall.documents import Authority, LetterAddress, LetterBase, LetterStyle
from postcall.girocode import normalize_bic, normalize_iban
from postcall.letter_render import (
    ADDRESS_W,
    INDENT,
    RECIPIENT_MIN_PT,
    RECIPIENT_PT,
    RETURN_MIN_PT,
    RETURN_PT,
    data_uri,
    fitting_size,
    german_date,
)

WINDOW_TEXT_W = ADDRESS_W - INDENT - 3.0  # the window's text width (3 mm clear on the right)
LOGO_TYPES = ("image/svg+xml", "image/png")


@dataclass(frozen=True, kw_only=True)
class Frame:
    authority: Authority
    recipient: LetterAddress
    subject: str
    reference: str  # on every later page, after reference_label
    date: dt.date
    info: list[tuple[str, str]]
    subject_detail: str = ""
    reference_label: str = "Kassenzeichen"
    signer: str = ""  # a clerk's name under the closing (optional)
    machine_note: str = ""

    @property
    def style(self) -> LetterStyle:
        return self.authority.style

    @property
    def title(self) -> str:
        return f"{self.subject} {self.reference}"

    @property
    def creator(self) -> str:
        return self.authority.department or self.authority.name

    @property
    def created(self) -> str:
        # A fixed time on the letter's date keeps the file reproducible for the same data.
        return f"{self.date.isoformat()}T08:00:00Z"

    @property
    def head_pt(self) -> float:
        """The authority's name in the letterhead: smaller as it grows, so that three lines
        at most fill the 112 mm beside the logo."""
        length = len(self.authority.name)
        return 15.0 if length <= 40 else 13.0 if length <= 70 else 11.0 if length <= 110 else 9.0

    @property
    def logo_uri(self) -> str:
        style = self.style
        if not style.logo or style.logo_type not in LOGO_TYPES:
            return ""
        return data_uri(style.logo, style.logo_type)

    @property
    def remark(self) -> str:
        """The remarks zone's note: a letter without a postal address (a notice sent by
        e-mail) says so instead of leaving a bare name in the window, and the print room sees
        it on the sheet as well as in its queue ("Anschrift fehlt")."""
        return "Keine Postanschrift hinterlegt" if len(self.recipient.lines) < 2 else ""

    @property
    def municipality(self) -> str:
        """The municipality's name above the authority's in the letterhead and first in the
        return address, where the authority's name does not carry it (``tenants``)."""
        return self.authority.named_municipality

    @property
    def return_line(self) -> str:
        """The return address, readable through the window so the post can send it back."""
        sender = [self.municipality] if self.municipality else []
        return " · ".join([*sender, self.authority.name, *self.authority.address_lines])

    @property
    def return_pt(self) -> float:
        return fitting_size([self.return_line], WINDOW_TEXT_W, RETURN_PT, RETURN_MIN_PT)

    @property
    def recipient_pt(self) -> float:
        return fitting_size(list(self.recipient.lines), WINDOW_TEXT_W, RECIPIENT_PT,
                            RECIPIENT_MIN_PT)

    @property
    def footer(self) -> list[list[str]]:
        """The office's details at every page's foot: address, contact, bank (the IBAN
        ungrouped here, copy-paste friendly; the payment block prints it in groups of four)."""
        auth, bank = self.authority, self.authority.bank
        columns = [
            [auth.name, auth.department, *auth.address_lines],
            [f"Telefon {auth.phone}" if auth.phone else "",
             f"E-Mail {auth.email}" if auth.email else "", auth.website],
            [bank.bank_name, f"IBAN {normalize_iban(bank.iban)}",
             f"BIC {normalize_bic(bank.bic)}"] if bank is not None else [],
        ]
        return [[line for line in column if line] for column in columns]

    def context(self, **extra: object) -> dict[str, object]:
        return {"frame": self, **extra}


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


def salutation(style: LetterStyle, name: str) -> str:
    return f"{style.greeting} {name}," if name else f"{style.greeting},"


def letter_frame(data: LetterBase, subject: str, machine_note: str = "") -> Frame:
    """The frame of a letter about a case (fee notice, receipt, reminder, cover letter)."""
    auth = data.authority
    return Frame(
        authority=auth, recipient=data.recipient, subject=subject, reference=data.case_number,
        date=data.issue_date,
        info=info_lines(data, data.clerk_name or auth.department or auth.name),
        subject_detail=service_line(data), machine_note=machine_note,
    )
