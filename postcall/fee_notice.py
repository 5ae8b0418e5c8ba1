"""The fee notice (Gebührenbescheid) and the receipt (Zahlungsbestätigung) as PDF.

A fee notice is an administrative act, so it is written in German, the official language
(§ 23 VwVfG); there is no translated variant. It carries every element the law and DESIGN.md ask
for: the issuing authority, the debtor, the date, the case number (Kassenzeichen), the public
service, each item with its legal basis and fee-schedule number, the total, the due date, the
bank details with the Kassenzeichen as payment reference, a GiroCode for the open amount and the
legal-remedy notice. A corrected notice (after a refund) says which notice it replaces and what
is refunded. A receipt confirms an online payment and asks for nothing.
"""

from __future__ import annotations

from fpdf.fonts import FontFace

from postcall.documents import Authority, FeeNoticeData, LetterBase, ReceiptData
from postcall.girocode import (
    EpcTransfer,
    epc_transfer,
    group_iban,
    normalize_bic,
    remittance_text,
)
from postcall.pdf_layout import (
    FONT_FAMILY,
    LEFT,
    LINE_H,
    TEXT_W,
    LetterPDF,
    format_eur,
    german_date,
    info_lines,
    service_line,
)

NOTICE_TITLE = "Gebührenbescheid"
CORRECTED_TITLE = "Geänderter Gebührenbescheid"
RECEIPT_TITLE = "Zahlungsbestätigung (Quittung)"
QR_CAPTION = ("GiroCode:", "mit Ihrer Banking-App scannen")
_QR_SIZE = 32.0
_COLUMNS = (
    ("Nr.", 9.0, "RIGHT"),
    ("Leistung", 50.0, "LEFT"),
    ("Rechtsgrundlage", 44.0, "LEFT"),
    ("Anzahl", 15.0, "RIGHT"),
    ("Einzelbetrag", 24.0, "RIGHT"),
    ("Betrag", 23.0, "RIGHT"),
)


def legal_remedy_text(data: LetterBase) -> str:
    return remedy_text(data.authority)


def remedy_text(auth: Authority) -> str:
    """The legal-remedy notice of every notice (Bescheid) the authority issues: its own text
    where Land law differs, else Widerspruch within one month at the authority."""
    if auth.legal_remedy.strip():
        return auth.legal_remedy.strip()
    return (
        "Gegen diesen Bescheid kann innerhalb eines Monats nach Bekanntgabe Widerspruch erhoben "
        "werden. Der Widerspruch ist schriftlich oder zur Niederschrift bei "
        f"{auth.name}, {auth.one_line_address} einzulegen."
    )


def notice_transfer(data: FeeNoticeData) -> EpcTransfer | None:
    """The GiroCode's transfer for the notice's open amount; None when nothing is to be paid."""
    if data.open_cents <= 0:
        return None
    bank = data.authority.account
    return epc_transfer(
        bank.account_holder,
        bank.iban,
        bank.bic,
        data.open_cents,
        text=remittance_text(data.case_number),
    )


def notice_epc_payload(data: FeeNoticeData) -> str | None:
    """The GiroCode payload for the notice's open amount; None when nothing is to be paid."""
    transfer = notice_transfer(data)
    return None if transfer is None else transfer.payload


