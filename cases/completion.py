"""The clerk's desk after the identity check: completing a request into a case, marking a
missed appointment, and (admins) reopening either.

Rules, in one place:

* **Complete** the request of an appointment that is ``confirmed`` or ``in_call``: items from
  the fee schedule (each service once, quantity 1..20; name, fee and fee-schedule reference are
  copied at this moment, free services allowed), a payment (``invoice`` = fee notice,
  ``online``, ``none``) and a delivery (``post``, ``email``, ``pickup``, ``external`` with the
  authority's name). A total of 0 needs no payment (``payment`` becomes ``none``,
  ``payment_status`` ``not_required``); a total above 0 is ``open`` and due ``fee_due_days``
  after today, and ``none`` is refused. ``online`` is refused unless online payment is
  configured. ``post`` queues the dispatch, ``external`` is ``forwarded``, the others need none.
  A service that requires identity needs the latest identity check of the applicant (person 1 of
  the request) to be verified (409 ``identity_required``). The request gets its case number
  (``cases.numbers``) and becomes ``completed``; the appointment becomes ``completed``.
  Completing again is 409.
* **No-show**: only a ``confirmed`` appointment (not one in the call or finished), and only
  once its start time has passed.
* **Reopen** (admins): a ``completed`` or ``no_show`` appointment goes back to ``confirmed``.
  A completed case is kept with its number and marked ``reopened``; the next completion
  replaces its items, payment and delivery and raises its ``revision`` (the same case number,
  so a payment reference already given out stays valid). Refused (409 ``cannot_reopen``) once
  the fee is paid or the documents are printed or posted: those facts cannot be undone here.

Every action is an audit event on the appointment. Services take a session, raise domain
errors and never commit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from booking.models import Appointment, AppointmentStatus, Office, Service
from cases.errors import AlreadyCompleted, CannotReopen, IdentityRequired, NotStartedYet
from cases.identity import (
    CHECKABLE,
    VerificationInput,
    latest_check,
    record_verification,
)
from cases.intake import request_of
from cases.models import (
    Case,
    CaseItem,
    CaseState,
    Channel,
    Delivery,
    DispatchStatus,
    Outcome,
    Payment,
    PaymentStatus,
)
from cases.numbers import DEFAULT_FORMAT, allocate_case_number
from cases.persons import check_persons
from core.audit import Actor, record
from core.document_numbers import no_document_number
from core.errors import Invalid, NotFound, WrongState
from core.types import utcnow

MAX_ITEMS = 20
MAX_QUANTITY = 20
NOTE_MAX = 1000
AUTHORITY_MAX = 200

COMPLETABLE = CHECKABLE
# Dispatch states after which a case can no longer be reopened.
DISPATCHED = frozenset({DispatchStatus.printed, DispatchStatus.posted, DispatchStatus.delivered,
                        DispatchStatus.returned})
DISPATCH_FOR = {
    Delivery.post: DispatchStatus.queued,
    Delivery.external: DispatchStatus.forwarded,
    Delivery.email: DispatchStatus.not_required,
    Delivery.pickup: DispatchStatus.not_required,
}


@dataclass(frozen=True)
class CasePolicy:
    number_format: str = DEFAULT_FORMAT
    fee_due_days: int = 14
    online_payment: bool = False  # offered only when a payment provider is configured


@dataclass(frozen=True)
class ItemInput:
    service_id: int
    quantity: int = 1
    person: int | None = None  # whose item (1 the applicant, 2, 3, ...); None: nobody's


@dataclass(frozen=True)
class CompletionInput:
    items: tuple[ItemInput, ...]
    payment: str
    delivery: str
    external_authority: str = ""
    note: str = ""


# --- reading -----------------------------------------------------------------------------------


async def case_of(session: AsyncSession, appointment_id: int) -> Case | None:
    """The decided (completed or reopened) request of an appointment; None while it is open."""
    query = (
        select(Case)
        .join(Appointment, col(Appointment.case_id) == col(Case.id))
        .where(col(Appointment.id) == appointment_id, col(Case.state) != CaseState.open)
    )
    return (await session.execute(query)).scalars().first()


async def case_items(session: AsyncSession, case_id: int) -> list[CaseItem]:
    query = (
        select(CaseItem)
        .where(col(CaseItem.case_id) == case_id)
        .order_by(col(CaseItem.position), col(CaseItem.id))
    )
    return list((await session.execute(query)).scalars())


@dataclass(frozen=True)
class CaseRecord:
    """A case with what every letter and e-mail about it names: its items, office, and the
    appointment it was decided in (its latest)."""

    case: Case
    items: list[CaseItem]
    office: Office
    appointment: Appointment | None  # None for a request sent online without an appointment


async def case_record(session: AsyncSession, case_id: int) -> CaseRecord | None:
    """None for an unknown case, one whose office is gone, or a video request whose appointment
    is gone."""
    case = await session.get(Case, case_id)
    if case is None:
        return None
    items = await case_items(session, case_id)
    office = await session.get(Office, case.office_id)
    query = (select(Appointment).where(col(Appointment.case_id) == case_id)
             .order_by(col(Appointment.start_at).desc(), col(Appointment.id).desc()).limit(1))
    appointment = (await session.execute(query)).scalars().first()
    if office is None or (appointment is None and case.channel == Channel.video):
        return None
    return CaseRecord(case=case, items=items, office=office, appointment=appointment)


async def completed_case(
    session: AsyncSession, appointment_id: int
) -> tuple[Case, list[CaseItem]] | None:
    """The case as the citizen sees it: only while completed (a reopened case is being
    redone by the office and shows again once completed)."""
    case = await case_of(session, appointment_id)
    if case is None or case.state != CaseState.completed or case.id is None:
        return None
    return case, await case_items(session, case.id)


async def case_municipality(session: AsyncSession, case_id: int) -> int | None:
    """The municipality of a case: work that found it by someone else's id (a provider's
    webhook, with no municipality current) acts for it (``core.tenancy.acting_for``) before it
    changes the case, so that the jobs and audit events it adds are that municipality's."""
    query = select(col(Case.municipality_id)).where(col(Case.id) == case_id)
    return (await session.execute(query)).scalar_one_or_none()


