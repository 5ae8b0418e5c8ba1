"""The letters of a case (fee notice, corrected notice, receipt, cover letter) and what follows
a completion.

Letters are made from the case, its items, the office (letterhead, bank details, legal-remedy
address) and the appointment (name, day of the call) plus the postal address, rendered once and
stored as PDF bytes (``CaseDocument``): the e-mail, the citizen's download and the print room
get the same file. Each letter is keyed by its ``origin`` (``rev1``: the notice of the case's
first completion; ``job42``: a corrected notice made by job 42; ``receipt``), so a retried job
or a download racing the worker finds the letter instead of issuing a second one. Rendering
(~0.1 s) runs in a thread and outside any write transaction.

The fee notice served for a case is its latest one: after a refund or a re-completion the
corrected notice ("Geänderter Bescheid", naming the notice it replaces) takes its place.

``after_completion`` is called by ``postcall.decisions.complete`` in the completing transaction:
it records the ``completed`` milestone, asks the worker for the fee notice mail (payment by
fee notice with an amount), queues the letter for the post, or records the forwarding to
another authority.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from booking.models import Appointment, Office
from cases.completion import case_record
from cases.milestones import Milestone, MilestoneKind, reach
from cases.models import (
    Case,
    CaseItem,
    CaseState,
    Channel,
    Delivery,
    Payment,
    PaymentStatus,
)
from core.audit import Actor
from core.jobs import enqueue
from core.tenancy import town_name
from core.transactions import Transactions
from core.types import utcnow
from postcall.cover_letter import CoverLetterData, render_cover_letter
from postcall.dispatch import postal_address, queue_for_case, withdraw_for_case
from postcall.dispatch_models import CaseDocument, DocumentKind
from postcall.documents import (
    Authority,
    DocumentError,
    FeeLine,
    FeeNoticeData,
    LetterAddress,
    ReceiptData,
)
from postcall.fee_notice import ReminderData, render_fee_notice, render_receipt, render_reminder
from postcall.letter_models import OfficeLetter
from postcall.letter_templates import letter_style, office_letter
from postcall.payments.queries import payment_totals

NOTICE_JOB = "case.notice"
RECEIPT_JOB = "payment.receipt"
CORRECTED_JOB = "case.corrected_notice"
# Printed when a fee-schedule item carries no reference of its own (a configuration gap the
# office should close; the notice still names the fee schedule as the basis).
FALLBACK_LEGAL_BASIS = "Gebührenverzeichnis"
SERVICE_MAX = 120
REMINDER_DAYS = 14  # a payment reminder asks for the open amount within two weeks


class LetterUnavailable(DocumentError):
    """The office's settings cannot make this letter (no bank details, no address)."""


@dataclass(frozen=True)
class CaseFacts:
    """Everything a letter of the case is made of, read in one transaction."""

    case: Case
    items: list[CaseItem]
    office: Office
    appointment: Appointment | None  # None for a request sent online
    address: tuple[str, ...]
    latest_notice: CaseDocument | None
    letter: OfficeLetter | None = None  # the office's letter template
    municipality: str = ""  # its name where the installation serves several (``tenants``)


@dataclass(frozen=True)
class PaymentFacts:
    paid_cents: int
    paid_on: dt.date
    method: str = ""
    refunded_cents: int = 0


# --- building the data ---------------------------------------------------------------------


def office_today(office: Office, now: dt.datetime | None = None) -> dt.date:
    return (now or utcnow()).astimezone(ZoneInfo(office.timezone)).date()