def render_fee_notice(data: FeeNoticeData) -> bytes:
    """The Gebührenbescheid (or, with `corrects`, the Geänderter Bescheid) as a PDF."""
    transfer = notice_transfer(data)  # validates IBAN/BIC before any drawing
    title = CORRECTED_TITLE if data.corrects else NOTICE_TITLE
    pdf = LetterPDF(
        data.authority, subject=title, case_number=data.case_number, date=data.issue_date
    )
    pdf.first_page(data.recipient, _info(data))
    pdf.subject_line(title, service_line(data))
    if data.corrects:
        pdf.paragraph(
            f"Geänderter Bescheid: Dieser Bescheid ersetzt den Gebührenbescheid vom "
            f"{german_date(data.corrects)} zum Kassenzeichen {data.case_number}."
        )
        pdf.ln(LINE_H * 0.6)
    pdf.paragraph(f"Guten Tag {data.recipient.name},")
    pdf.ln(LINE_H * 0.6)
    pdf.paragraph(
        "für die oben genannte Amtshandlung setzen wir folgende Verwaltungsgebühren fest:"
    )
    pdf.ln(LINE_H * 0.6)
    extra: list[tuple[str, str]] = []
    if data.paid_cents:
        extra.append(("Bereits gezahlt", format_eur(-data.paid_cents)))
        if data.refund_cents:
            extra.append(("Erstattungsbetrag", format_eur(data.refund_cents)))
        else:
            extra.append(("Noch zu zahlen", format_eur(data.open_cents)))
    _fee_table(pdf, data, extra)

    if transfer is not None:
        _payment_block(pdf, data, transfer)
    elif data.refund_cents:
        pdf.heading("Erstattung")
        pdf.paragraph(
            f"Den zu viel gezahlten Betrag von {format_eur(data.refund_cents)} erstatten wir "
            "Ihnen auf dem Weg, auf dem Sie gezahlt haben. Sie müssen dafür nichts tun."
        )
    else:
        pdf.heading("Zahlung")
        pdf.paragraph("Die Gebühren sind bereits vollständig bezahlt. Sie müssen nichts tun.")

    pdf.heading("Rechtsbehelfsbelehrung")
    pdf.paragraph(legal_remedy_text(data))
    _closing(
        pdf, data, "Dieser Bescheid wurde maschinell erstellt und ist ohne Unterschrift gültig."
    )
    return bytes(pdf.output())


def render_receipt(data: ReceiptData) -> bytes:
    """The Zahlungsbestätigung for fees paid online: paid amount and date, no QR code."""
    pdf = LetterPDF(
        data.authority, subject=RECEIPT_TITLE, case_number=data.case_number, date=data.issue_date
    )
    pdf.first_page(data.recipient, _info(data))
    pdf.subject_line(RECEIPT_TITLE, service_line(data))
    pdf.paragraph(f"Guten Tag {data.recipient.name},")
    pdf.ln(LINE_H * 0.6)
    pdf.paragraph(
        "vielen Dank für Ihre Zahlung. Wir bestätigen, dass wir die Gebühren für die oben "
        "genannte Amtshandlung erhalten haben:"
    )
    pdf.ln(LINE_H * 0.6)
    _fee_table(pdf, data, [])
    pdf.heading("Zahlung erhalten")
    method = f"Online-Zahlung ({data.payment_method})" if data.payment_method else "Online-Zahlung"
    rows = [
        ("Bezahlt", format_eur(data.paid_cents)),
        ("Bezahlt am", german_date(data.paid_on)),
        ("Zahlungsart", method),
        ("Kassenzeichen", data.case_number),
    ]
    open_cents = data.total_cents - data.paid_cents
    if open_cents > 0:
        rows.append(("Noch offen", format_eur(open_cents)))
    _label_rows(pdf, rows, label_w=32)
    pdf.ln(LINE_H * 0.6)
    if open_cents > 0:
        pdf.paragraph("Über den offenen Betrag erhalten Sie einen gesonderten Bescheid.")
    else:
        pdf.paragraph(
            "Der Betrag ist vollständig bezahlt. Sie müssen nichts weiter tun. "
            "Bitte bewahren Sie diese Quittung für Ihre Unterlagen auf."
        )
    _closing(
        pdf, data, "Diese Quittung wurde maschinell erstellt und ist ohne Unterschrift gültig."
    )
    return bytes(pdf.output())


def render_document(data: FeeNoticeData | ReceiptData) -> bytes:
    if isinstance(data, ReceiptData):
        return render_receipt(data)
    return render_fee_notice(data)


# --- parts ---------------------------------------------------------------------------------


def _info(data: LetterBase) -> list[tuple[str, str]]:
    auth = data.authority
    return info_lines(data, data.clerk_name or auth.department or auth.name)


