"""Completing and reopening a request with what follows after the decision.

``cases.completion`` keeps the record (items, amount, case number); this module adds what
``postcall`` knows: the fee notice, dispatch and milestones after a completion, and that a
case with a payment under way cannot be reopened.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from booking.models import Appointment
from cases import completion
from cases.completion import CasePolicy, CompletionInput
from cases.models import Case, Delivery
from core.audit import Actor
from postcall.dispatch import postal_address, set_postal_address
from postcall.errors import PaymentInProgress, PostalAddressMissing
from postcall.notices import after_completion
from postcall.payments.models import UNFINISHED, PaymentAttempt


async def complete(
    session: AsyncSession,
    appointment: Appointment,
    data: CompletionInput,
    actor: Actor,
    policy: CasePolicy,
    *,
    address: Sequence[str] = (),
    now: datetime | None = None,
) -> Case:
    """Complete the appointment's request, then issue its letters, dispatch and milestones.

    ``address``: the postal address as the clerk confirmed it in the call (lines after the
    name; stored when given). Delivery by post without a postal address is refused
    (``PostalAddressMissing``): the caller's transaction then keeps nothing of it."""
    if any(line.strip() for line in address):
        await set_postal_address(session, appointment, address, actor)
    case = await completion.complete(session, appointment, data, actor, policy, now=now)
    # After the completion's own checks (identity, items: their errors come first); the
    # caller's transaction then undoes the completion.
    if data.delivery == Delivery.post and not await postal_address(session, case.id):
        raise PostalAddressMissing(field="postal_address")
    await after_completion(session, case)
    return case


async def no_payment_under_way(session: AsyncSession, case: Case) -> None:
    """A payment arriving after the reopening would be overwritten by the next completion:
    wait until the attempt is paid (then no reopening) or has lapsed."""
    found = await session.scalar(
        select(col(PaymentAttempt.id))
        .where(col(PaymentAttempt.case_id) == case.id)
        .where(col(PaymentAttempt.status).in_([s.value for s in UNFINISHED]))
        .limit(1)
    )
    if found is not None:
        raise PaymentInProgress()


async def reopen(
    session: AsyncSession, appointment: Appointment, actor: Actor, *, reason: str = "",
    now: datetime | None = None,
) -> Case | None:
    return await completion.reopen(session, appointment, actor, reason=reason, now=now,
                                   guard=no_payment_under_way)