def authority_for(office: Office, *, payment: bool = True,
                  letter: OfficeLetter | None = None, municipality: str = "") -> Authority:
    """Letterhead and bank details from the office's settings, the office's letter template
    (``letter``: logo, wording, legal-remedy text) where it has one, the name of its
    ``municipality`` where the installation serves several. ``payment=False``: for a letter
    that asks for no money (a rejection notice), which needs the address but no bank details;
    they are printed when the office has them."""
    name = (office.authority or office.name).strip()
    lines = [line.strip() for line in office.address.splitlines() if line.strip()]
    if lines and lines[0] == name:
        lines = lines[1:]  # the address often repeats the authority's name
    has_bank = bool(office.iban and office.bic and office.bank_name)
    if not lines or (payment and not has_bank):
        raise LetterUnavailable(
            f"office {office.id} lacks an address or bank details for its letters"
        )
    bank = {"iban": office.iban, "bic": office.bic, "bank_name": office.bank_name,
            "account_holder": office.epc_name or name}
    try:
        return Authority.of(
            name, "\n".join(lines), **(bank if has_bank else {}),
            department=office.name if office.name != name else "",
            phone=office.phone, email=office.email,
            remittance_prefix=office.remittance_prefix,
            legal_remedy=letter.legal_remedy if letter is not None else "",
            style=letter_style(letter), municipality=municipality,
        )
    except DocumentError as exc:
        raise LetterUnavailable(str(exc)) from exc


async def office_authority(session: AsyncSession, office: Office, *,
                           payment: bool = True) -> Authority:
    """``authority_for`` the office with its letter template and its municipality's name, both
    read in the caller's session."""
    assert office.id is not None
    return authority_for(office, payment=payment, letter=await office_letter(session, office.id),
                         municipality=await town_name(session, office.municipality_id))


def recipient_for(case: Case, address: tuple[str, ...]) -> LetterAddress:
    """The window address: the request's citizen and postal address (a request sent
    anonymously names its e-mail address instead)."""
    name = f"{case.given_name} {case.family_name}".strip() or case.email.strip()
    return LetterAddress(lines=(name, *address))


def address_key(recipient: LetterAddress) -> str:
    """Tells whether a stored letter carries the current window address."""
    return hashlib.sha256("\n".join(recipient.lines).encode()).hexdigest()[:16]


def _service_text(items: list[CaseItem]) -> str:
    text = ", ".join(item.name for item in items) or "Verwaltungsleistung"
    return text if len(text) <= SERVICE_MAX else text[: SERVICE_MAX - 1] + "…"


def fee_lines(items: list[CaseItem]) -> tuple[FeeLine, ...]:
    return tuple(
        FeeLine(description=item.name, legal_basis=item.fee_schedule_ref or FALLBACK_LEGAL_BASIS,
                quantity=item.quantity, unit_cents=item.unit_fee_cents)
        for item in items
    )


def _base(facts: CaseFacts, issue_date: dt.date) -> dict[str, Any]:
    zone = ZoneInfo(facts.office.timezone)
    case = facts.case
    base: dict[str, Any] = {
        "authority": authority_for(facts.office, letter=facts.letter,
                                   municipality=facts.municipality),
        "recipient": recipient_for(case, facts.address),
        "case_number": case.case_number,
        "issue_date": issue_date,
        "service": _service_text(facts.items),
    }
    if case.channel == Channel.online:
        # The request is what the citizen knows ("Ihr Antrag OA-... vom ..."), even when an
        # identity call belonged to it.
        return {**base, "request_reference": case.reference,
                "request_date": case.created_at.astimezone(zone).date()}
    return {
        **base,
        "service_date": (facts.appointment.start_at.astimezone(zone).date()
                         if facts.appointment is not None else None),
        "appointment_reference": facts.appointment.reference if facts.appointment else "",
    }


def notice_data(facts: CaseFacts, issue_date: dt.date, *, corrects: dt.date | None = None,
                payment: PaymentFacts | None = None) -> FeeNoticeData:
    """The fee notice; with ``payment`` (after a refund) what was paid and what is refunded."""
    case = facts.case
    lines = fee_lines(facts.items)
    paid = 0
    if payment is not None:
        paid = payment.paid_cents
        remaining = case.amount_cents - payment.refunded_cents
        if payment.refunded_cents >= case.amount_cents:
            lines = ()  # the whole fee is waived: nothing is owed, what was paid comes back
        elif payment.refunded_cents > 0:
            refs = "; ".join(dict.fromkeys(line.legal_basis for line in lines))
            lines = (FeeLine(description=f"{_service_text(facts.items)} (neu festgesetzt)",
                             legal_basis=refs, unit_cents=remaining),)
    due = max(case.due_date or issue_date, issue_date)
    return FeeNoticeData(**_base(facts, issue_date), lines=lines, due_date=due,
                         paid_cents=paid, corrects=corrects)


