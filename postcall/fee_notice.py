"""The fee notice (Gebührenbescheid) and the receipt (Zahlungsbestätigung) as PDF.

A fee notice is an administrative act, so it is written in German, the official language
(§ 23 VwVfG); there is no translated variant. It carries every element the law and DESIGN.md ask
for: the issuing authority, the debtor, the date, the case number (Kassenzeichen), the public
service, each item with its legal basis and fee-schedule number, the total, the due date, the
bank details with the Kassenzeichen as payment reference, a GiroCode for the open amount and the
legal-remedy notice. A corrected notice (after a refund) says which notice it replaces and what
is refunded. A receipt confirms an online payment and asks for nothing; a payment reminder
(Zahlungserinnerung) repeats the open amount with a new date and the GiroCode.

The letters are the templates ``fee_notice.html``, ``receipt.html`` and ``reminder.html`` in
``postcall/templates/letters``, rendered by ``postcall.letter_render`` (tagged PDF/A-3b). The
GiroCode is an SVG image (vector, sharp at any print resolution) whose alternative text states
the payment data in words, so a screen reader tells what the code holds.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from postcall.documents import (
    Authority,
    DocumentError,
    FeeNoticeData,
    LetterBase,
    ReceiptData,
)
from postcall.girocode import (
    EpcTransfer,
    epc_transfer,
    group_iban,
    normalize_bic,
    remittance_text,
)
from postcall.letter_frame import letter_frame, salutation
from postcall.letter_render import euro_words, format_eur, german_date, render_letter

NOTICE_TITLE = "Gebührenbescheid"
CORRECTED_TITLE = "Geänderter Gebührenbescheid"
RECEIPT_TITLE = "Zahlungsbestätigung (Quittung)"
REMINDER_TITLE = "Zahlungserinnerung"
NOTICE_NOTE = "Dieser Bescheid wurde maschinell erstellt und ist ohne Unterschrift gültig."
RECEIPT_NOTE = "Diese Quittung wurde maschinell erstellt und ist ohne Unterschrift gültig."
REMINDER_NOTE = "Dieses Schreiben wurde maschinell erstellt und ist ohne Unterschrift gültig."


@dataclass(frozen=True, kw_only=True)
class ReminderData(LetterBase):
    """A Zahlungserinnerung: the fee notice of ``notice_date`` is unpaid after ``due_date``;
    the open amount is asked for by ``pay_by``."""

    notice_date: dt.date
    due_date: dt.date
    pay_by: dt.date
    paid_cents: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.lines:
            raise DocumentError("a reminder needs the notice's fee items")
        if self.open_cents <= 0:
            raise DocumentError("a reminder needs an open amount")
        if self.pay_by < self.issue_date:
            raise DocumentError("the new date must not be before the date of the reminder")

    @property
    def open_cents(self) -> int:
        return max(self.total_cents - self.paid_cents, 0)


@dataclass(frozen=True)
class PaymentBlock:
    """The bank details and the GiroCode of a letter that asks for money."""

    rows: list[tuple[str, str]]
    qr_uri: str
    alt: str


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


def transfer_for(auth: Authority, case_number: str, open_cents: int) -> EpcTransfer | None:
    """The GiroCode's transfer for an open amount; None when nothing is to be paid."""
    if open_cents <= 0:
        return None
    bank = auth.account
    return epc_transfer(
        bank.account_holder, bank.iban, bank.bic, open_cents,
        text=remittance_text(case_number, auth.remittance_prefix),
    )


def notice_transfer(data: FeeNoticeData) -> EpcTransfer | None:
    """The GiroCode's transfer for the notice's open amount; None when nothing is to be paid."""
    return transfer_for(data.authority, data.case_number, data.open_cents)


def notice_epc_payload(data: FeeNoticeData) -> str | None:
    """The GiroCode payload for the notice's open amount; None when nothing is to be paid."""
    transfer = notice_transfer(data)
    return None if transfer is None else transfer.payload


def payment_block(auth: Authority, transfer: EpcTransfer, due: dt.date) -> PaymentBlock:
    bank = auth.account
    amount = format_eur(transfer.amount_cents)
    rows = [
        ("Empfänger", bank.account_holder),
        ("IBAN", group_iban(bank.iban)),
        ("BIC", normalize_bic(bank.bic)),
        ("Bank", bank.bank_name),
        ("Betrag", amount),
        ("Fällig am", german_date(due)),
        ("Verwendungszweck", transfer.text),
    ]
    alt = (
        f"GiroCode für die Überweisung: an {transfer.name}, IBAN {group_iban(transfer.iban)}"
        + (f", BIC {transfer.bic}" if transfer.bic else "")
        + f", Betrag {euro_words(transfer.amount_cents)}, Verwendungszweck {transfer.text}."
    )
    qr = transfer.qr().svg_data_uri(border=4, dark="#000", light="#fff", unit="mm")
    return PaymentBlock(rows=rows, qr_uri=qr, alt=alt)


def render_fee_notice(data: FeeNoticeData) -> bytes:
    """The Gebührenbescheid (or, with `corrects`, the Geänderter Bescheid) as a PDF."""
    transfer = notice_transfer(data)  # validates IBAN/BIC before any rendering
    title = CORRECTED_TITLE if data.corrects else NOTICE_TITLE
    extra: list[tuple[str, str]] = []
    if data.paid_cents:
        extra.append(("Bereits gezahlt", format_eur(-data.paid_cents)))
        if data.refund_cents:
            extra.append(("Erstattungsbetrag", format_eur(data.refund_cents)))
        else:
            extra.append(("Noch zu zahlen", format_eur(data.open_cents)))
    frame = letter_frame(data, title, NOTICE_NOTE)
    pay = None if transfer is None else payment_block(data.authority, transfer, data.due_date)
    return render_letter("fee_notice.html", frame.context(
        data=data, extra=extra, pay=pay, remedy_text=legal_remedy_text(data),
        greeting=salutation(frame.style, data.recipient.name),
    ))


def render_receipt(data: ReceiptData) -> bytes:
    """The Zahlungsbestätigung for fees paid online: paid amount and date, no QR code."""
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
    frame = letter_frame(data, RECEIPT_TITLE, RECEIPT_NOTE)
    return render_letter("receipt.html", frame.context(
        data=data, paid_rows=rows, open_cents=open_cents,
        greeting=salutation(frame.style, data.recipient.name),
    ))


def render_reminder(data: ReminderData) -> bytes:
    """The Zahlungserinnerung: the open amount, the new date, bank details and GiroCode."""
    transfer = transfer_for(data.authority, data.case_number, data.open_cents)
    assert transfer is not None  # ReminderData has an open amount
    extra: list[tuple[str, str]] = []
    if data.paid_cents:
        extra = [("Bereits gezahlt", format_eur(-data.paid_cents)),
                 ("Noch zu zahlen", format_eur(data.open_cents))]
    frame = letter_frame(data, REMINDER_TITLE, REMINDER_NOTE)
    return render_letter("reminder.html", frame.context(
        data=data, extra=extra, pay=payment_block(data.authority, transfer, data.pay_by),
        greeting=salutation(frame.style, data.recipient.name),
    ))


def render_document(data: FeeNoticeData | ReceiptData) -> bytes:
    if isinstance(data, ReceiptData):
        return render_receipt(data)
    return render_fee_notice(data)