async def case_by_number(session: AsyncSession, case_number: str) -> Case | None:
    query = select(Case).where(col(Case.case_number) == case_number[:40])
    return (await session.execute(query)).scalars().first()


# --- completing --------------------------------------------------------------------------------


async def _build_items(session: AsyncSession, items: tuple[ItemInput, ...]) -> list[CaseItem]:
    if not items:
        raise Invalid("Choose at least one item from the fee schedule.", field="items")
    if len(items) > MAX_ITEMS:
        raise Invalid("At most %(count)s items per case.", field="items", count=MAX_ITEMS)
    seen: set[tuple[int, int | None]] = set()
    for index, item in enumerate(items):
        if (item.service_id, item.person) in seen:
            raise Invalid("Each service only once, please: use the quantity instead.",
                          field=f"items.{index}.service_id")
        seen.add((item.service_id, item.person))
        if not 1 <= item.quantity <= MAX_QUANTITY:
            raise Invalid("The quantity must be between 1 and %(max)s.",
                          field=f"items.{index}.quantity", max=MAX_QUANTITY)
    rows = await session.execute(
        select(Service).where(col(Service.id).in_({sid for sid, _ in seen})))
    services = {s.id: s for s in rows.scalars()}
    built: list[CaseItem] = []
    for index, item in enumerate(items):
        service = services.get(item.service_id)
        if service is None or not service.active:
            raise Invalid("This service is not in the fee schedule.",
                          field=f"items.{index}.service_id")
        built.append(CaseItem(
            case_id=0, position=index, service_id=service.id, person=item.person,
            name=service.name,
            name_en=service.name_en, fee_schedule_ref=service.fee_schedule_ref,
            unit_fee_cents=service.fee_cents, quantity=item.quantity,
            amount_cents=service.fee_cents * item.quantity, currency=service.currency,
        ))
    if len({item.currency for item in built}) > 1:
        raise Invalid("All items of a case must be in the same currency.", field="items")
    return built