def receipt_data(facts: CaseFacts, issue_date: dt.date, payment: PaymentFacts) -> ReceiptData:
    return ReceiptData(**_base(facts, issue_date), lines=fee_lines(facts.items),
                       paid_cents=payment.paid_cents, paid_on=payment.paid_on,
                       payment_method=payment.method)


def cover_data(facts: CaseFacts, issue_date: dt.date) -> CoverLetterData:
    case = facts.case
    if case.amount_cents == 0:
        note = "Die Leistung ist gebührenfrei."
    elif case.payment_status == PaymentStatus.paid:
        note = "Die Gebühren haben Sie bereits bezahlt. Vielen Dank."
    else:
        about = "Antrag" if case.channel == Channel.online else "Termin"
        note = ("Die Gebühren bezahlen Sie bitte online über den Link in der E-Mail zu Ihrem "
                f"{about}.")
    return CoverLetterData(**_base(facts, issue_date), lines=fee_lines(facts.items),
                           payment_note=note)


def reminder_data(facts: CaseFacts, issue_date: dt.date, notice: CaseDocument) -> ReminderData:
    """The payment reminder for ``notice``: its items, what it leaves open, a new date."""
    lines = fee_lines(facts.items)
    total = sum(line.amount_cents for line in lines)
    return ReminderData(
        **_base(facts, issue_date), lines=lines, notice_date=notice.issue_date,
        due_date=notice.due_date or notice.issue_date,
        pay_by=issue_date + dt.timedelta(days=REMINDER_DAYS),
        paid_cents=max(total - notice.open_cents, 0),
    )


async def reminder_letter(db: Transactions, case_id: int, notice: CaseDocument) -> bytes | None:
    """The Zahlungserinnerung as PDF, made on demand (reproducible for the same day); None
    without a case or an open amount."""
    async with db.transaction() as session:
        facts = await case_facts(session, case_id)
    if facts is None or notice.open_cents <= 0:
        return None
    data = reminder_data(facts, office_today(facts.office), notice)
    return await asyncio.to_thread(render_reminder, data)


# --- reading -------------------------------------------------------------------------------


async def latest_document(session: AsyncSession, case_id: int,
                          kinds: tuple[DocumentKind, ...]) -> CaseDocument | None:
    query = (
        select(CaseDocument)
        .where(col(CaseDocument.case_id) == case_id,
               col(CaseDocument.kind).in_([k.value for k in kinds]))
        .order_by(col(CaseDocument.id).desc())
    )
    return (await session.execute(query)).scalars().first()


async def document_by_origin(session: AsyncSession, case_id: int,
                             origin: str) -> CaseDocument | None:
    query = select(CaseDocument).where(col(CaseDocument.case_id) == case_id,
                                       col(CaseDocument.origin) == origin)
    return (await session.execute(query)).scalars().first()


async def served_document(session: AsyncSession, case: Case) -> CaseDocument | None:
    """What ``/me/fee-notice.pdf`` serves: the latest fee notice (a changed one replaces the
    first), or else the receipt of an online payment."""
    assert case.id is not None
    notice = await latest_document(session, case.id, (DocumentKind.fee_notice,))
    if notice is not None and notice.revision == case.revision:
        return notice  # a notice of an earlier completion no longer stands
    return await latest_document(session, case.id, (DocumentKind.receipt,))


