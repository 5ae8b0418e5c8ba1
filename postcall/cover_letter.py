"""The cover letter (Begleitschreiben) for documents posted without a fee notice.

A postal case that was free of charge or paid online still needs a letter in the window
envelope: it names the request and the enclosed documents, so the print room's batch has a
first page for every envelope. Written in German like the fee notice, on the same DIN 5008 frame.
"""

from __future__ import annotations

from dataclasses import dataclass

from postcall.documents import LetterBase
from postcall.pdf_layout import LINE_H, LetterPDF, info_lines, service_line

COVER_TITLE = "Ihre Unterlagen"


@dataclass(frozen=True, kw_only=True)
class CoverLetterData(LetterBase):
    payment_note: str = ""  # one sentence about the fee, e.g. "Die Leistung ist gebührenfrei."


def render_cover_letter(data: CoverLetterData) -> bytes:
    pdf = LetterPDF(
        data.authority, subject=COVER_TITLE, case_number=data.case_number, date=data.issue_date
    )
    auth = data.authority
    pdf.first_page(data.recipient, info_lines(data, auth.department or auth.name))
    pdf.subject_line(COVER_TITLE, service_line(data))
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