def _fee_table(pdf: LetterPDF, data: LetterBase, extra: list[tuple[str, str]]) -> None:
    """Items with legal basis and amounts, then the total; headings repeat on a new page."""
    bold = FontFace(family=FONT_FAMILY, emphasis="BOLD")
    headings = FontFace(family=FONT_FAMILY, emphasis="BOLD", size_pt=8)
    pdf.font(9)
    with pdf.table(
        col_widths=tuple(width for _, width, _ in _COLUMNS),
        width=TEXT_W,
        align="LEFT",
        v_align="TOP",
        text_align=tuple(align for _, _, align in _COLUMNS),
        borders_layout="HORIZONTAL_LINES",
        headings_style=headings,
        line_height=4.4,
        padding=(1.2, 1.0, 1.2, 1.0),
        repeat_headings=1,
    ) as table:
        heading = table.row()
        for name, _, _ in _COLUMNS:
            heading.cell(name)
        for position, line in enumerate(data.lines, start=1):
            row = table.row()
            row.cell(str(position))
            row.cell(line.description)
            row.cell(line.legal_basis)
            row.cell(str(line.quantity))
            row.cell(format_eur(line.unit_cents))
            row.cell(format_eur(line.amount_cents))
        total = table.row(style=bold)
        total.cell("Gesamtbetrag", colspan=5, align="RIGHT")
        total.cell(format_eur(data.total_cents))
        for label, amount in extra:
            row = table.row(style=bold)
            row.cell(label, colspan=5, align="RIGHT")
            row.cell(amount)
    pdf.font(10)


def _label_rows(
    pdf: LetterPDF, rows: list[tuple[str, str]], *, label_w: float, width: float = TEXT_W
) -> None:
    for label, value in rows:
        y = pdf.get_y()
        pdf.set_xy(LEFT, y)
        pdf.font(10)
        pdf.cell(label_w, LINE_H, label)
        pdf.font(10, bold=label in ("Betrag", "Verwendungszweck", "Bezahlt"))
        pdf.multi_cell(width - label_w, LINE_H, value, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.font(10)


def _payment_block(pdf: LetterPDF, data: FeeNoticeData, transfer: EpcTransfer) -> None:
    bank = data.authority.account
    amount = format_eur(data.open_cents)
    pdf.heading("Zahlung")
    pdf.paragraph(
        f"Bitte überweisen Sie {amount} bis zum {german_date(data.due_date)} auf das folgende "
        "Konto. Geben Sie als Verwendungszweck bitte nur das Kassenzeichen an, damit wir Ihre "
        "Zahlung zuordnen können."
    )
    pdf.ln(LINE_H * 0.6)
    # The bank details and the code stay together on one page.
    pdf.keep_space(_QR_SIZE + 12)
    top = pdf.get_y()
    rows = [
        ("Empfänger", bank.account_holder),
        ("IBAN", group_iban(bank.iban)),
        ("BIC", normalize_bic(bank.bic)),
        ("Bank", bank.bank_name),
        ("Betrag", amount),
        ("Fällig am", german_date(data.due_date)),
        ("Verwendungszweck", remittance_text(data.case_number)),
    ]
    _label_rows(pdf, rows, label_w=40, width=TEXT_W - _QR_SIZE - 6)
    qr_x = LEFT + TEXT_W - _QR_SIZE - 2
    pdf.qr(transfer.qr(), qr_x, top - 2, _QR_SIZE)
    pdf.set_xy(qr_x, top - 2 + _QR_SIZE)
    pdf.font(7, bold=True)
    pdf.cell(_QR_SIZE, 3.2, QR_CAPTION[0], align="C", new_x="LEFT", new_y="NEXT")
    pdf.font(6.5)
    pdf.cell(_QR_SIZE, 3.2, QR_CAPTION[1], align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_y(max(pdf.get_y(), top + _QR_SIZE + 6))
    pdf.font(10)


def _closing(pdf: LetterPDF, data: LetterBase, machine_note: str) -> None:
    pdf.closing(machine_note)