async def case_facts(session: AsyncSession, case_id: int) -> CaseFacts | None:
    record = await case_record(session, case_id)
    if record is None:
        return None
    return CaseFacts(
        case=record.case, items=record.items, office=record.office,
        appointment=record.appointment,
        address=await postal_address(session, record.case.id),
        latest_notice=await latest_document(session, case_id, (DocumentKind.fee_notice,)),
        letter=await office_letter(session, record.office.id),
        municipality=await town_name(session, record.office.municipality_id),
    )


async def payment_facts(session: AsyncSession, case: Case) -> PaymentFacts:
    """What was paid and refunded: the online payment's records, else the case itself (a fee
    notice paid by transfer) with the day of its ``paid`` milestone."""
    assert case.id is not None
    paid_at = (await session.execute(
        select(col(Milestone.at)).where(col(Milestone.case_id) == case.id,
                                        col(Milestone.kind) == MilestoneKind.paid)
    )).scalar_one_or_none()
    office = await session.get(Office, case.office_id)
    zone = ZoneInfo(office.timezone if office is not None else "Europe/Berlin")
    totals = await payment_totals(session, case.id)
    if totals.paid_cents > 0:  # paid online: the attempt and its refunds are the facts
        paid_on = (totals.paid_at or paid_at or utcnow()).astimezone(zone).date()
        return PaymentFacts(paid_cents=totals.paid_cents, paid_on=paid_on,
                            refunded_cents=totals.refunded_cents)
    paid_on = (paid_at or utcnow()).astimezone(zone).date()
    refunded = case.amount_cents if case.payment_status == PaymentStatus.refunded else 0
    return PaymentFacts(paid_cents=case.amount_cents, paid_on=paid_on, refunded_cents=refunded)


# --- making and storing letters --------------------------------------------------------------


Maker = Callable[[CaseFacts, dt.date], tuple[DocumentKind, Any]]


def _render(kind: DocumentKind, data: Any) -> bytes:
    if kind == DocumentKind.receipt:
        return render_receipt(data)
    if kind == DocumentKind.cover_letter:
        return render_cover_letter(data)
    return render_fee_notice(data)  # a fee notice or its postal copy


async def _store(session: AsyncSession, values: dict[str, Any]) -> None:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    await session.execute(
        insert(CaseDocument).values(**values)
        .on_conflict_do_nothing(index_elements=["case_id", "origin"])
    )


async def make_document(db: Transactions, case_id: int, origin: str,
                        maker: Maker) -> CaseDocument | None:
    """The case's letter of ``origin``, made and stored on first use; None without a case."""
    async with db.transaction() as session:
        existing = await document_by_origin(session, case_id, origin)
        if existing is not None:
            return existing
        facts = await case_facts(session, case_id)
    if facts is None:
        return None
    issue_date = office_today(facts.office)
    kind, data = maker(facts, issue_date)
    pdf = await asyncio.to_thread(_render, kind, data)
    notice = isinstance(data, FeeNoticeData)
    values = {
        "case_id": case_id, "kind": kind.value, "origin": origin,
        "revision": facts.case.revision, "corrects_date": getattr(data, "corrects", None),
        "issue_date": data.issue_date, "due_date": getattr(data, "due_date", None),
        "total_cents": data.total_cents, "open_cents": data.open_cents if notice else 0,
        "refund_cents": data.refund_cents if notice else 0,
        "address_key": address_key(data.recipient), "pdf": pdf,
        "sha256": hashlib.sha256(pdf).hexdigest(), "created_at": utcnow(),
    }
    async with db.transaction(write=True) as session:
        await _store(session, values)
        return await document_by_origin(session, case_id, origin)


def _first_notice(facts: CaseFacts, issue_date: dt.date) -> tuple[DocumentKind, Any]:
    latest = facts.latest_notice
    corrects = latest.issue_date if latest is not None else None
    return DocumentKind.fee_notice, notice_data(facts, issue_date, corrects=corrects)