def _payment(payment: str, amount: int, policy: CasePolicy) -> tuple[str, str]:
    if payment not in set(Payment):
        raise Invalid("Unknown payment method.", field="payment")
    if amount == 0:
        return Payment.none.value, PaymentStatus.not_required.value
    if payment == Payment.none:
        raise Invalid("A fee is due: choose payment by fee notice or online.", field="payment")
    if payment == Payment.online and not policy.online_payment:
        raise Invalid("Online payment is not available. Please choose a fee notice.",
                      field="payment")
    return payment, PaymentStatus.open.value


def _delivery(delivery: str, authority: str) -> tuple[str, str, str]:
    if delivery not in set(Delivery):
        raise Invalid("Unknown delivery method.", field="delivery")
    authority = " ".join(authority.split())
    if delivery == Delivery.external:
        if not authority:
            raise Invalid("Name the authority that sends the document.",
                          field="external_authority")
        if len(authority) > AUTHORITY_MAX:
            raise Invalid("At most %(max)s characters.", field="external_authority",
                          max=AUTHORITY_MAX)
    elif authority:
        raise Invalid("An authority is named only when another authority sends the document.",
                      field="external_authority")
    return delivery, DISPATCH_FOR[Delivery(delivery)].value, authority


async def _verified_check_id(session: AsyncSession, case: Case, service: Service) -> int | None:
    latest = await latest_check(session, case.id)
    verified = latest if latest is not None and latest.outcome == Outcome.verified else None
    if service.requires_identity and verified is None:
        raise IdentityRequired()
    return verified.id if verified is not None else None


async def check_input(
    session: AsyncSession, data: CompletionInput, policy: CasePolicy,
) -> tuple[list[CaseItem], tuple[str, str], tuple[str, str, str], str]:
    """The completion's items, (payment, its status), (delivery, dispatch status, authority)
    and note, or ``Invalid``."""
    items = await _build_items(session, data.items)
    amount = sum(item.amount_cents for item in items)
    return (items, _payment(data.payment, amount, policy),
            _delivery(data.delivery, data.external_authority),
            no_document_number(data.note.strip()[:NOTE_MAX], "note", strict=False))


async def complete_case(
    session: AsyncSession,
    case: Case,
    data: CompletionInput,
    actor: Actor,
    policy: CasePolicy,
    *,
    now: datetime | None = None,
) -> Case:
    """Decide ``case`` (new, or reopened): items, payment, delivery, case number; see the
    module doc. The caller holds the lock that serialises completions of this request and
    says what else changes (the appointment's status, an online request's)."""
    now = now or utcnow()
    items, (payment, payment_status), (delivery, dispatch_status, authority), note = (
        await check_input(session, data, policy))
    amount = sum(item.amount_cents for item in items)
    service = await session.get(Service, case.service_id)
    office = await session.get(Office, case.office_id)
    if service is None or office is None or office.id is None:
        raise NotFound()
    check_id = await _verified_check_id(session, case, service)
    today = now.astimezone(ZoneInfo(office.timezone)).date()
    due = today + timedelta(days=policy.fee_due_days) if payment_status == "open" else None

    if case.state == CaseState.open:
        assert office.municipality_id is not None
        case.case_number = await allocate_case_number(
            session, year=today.year, fmt=policy.number_format, office_id=office.id,
            municipality_id=office.municipality_id)
    elif case.state == CaseState.reopened:
        await session.execute(delete(CaseItem).where(col(CaseItem.case_id) == case.id))
    else:
        raise AlreadyCompleted()
    case.revision += 1
    case.state = CaseState.completed.value
    case.amount_cents = amount
    case.currency = items[0].currency
    case.payment, case.payment_status = payment, payment_status
    case.delivery, case.dispatch_status = delivery, dispatch_status
    case.external_authority = authority
    case.note = note
    case.due_date = due
    case.identity_check_id = check_id
    case.completed_at = case.updated_at = now
    case.completed_by_id, case.completed_by_label = actor.id, actor.label[:254]
    await session.flush()
    assert case.id is not None
    for item in items:
        item.case_id = case.id
        session.add(item)
    await session.flush()
    return case


