"""The cover letter (Begleitschreiben) for documents posted without a fee notice.

A postal case that was free of charge or paid online still needs a letter in the window
envelope: it names the request and the enclosed documents, so the print room's batch has a
first page for every envelope. Written in German like the fee notice, on the same DIN 5008 frame.
"""

from __future__ import annotations

from dataclasses import dataclass

from postcall.documents import LetterBase
from postcall.pdf_layout import LINE_H, LetterPDF, german_date

COVER_TITLE = "Ihre Unterlagen"


@dataclass(frozen=True, kw_only=True)
class CoverLetterData(LetterBase):
    payment_note: str = ""  # one sentence about the fee, e.g. "Die Leistung ist gebührenfrei."


def _info(data: CoverLetterData) -> list[tuple[str, str]]:
    auth = data.authority
    info = [("Kassenzeichen", data.case_number)]
    if data.appointment_reference:
        when = f" am {german_date(data.service_date)}" if data.service_date else ""
        info.append(("Ihr Termin", f"{data.appointment_reference}{when}"))
    info.append(("Auskunft", auth.department or auth.name))
    if auth.phone:
        info.append(("Telefon", auth.phone))
    if auth.email:
        info.append(("E-Mail", auth.email))
    info.append(("Datum", german_date(data.issue_date)))
    return info


def render_cover_letter(data: CoverLetterData) -> bytes:
    pdf = LetterPDF(
        data.authority, subject=COVER_TITLE, case_number=data.case_number, date=data.issue_date
    )
    pdf.first_page(data.recipient, _info(data))
    when = f" (Videotermin am {german_date(data.service_date)})" if data.service_date else ""
    pdf.subject_line(COVER_TITLE, f"Leistung: {data.service}{when}")
    pdf.paragraph(f"Guten Tag {data.recipient.name},")
    pdf.ln(LINE_H * 0.6)
    pdf.paragraph("anbei erhalten Sie die Unterlagen zu Ihrem Antrag:")
    pdf.ln(LINE_H * 0.4)
    for line in data.lines:
        count = f" ({line.quantity}×)" if line.quantity > 1 else ""
        pdf.paragraph(f"–  {line.description}{count}")
    if data.payment_note:
        pdf.ln(LINE_H * 0.6)
        pdf.paragraph(data.payment_note)
    pdf.ln(LINE_H * 0.6)
    pdf.paragraph(
        f"Bei Fragen wenden Sie sich bitte unter Angabe des Kassenzeichens {data.case_number} "
        "an uns."
    )
    pdf.keep_space(LINE_H * 4)
    pdf.ln(LINE_H)
    pdf.paragraph("Mit freundlichen Grüßen")
    pdf.paragraph(data.authority.department or data.authority.name)
    return bytes(pdf.output())