async def ensure_fee_notice(db: Transactions, case_id: int) -> CaseDocument | None:
    """The fee notice for the case's current completion (a re-completed case gets a corrected
    one); None when the case has none (not completed, no fee, not paid by fee notice)."""
    async with db.transaction() as session:
        case = await session.get(Case, case_id)
        if case is None or not needs_notice(case):
            return None
        latest = await latest_document(session, case_id, (DocumentKind.fee_notice,))
        if latest is not None and latest.revision == case.revision:
            return latest
        origin = f"rev{case.revision}"
    return await make_document(db, case_id, origin, _first_notice)


async def make_corrected_notice(db: Transactions, case_id: int,
                                origin: str) -> CaseDocument | None:
    """A "Geänderter Bescheid" after a refund: what was paid and what comes back."""
    async with db.transaction() as session:
        case = await session.get(Case, case_id)
        if case is None or case.state != CaseState.completed:
            return None
        payment = await payment_facts(session, case)

    def maker(facts: CaseFacts, issue_date: dt.date) -> tuple[DocumentKind, Any]:
        latest = facts.latest_notice
        corrects = latest.issue_date if latest is not None else facts.case.decided_at.date()
        return DocumentKind.fee_notice, notice_data(facts, issue_date, corrects=corrects,
                                                    payment=payment)

    return await make_document(db, case_id, origin, maker)


async def ensure_receipt(db: Transactions, case_id: int) -> CaseDocument | None:
    async with db.transaction() as session:
        case = await session.get(Case, case_id)
        if case is None or case.payment_status != PaymentStatus.paid or case.amount_cents <= 0:
            return None
        payment = await payment_facts(session, case)
    return await make_document(
        db, case_id, "receipt",
        lambda facts, day: (DocumentKind.receipt, receipt_data(facts, day, payment)),
    )


async def ensure_letter(db: Transactions, case_id: int) -> CaseDocument | None:
    """The letter to post for the case, with the current postal address in the window: the
    fee notice itself when it already carries that address, else a copy of it that does (the
    address may have been taken down after the notice was e-mailed), or a cover letter."""
    notice = await ensure_fee_notice(db, case_id)
    async with db.transaction() as session:
        facts = await case_facts(session, case_id)
    if facts is None:
        return None
    key = address_key(recipient_for(facts.case, facts.address))
    if notice is not None and notice.address_key == key:
        return notice
    if notice is not None:
        issued, corrects = notice.issue_date, notice.corrects_date

        def copy(facts: CaseFacts, _today: dt.date) -> tuple[DocumentKind, Any]:
            return DocumentKind.postal_copy, notice_data(facts, issued, corrects=corrects)

        return await make_document(db, case_id, f"copy{notice.id}-{key}", copy)
    return await make_document(
        db, case_id, f"cover-rev{facts.case.revision}-{key}",
        lambda facts, day: (DocumentKind.cover_letter, cover_data(facts, day)),
    )


def needs_notice(case: Case) -> bool:
    return (case.state == CaseState.completed and case.payment == Payment.invoice
            and case.amount_cents > 0)


# --- after the completion ----------------------------------------------------------------------


async def after_completion(session: AsyncSession, case: Case) -> None:
    """What a completion sets going, in the completing transaction (see the module doc)."""
    assert case.id is not None
    office = await session.get(Office, case.office_id)
    today = office_today(office) if office is not None else case.decided_at.date()
    system = Actor.system()
    notice = needs_notice(case)
    # The fee notice mail tells the citizen as well: no separate "completed" mail then.
    await reach(session, case.id, MilestoneKind.completed, at=case.completed_at,
                notify=not notice)
    if notice:
        enqueue(session, NOTICE_JOB, {"case_id": case.id, "revision": case.revision})
    if case.delivery == Delivery.post:
        await queue_for_case(session, case, batch_date=today + dt.timedelta(days=1),
                             actor=system)
    else:
        await withdraw_for_case(session, case, system)
    if case.delivery == Delivery.external:
        await reach(session, case.id, MilestoneKind.forwarded, at=case.completed_at,
                    detail=case.external_authority[:300])
