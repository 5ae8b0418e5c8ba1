"""Online payment of a case, step by step inside the caller's transaction (never committing).

The rules, in one place:

* **Start.** A completed case whose fee is ``open`` or ``failed`` (paid by fee notice or
  online) may start a payment attempt; ``not_required``/``paid``/``refunded`` get 409, and so
  does a case with a debit still being processed (``pending``), so nobody pays twice. A new
  attempt replaces the case's open ones (they are marked ``expired`` and, best effort, expired
  at the provider). The return URLs name the attempt by a random id, never the citizen's token.
* **Fulfil.** Whatever reports the outcome — a webhook event, the success page, the
  reconciliation — goes through ``apply_session``: the attempt moves only forward
  (``paid`` is final and wins over everything; a failure never un-pays; ``pending`` never
  follows a finished attempt), so duplicate and out-of-order reports change nothing. The first
  ``paid`` of a case sets its ``payment_status`` to ``paid``, records the ``paid`` milestone, an
  audit event and a ``payment.receipt`` job, all in the caller's one transaction. A session
  that does not match its attempt (amount, currency, case number) is not fulfilled but audited.
* **Refund** (admins, ``refunds.py``): full by default, or partial up to what is left; asked
  of the provider outside any transaction. A full refund sets ``payment_status`` ``refunded``; a
  partial one leaves it ``paid`` with ``refunded_cents`` counted from the refunds. Each refund is
  audited, reaches the ``refunded`` milestone and queues a ``case.corrected_notice`` job.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cases.completion import case_items, case_municipality
from cases.milestones import MilestoneKind, reach
from cases.models import Case, CaseState, Payment, PaymentStatus
from core.audit import Actor, record
from core.inserts import insert_unless_taken
from core.jobs import enqueue
from core.tenancy import acting_for
from core.types import utcnow
from postcall.payments.errors import (
    AlreadyPaid,
    AttemptNotFound,
    NoCase,
    NothingToPay,
    NotPayable,
    PaymentPending,
)
from postcall.payments.models import (
    UNFINISHED,
    AttemptStatus,
    PaymentAttempt,
    ProcessedWebhookEvent,
)
from postcall.payments.provider import (
    PAID,
    SESSION_COMPLETE,
    SESSION_EXPIRED,
    UNPAID,
    CheckoutRequest,
    CheckoutSession,
    InvalidEvent,
    LineItem,
    PaymentProvider,
    WebhookEvent,
)
from postcall.payments.queries import (
    PAYABLE,
    attempt_by_public_id,
    attempts_of,
)

log = logging.getLogger("buergerbuero.payments")

# Outbox jobs for the mails that follow a payment (their handlers live with the mails).
RECEIPT_JOB = "payment.receipt"  # payload {"case_id", "attempt_id"}: e-mail a receipt
CORRECTED_NOTICE_JOB = "case.corrected_notice"  # payload {"case_id", "refund_id"}
# Milestones whose own mail would repeat the job's mail above are recorded without one.
MILESTONE_MAIL = {
    MilestoneKind.paid: False,  # the receipt tells it
    MilestoneKind.payment_failed: True,
    MilestoneKind.refunded: False,  # the corrected notice tells it
}

SESSION_EVENTS = {
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "checkout.session.expired",
}

_WEBHOOK_EVENTS = ProcessedWebhookEvent.__table__  # type: ignore[attr-defined]


def webhook_actor(provider: str) -> Actor:
    return Actor("system", None, f"{provider} webhook")


def new_public_id() -> str:
    return secrets.token_urlsafe(18)


# --- reading -----------------------------------------------------------------------------------


async def locked_case(session: AsyncSession, case_id: int) -> Case:
    # The case row lock orders every payment change of one case (Postgres; SQLite's write
    # transactions are serialised anyway).
    query = (
        select(Case).where(col(Case.id) == case_id).with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.execute(query)).scalar_one()


async def _attempt_for_session(
    session: AsyncSession, checkout: CheckoutSession
) -> PaymentAttempt | None:
    query = select(PaymentAttempt).where(col(PaymentAttempt.session_id) == checkout.id)
    found = (await session.execute(query)).scalars().first()
    if found is not None:
        return found
    # The event may overtake the recording of the session id: find it by our own reference.
    ref = checkout.metadata.get("attempt", "")
    if not ref:
        return None
    candidate = await attempt_by_public_id(session, ref)
    if candidate is not None and candidate.session_id is None:
        return candidate
    return None


# --- starting an attempt -----------------------------------------------------------------------


def _check_payable(case: Case | None) -> Case:
    if case is None or case.state != CaseState.completed or case.id is None:
        raise NoCase()
    if case.payment_status == PaymentStatus.paid:
        raise AlreadyPaid()
    if case.payment == Payment.none or case.payment_status == PaymentStatus.not_required:
        raise NothingToPay()
    if case.payment_status not in PAYABLE or case.amount_cents <= 0:
        raise NotPayable()
    return case


@dataclass(frozen=True)
class StartedAttempt:
    attempt_id: int
    request: CheckoutRequest
    superseded: tuple[str, ...]  # provider session ids to expire


async def begin_attempt(
    session: AsyncSession, case_id: int, *, provider: str, base_url: str,
    session_minutes: int, now: datetime | None = None,
) -> StartedAttempt:
    """Write a new attempt for the case (status ``creating``) and describe the checkout the
    provider is to create for it."""
    now = now or utcnow()
    case = _check_payable(await session.get(Case, case_id))
    assert case.id is not None
    case = _check_payable(await locked_case(session, case.id))
    assert case.id is not None
    superseded: list[str] = []
    for earlier in await attempts_of(session, case.id):
        if earlier.status == AttemptStatus.pending:
            raise PaymentPending()
        if earlier.status in (AttemptStatus.open, AttemptStatus.creating):
            if earlier.session_id:
                superseded.append(earlier.session_id)
            earlier.status = (AttemptStatus.expired if earlier.status == AttemptStatus.open
                              else AttemptStatus.error).value
            earlier.updated_at = now
    items = await case_items(session, case.id)
    lines = tuple(LineItem(i.name, i.unit_fee_cents, i.quantity) for i in items)
    if sum(i.unit_amount_cents * i.quantity for i in lines) != case.amount_cents:
        # The items are the case's own; a difference means the data is broken, not the input.
        raise NotPayable()
    public_id = new_public_id()
    expires = now + timedelta(minutes=session_minutes)
    attempt = PaymentAttempt(
        case_id=case.id, public_id=public_id, provider=provider,
        status=AttemptStatus.creating.value, amount_cents=case.amount_cents,
        currency=case.currency, created_at=now, updated_at=now, expires_at=expires,
    )
    session.add(attempt)
    await session.flush()
    assert attempt.id is not None
    record(session, Actor.citizen(), "payment.start", "case", case.id, {
        "case_number": case.case_number, "attempt": public_id,
        "amount_cents": case.amount_cents, "provider": provider,
    })
    request = CheckoutRequest(
        case_number=case.number, attempt_ref=public_id, currency=case.currency,
        items=lines,
        success_url=f"{base_url}/pay/return/{public_id}?session_id={{CHECKOUT_SESSION_ID}}",
        cancel_url=f"{base_url}/pay/cancel/{public_id}",
        expires_at=expires, locale=case.locale or "de",
        description=f"Kassenzeichen {case.case_number}",
    )
    return StartedAttempt(attempt.id, request, tuple(superseded))


async def _locked_attempt(session: AsyncSession, attempt_id: int) -> PaymentAttempt:
    query = (
        select(PaymentAttempt).where(col(PaymentAttempt.id) == attempt_id).with_for_update()
        .execution_options(populate_existing=True)
    )
    attempt = (await session.execute(query)).scalars().first()
    if attempt is None:
        raise AttemptNotFound()
    return attempt


async def record_checkout(
    session: AsyncSession, attempt_id: int, checkout: CheckoutSession,
    now: datetime | None = None,
) -> PaymentAttempt:
    """The provider created the session: remember its id and address."""
    now = now or utcnow()
    attempt = await _locked_attempt(session, attempt_id)
    attempt.session_id = checkout.id
    attempt.url = checkout.url
    attempt.expires_at = checkout.expires_at or attempt.expires_at
    if attempt.status == AttemptStatus.creating:
        attempt.status = AttemptStatus.open.value
    attempt.updated_at = now
    await session.flush()
    return attempt


async def record_creation_failed(
    session: AsyncSession, attempt_id: int, now: datetime | None = None
) -> None:
    attempt = await _locked_attempt(session, attempt_id)
    if attempt.status == AttemptStatus.creating:
        attempt.status = AttemptStatus.error.value
        attempt.updated_at = now or utcnow()


# --- outcomes ----------------------------------------------------------------------------------


def _matches(attempt: PaymentAttempt, case: Case, checkout: CheckoutSession) -> bool:
    if checkout.amount_total is not None and checkout.amount_total != attempt.amount_cents:
        return False
    if checkout.currency and checkout.currency != attempt.currency.upper():
        return False
    ref = checkout.client_reference_id
    return ref is None or ref == case.case_number


async def _paid(session: AsyncSession, case: Case, attempt: PaymentAttempt,
                checkout: CheckoutSession, actor: Actor, source: str, now: datetime) -> str:
    assert case.id is not None
    if attempt.status == AttemptStatus.paid:
        return "unchanged"
    if not _matches(attempt, case, checkout):
        log.warning("payment attempt %s: the provider's session does not match it", attempt.id)
        record(session, actor, "payment.mismatch", "case", case.id, {
            "case_number": case.case_number, "attempt": attempt.public_id,
            "session_id": checkout.id, "amount_total": checkout.amount_total,
            "currency": checkout.currency, "expected_cents": attempt.amount_cents,
        })
        return "mismatch"
    attempt.status = AttemptStatus.paid.value
    attempt.paid_at = attempt.updated_at = now
    detail = {"case_number": case.case_number, "attempt": attempt.public_id,
              "session_id": checkout.id, "amount_cents": attempt.amount_cents, "source": source}
    if case.payment_status not in PAYABLE:
        # Paid twice (an older attempt's page was still open): keep the money on record for
        # an administrator to refund; the case stays as it is.
        log.warning("payment attempt %s: case already %s", attempt.id, case.payment_status)
        record(session, actor, "payment.duplicate", "case", case.id,
               {**detail, "payment_status": case.payment_status})
        return "duplicate_payment"
    case.payment_status = PaymentStatus.paid.value
    case.updated_at = now
    await reach(session, case.id, MilestoneKind.paid, at=now,
                notify=MILESTONE_MAIL[MilestoneKind.paid])
    record(session, actor, "payment.paid", "case", case.id, detail)
    enqueue(session, RECEIPT_JOB, {"case_id": case.id, "attempt_id": attempt.id})
    return "paid"


async def _failed(session: AsyncSession, case: Case, attempt: PaymentAttempt,
                  actor: Actor, now: datetime) -> str:
    assert case.id is not None
    if attempt.status in (AttemptStatus.paid, AttemptStatus.failed):
        return "unchanged"  # a failure never un-pays, and is told once
    attempt.status = AttemptStatus.failed.value
    attempt.updated_at = now
    record(session, actor, "payment.failed", "case", case.id, {
        "case_number": case.case_number, "attempt": attempt.public_id,
        "session_id": attempt.session_id,
    })
    if case.payment_status == PaymentStatus.open:
        case.payment_status = PaymentStatus.failed.value
        case.updated_at = now
        await reach(session, case.id, MilestoneKind.payment_failed, at=now,
                    notify=MILESTONE_MAIL[MilestoneKind.payment_failed])
    return "failed"


def _forward(attempt: PaymentAttempt, to: AttemptStatus, now: datetime) -> str:
    """``pending`` and ``expired`` only follow an attempt that has not finished (``pending``
    also one we replaced, whose old page was used anyway: the debit is on its way)."""
    allowed = [AttemptStatus.creating, AttemptStatus.open]
    if to == AttemptStatus.pending:
        allowed.append(AttemptStatus.expired)
    if attempt.status not in allowed:
        return "unchanged"
    attempt.status = to.value
    attempt.updated_at = now
    return to.value


async def apply_session(
    session: AsyncSession, attempt_id: int, checkout: CheckoutSession, *, actor: Actor,
    source: str, failed: bool = False, now: datetime | None = None,
) -> str:
    """Bring an attempt and its case in line with the provider's view of its session.

    ``failed`` marks a delayed payment's failure (its event carries a session that looks just
    like a completed, unpaid one). Returns what happened: ``paid``, ``pending``, ``failed``,
    ``expired``, ``unchanged``, ``mismatch``, ``duplicate_payment`` or ``ignored``.
    """
    now = now or utcnow()
    found = await session.get(PaymentAttempt, attempt_id)
    if found is None:
        raise AttemptNotFound()
    case = await locked_case(session, found.case_id)
    attempt = await _locked_attempt(session, attempt_id)
    if attempt.session_id is None:
        attempt.session_id = checkout.id
    elif attempt.session_id != checkout.id:
        return "ignored"
    if checkout.payment_intent:
        attempt.payment_intent = checkout.payment_intent
    if source == "reconcile":
        attempt.checked_at = now
    if failed:
        outcome = await _failed(session, case, attempt, actor, now)
    elif checkout.payment_status == PAID and checkout.status == SESSION_COMPLETE:
        outcome = await _paid(session, case, attempt, checkout, actor, source, now)
    elif checkout.status == SESSION_COMPLETE and checkout.payment_status == UNPAID:
        outcome = _forward(attempt, AttemptStatus.pending, now)
    elif checkout.status == SESSION_EXPIRED:
        outcome = _forward(attempt, AttemptStatus.expired, now)
    else:
        outcome = "unchanged"
    await session.flush()
    return outcome


async def handle_event(
    session: AsyncSession, provider: PaymentProvider, event: WebhookEvent,
    now: datetime | None = None,
) -> str:
    """Handle one verified webhook event once: its id is stored (unique) in this transaction,
    so a redelivery returns ``duplicate`` and changes nothing."""
    now = now or utcnow()
    checkout = provider.session_from_event(event) if event.type in SESSION_EVENTS else None
    if event.type in SESSION_EVENTS and checkout is None:
        raise InvalidEvent()  # signed, but not what such an event carries: store nothing
    values = {"provider": provider.name, "event_id": event.id, "event_type": event.type[:100],
              "session_id": checkout.id[:255] if checkout else None, "received_at": now}
    row_id = await insert_unless_taken(session, _WEBHOOK_EVENTS, ("provider", "event_id"), values)
    if row_id is None:
        return "duplicate"
    outcome = "ignored"
    if checkout is not None:
        attempt = await _attempt_for_session(session, checkout)
        if attempt is None or attempt.id is None:
            outcome = "unknown_session"
        else:  # for the case's municipality: the receipt job, the milestone, the audit event
            with acting_for(await case_municipality(session, attempt.case_id)):
                outcome = await apply_session(
                    session, attempt.id, checkout, actor=webhook_actor(provider.name),
                    source="webhook", failed=event.type.endswith("async_payment_failed"),
                    now=now,
                )
    await session.execute(
        update(ProcessedWebhookEvent)
        .where(col(ProcessedWebhookEvent.id) == row_id)
        .values(outcome=outcome)
    )
    return outcome


# --- reconciliation ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DueAttempt:
    id: int
    session_id: str | None


async def due_for_check(
    session: AsyncSession, *, older_than: timedelta, limit: int = 50,
    now: datetime | None = None,
) -> list[DueAttempt]:
    """Unfinished attempts at least ``older_than`` old and not re-read within that time."""
    cutoff = (now or utcnow()) - older_than
    query = (
        select(col(PaymentAttempt.id), col(PaymentAttempt.session_id))
        .where(
            col(PaymentAttempt.status).in_(UNFINISHED),
            col(PaymentAttempt.created_at) <= cutoff,
            (col(PaymentAttempt.checked_at).is_(None)) | (col(PaymentAttempt.checked_at) <= cutoff),
        )
        .order_by(col(PaymentAttempt.checked_at).nulls_first(), col(PaymentAttempt.id))
        .limit(limit)
    )
    rows = (await session.execute(query)).all()
    return [DueAttempt(int(row[0]), row[1]) for row in rows if row[0] is not None]


async def mark_checked(session: AsyncSession, attempt_id: int,
                       now: datetime | None = None) -> None:
    """Re-read, nothing learnt (the provider refused to tell): wait a round before the next."""
    now = now or utcnow()
    attempt = await _locked_attempt(session, attempt_id)
    attempt.checked_at = now
    if attempt.status == AttemptStatus.creating and attempt.session_id is None:
        # The provider's answer never arrived; the citizen never got its address either.
        attempt.status = AttemptStatus.error.value
        attempt.updated_at = now

