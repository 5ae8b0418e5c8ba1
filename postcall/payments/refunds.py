"""Refunds of online payments (admins): full by default, or partial up to what is left.

The provider is asked between ``begin_refund`` and ``finish_refund`` (``flows.refund``), outside
any transaction. The requested refund is written first and counts against what is left, so two
refunds at once cannot together exceed the payment; a refund whose provider call never ended
stays ``requested`` (and counted) until someone looks at it. A full refund sets the case's
``payment_status`` to ``refunded``; a partial one leaves it ``paid`` (``refunded_cents`` in
``payment_totals`` tells how much went back). Each refund is audited, reaches the ``refunded``
milestone and queues a ``case.corrected_notice`` job for the corrected fee notice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from cases.completion import case_by_number
from cases.milestones import MilestoneKind, reach
from cases.models import Case, PaymentStatus
from core.audit import Actor, record
from core.document_numbers import no_document_number
from core.jobs import enqueue
from core.types import utcnow
from postcall.payments.errors import AttemptNotFound, CaseNotFound, NotRefundable, RefundTooLarge
from postcall.payments.models import PaymentAttempt, Refund, RefundStatus
from postcall.payments.provider import RefundResult
from postcall.payments.queries import paid_attempt, refunded_cents
from postcall.payments.service import (
    CORRECTED_NOTICE_JOB,
    MILESTONE_MAIL,
    locked_case,
    new_public_id,
)


@dataclass(frozen=True)
class RefundStarted:
    refund_id: int
    payment_intent: str
    amount_cents: int
    public_id: str


async def begin_refund(
    session: AsyncSession, case_number: str, *, amount_cents: int | None, reason: str,
    actor: Actor, now: datetime | None = None,
) -> RefundStarted:
    """Write a requested refund of a paid case (full when ``amount_cents`` is None)."""
    now = now or utcnow()
    found = await case_by_number(session, case_number)
    if found is None or found.id is None:
        raise CaseNotFound()
    case = await locked_case(session, found.id)
    assert case.id is not None
    attempt = await paid_attempt(session, case.id)
    if (case.payment_status != PaymentStatus.paid or attempt is None or attempt.id is None
            or not attempt.payment_intent):
        raise NotRefundable()
    left = attempt.amount_cents - await refunded_cents(session, attempt.id)
    amount = left if amount_cents is None else amount_cents
    if left <= 0:
        raise NotRefundable()
    if amount > left:
        raise RefundTooLarge(amount=left)
    refund = Refund(
        case_id=case.id, attempt_id=attempt.id, public_id=new_public_id(), amount_cents=amount,
        currency=attempt.currency, status=RefundStatus.requested.value,
        reason=no_document_number(reason[:300], "reason", strict=False),
        created_by_id=actor.id, created_by_label=actor.label[:254], created_at=now,
        updated_at=now,
    )
    session.add(refund)
    await session.flush()
    assert refund.id is not None
    return RefundStarted(refund.id, attempt.payment_intent, amount, refund.public_id)


_REFUND_STATUS = {"succeeded": RefundStatus.succeeded, "failed": RefundStatus.failed,
                  "canceled": RefundStatus.failed}


async def finish_refund(
    session: AsyncSession, refund_id: int, result: RefundResult | None, *, actor: Actor,
    now: datetime | None = None,
) -> tuple[Case, Refund]:
    """Record the provider's answer (None: it refused or could not be reached)."""
    now = now or utcnow()
    refund = await session.get(Refund, refund_id)
    if refund is None:
        raise AttemptNotFound()
    case = await locked_case(session, refund.case_id)
    await session.refresh(refund, with_for_update=True)
    assert case.id is not None
    if result is None:
        refund.status = RefundStatus.failed.value
    else:
        refund.provider_refund_id = result.id
        refund.status = _REFUND_STATUS.get(result.status, RefundStatus.pending).value
    refund.updated_at = now
    detail = {"case_number": case.case_number, "refund": refund.public_id,
              "amount_cents": refund.amount_cents, "reason": refund.reason,
              "status": refund.status}
    if refund.status == RefundStatus.failed:
        record(session, actor, "payment.refund_failed", "case", case.id, detail)
        await session.flush()
        return case, refund
    attempt = await session.get(PaymentAttempt, refund.attempt_id)
    assert attempt is not None and attempt.id is not None
    refunded = await refunded_cents(session, attempt.id)
    full = refunded >= attempt.amount_cents
    if full:
        case.payment_status = PaymentStatus.refunded.value
        case.updated_at = now
    await reach(session, case.id, MilestoneKind.refunded, at=now,
                detail=f"{refunded}", notify=MILESTONE_MAIL[MilestoneKind.refunded])
    record(session, actor, "payment.refund", "case", case.id,
           {**detail, "refunded_cents": refunded, "full": full})
    enqueue(session, CORRECTED_NOTICE_JOB, {"case_id": case.id, "refund_id": refund.id})
    await session.flush()
    return case, refund
