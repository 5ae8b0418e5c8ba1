"""Reading the payment side of a case: attempts, what was paid and refunded (integer cents),
and the state the citizen's pages show. Used by the services, the pages and the mails."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cases.models import Case, CaseState, PaymentStatus
from postcall.payments.models import COUNTED_REFUNDS, AttemptStatus, PaymentAttempt, Refund

# Fees that may (still) be paid.
PAYABLE = (PaymentStatus.open, PaymentStatus.failed)


@dataclass(frozen=True)
class PaymentTotals:
    """What was paid online for a case and what of it was refunded, in cents."""

    currency: str
    paid_cents: int
    refunded_cents: int
    paid_at: datetime | None
    attempt_id: int | None

    @property
    def kept_cents(self) -> int:
        return self.paid_cents - self.refunded_cents


async def attempts_of(session: AsyncSession, case_id: int) -> list[PaymentAttempt]:
    query = (
        select(PaymentAttempt)
        .where(col(PaymentAttempt.case_id) == case_id)
        .order_by(col(PaymentAttempt.id))
    )
    return list((await session.execute(query)).scalars())


async def attempt_by_public_id(session: AsyncSession, public_id: str) -> PaymentAttempt | None:
    if not 10 <= len(public_id) <= 40:
        return None
    query = select(PaymentAttempt).where(col(PaymentAttempt.public_id) == public_id)
    return (await session.execute(query)).scalars().first()


async def paid_attempt(session: AsyncSession, case_id: int) -> PaymentAttempt | None:
    query = (
        select(PaymentAttempt)
        .where(col(PaymentAttempt.case_id) == case_id,
               col(PaymentAttempt.status) == AttemptStatus.paid)
        .order_by(col(PaymentAttempt.paid_at), col(PaymentAttempt.id))
    )
    return (await session.execute(query)).scalars().first()


async def refunded_cents(session: AsyncSession, attempt_id: int) -> int:
    query = select(func.coalesce(func.sum(col(Refund.amount_cents)), 0)).where(
        col(Refund.attempt_id) == attempt_id, col(Refund.status).in_(COUNTED_REFUNDS)
    )
    return int((await session.execute(query)).scalar_one())


async def payment_totals(session: AsyncSession, case_id: int) -> PaymentTotals:
    """Paid and refunded cents of a case (its first paid attempt; zeros when none)."""
    attempt = await paid_attempt(session, case_id)
    if attempt is None or attempt.id is None:
        case = await session.get(Case, case_id)
        return PaymentTotals(case.currency if case else "EUR", 0, 0, None, None)
    return PaymentTotals(attempt.currency, attempt.amount_cents,
                         await refunded_cents(session, attempt.id), attempt.paid_at, attempt.id)


async def refunds_of(session: AsyncSession, case_id: int) -> list[Refund]:
    query = select(Refund).where(col(Refund.case_id) == case_id).order_by(col(Refund.id))
    return list((await session.execute(query)).scalars())


@dataclass(frozen=True)
class PaymentState:
    """The payment of an appointment's case, as the citizen's pages show it."""

    case_number: str
    amount_cents: int
    currency: str
    payment: str
    payment_status: str
    pending: bool  # a debit is being processed

    @property
    def can_pay(self) -> bool:
        return self.payment_status in PAYABLE and self.amount_cents > 0 and not self.pending


async def payment_state(session: AsyncSession, case: Case | None) -> PaymentState | None:
    """None while the case is not completed."""
    if case is None or case.state != CaseState.completed or case.id is None:
        return None
    pending = any(a.status == AttemptStatus.pending for a in await attempts_of(session, case.id))
    return PaymentState(case.number, case.amount_cents, case.currency, case.payment,
                        case.payment_status, pending)