async def complete(
    session: AsyncSession,
    appointment: Appointment,
    data: CompletionInput,
    actor: Actor,
    policy: CasePolicy,
    *,
    now: datetime | None = None,
) -> Case:
    """Complete ``appointment`` into its case (new, or the reopened one); see the module doc."""
    now = now or utcnow()
    # The row lock serialises completions, checks and reopenings of one appointment.
    await session.refresh(appointment, with_for_update=True)
    # The input is checked before the appointment's state (a bad body is 422 either way).
    await check_input(session, data, policy)
    await check_persons(session, appointment, {
        f"items.{index}.person": item.person for index, item in enumerate(data.items)})
    if appointment.status == AppointmentStatus.completed:
        raise AlreadyCompleted()
    if appointment.status not in COMPLETABLE:
        raise WrongState()
    case = await request_of(session, appointment)
    case = await complete_case(session, case, data, actor, policy, now=now)
    appointment.status = AppointmentStatus.completed.value
    appointment.updated_at = now
    record(session, actor, "case.complete", "appointment", appointment.id, {
        "reference": appointment.reference, "case_number": case.case_number,
        "revision": case.revision, "amount_cents": case.amount_cents, "payment": case.payment,
        "delivery": case.delivery,
    })
    await session.flush()
    return case


# --- no-show and reopening ---------------------------------------------------------------------


async def mark_no_show(
    session: AsyncSession, appointment: Appointment, actor: Actor, *,
    now: datetime | None = None,
) -> Appointment:
    now = now or utcnow()
    await session.refresh(appointment, with_for_update=True)
    if appointment.status != AppointmentStatus.confirmed:
        raise WrongState()
    if now < appointment.start_at:
        raise NotStartedYet()
    appointment.status = AppointmentStatus.no_show.value
    appointment.updated_at = now
    record(session, actor, "appointment.no_show", "appointment", appointment.id,
           {"reference": appointment.reference})
    await session.flush()
    return appointment


ReopenGuard = Callable[[AsyncSession, Case], Awaitable[None]]


async def reopen(
    session: AsyncSession, appointment: Appointment, actor: Actor, *, reason: str = "",
    now: datetime | None = None, guard: ReopenGuard | None = None,
) -> Case | None:
    """Back to ``confirmed``; returns the (now reopened) case, if there is one.

    ``guard`` may refuse the reopening of a completed case by raising (what happens after the
    decision, e.g. a payment under way, is known to ``postcall``, not here)."""
    now = now or utcnow()
    await session.refresh(appointment, with_for_update=True)
    reason = no_document_number(" ".join(reason.split())[:300], "reason", strict=False)
    previous = appointment.status
    if previous not in (AppointmentStatus.completed, AppointmentStatus.no_show):
        raise WrongState()
    assert appointment.id is not None
    case = await case_of(session, appointment.id)
    if case is not None and case.state == CaseState.completed:
        if case.payment_status == PaymentStatus.paid or case.dispatch_status in DISPATCHED:
            raise CannotReopen()
        if guard is not None:
            await guard(session, case)
        case.state = CaseState.reopened.value
        case.reopened_at = case.updated_at = now
    appointment.status = AppointmentStatus.confirmed.value
    appointment.updated_at = now
    record(session, actor, "appointment.reopen", "appointment", appointment.id, {
        "reference": appointment.reference, "from": previous,
        "case_number": case.case_number if case is not None else None, "reason": reason,
    })
    await session.flush()
    return case


__all__ = [
    "CasePolicy",
    "CompletionInput",
    "ItemInput",
    "VerificationInput",
    "case_by_number",
    "case_items",
    "case_of",
    "complete",
    "completed_case",
    "mark_no_show",
    "record_verification",
    "reopen",
]
