"""Payment steps that talk to the provider: each provider call happens between two short
database transactions, never inside one (a slow provider must not hold a row lock or, on
SQLite, the database's single writer).

``db`` is anything with ``transaction(write=...)`` yielding an ``AsyncSession`` that commits at
the end (``app.db.Database``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from cases.models import Case
from core.audit import Actor
from core.errors import DomainError
from core.transactions import Transactions
from core.types import utcnow
from postcall.payments import queries, refunds, service
from postcall.payments.models import AttemptStatus, PaymentAttempt, Refund, RefundStatus
from postcall.payments.provider import PaymentProvider, ProviderRefused, ProviderUnavailable

log = logging.getLogger("buergerbuero.payments")



Clock = Callable[[], datetime]


@dataclass(frozen=True)
class PaymentConfig:
    base_url: str
    session_minutes: int = 60
    reconcile_minutes: int = 10


async def start_payment(
    db: Transactions, provider: PaymentProvider, case_id: int, config: PaymentConfig,
    *, clock: Clock = utcnow,
) -> str:
    """Create a checkout session for the case; returns the provider's page URL
    (to redirect to at once: it expires)."""
    async with db.transaction(write=True) as session:
        started = await service.begin_attempt(
            session, case_id, provider=provider.name, base_url=config.base_url,
            session_minutes=config.session_minutes, now=clock(),
        )
    for session_id in started.superseded:
        # Best effort: a replaced page that cannot be expired simply lapses (and a payment
        # made on it anyway is still recorded).
        try:
            await provider.expire_session(session_id)
        except DomainError:
            log.info("payment attempt superseded; its session could not be expired")
    try:
        checkout = await provider.create_checkout(started.request)
    except DomainError:
        async with db.transaction(write=True) as session:
            await service.record_creation_failed(session, started.attempt_id, now=clock())
        raise
    async with db.transaction(write=True) as session:
        await service.record_checkout(session, started.attempt_id, checkout, now=clock())
    if not checkout.url:
        raise ProviderUnavailable()
    return checkout.url


async def check_return(
    db: Transactions, provider: PaymentProvider, public_id: str, *, clock: Clock = utcnow,
) -> str | None:
    """The citizen is back from the provider's page: re-read the session and fulfil if it is
    paid (idempotent, like the webhook). Returns the attempt's status, None when unknown."""
    async with db.transaction() as session:
        attempt = await queries.attempt_by_public_id(session, public_id)
    if attempt is None or attempt.id is None:
        return None
    if attempt.status not in (AttemptStatus.creating, AttemptStatus.open,
                              AttemptStatus.pending) or not attempt.session_id:
        return attempt.status
    try:
        checkout = await provider.retrieve_session(attempt.session_id)
    except DomainError:
        return attempt.status  # the webhook or the reconciliation will tell
    async with db.transaction(write=True) as session:
        await service.apply_session(session, attempt.id, checkout, actor=Actor.citizen(),
                                    source="return", now=clock())
        fresh = await session.get(PaymentAttempt, attempt.id)
        return fresh.status if fresh is not None else None


@dataclass(frozen=True)
class ReconcileResult:
    checked: int
    outcomes: dict[str, int]


async def reconcile_open(
    db: Transactions, provider: PaymentProvider, *, older_than: timedelta, limit: int = 50,
    clock: Clock = utcnow,
) -> ReconcileResult:
    """Re-read unfinished attempts from the provider and apply what it says, so a payment
    whose webhook never arrived is still recorded."""
    async with db.transaction() as session:
        due = await service.due_for_check(session, older_than=older_than, limit=limit,
                                          now=clock())
    outcomes: dict[str, int] = {}
    checked = 0
    for item in due:
        outcome = "unchanged"
        if item.session_id is None:
            async with db.transaction(write=True) as session:
                await service.mark_checked(session, item.id, now=clock())
            outcome = "abandoned"
        else:
            try:
                checkout = await provider.retrieve_session(item.session_id)
            except ProviderUnavailable:
                break  # try again next round
            except ProviderRefused:
                async with db.transaction(write=True) as session:
                    await service.mark_checked(session, item.id, now=clock())
                outcome = "refused"
            else:
                async with db.transaction(write=True) as session:
                    outcome = await service.apply_session(
                        session, item.id, checkout, actor=Actor.system(), source="reconcile",
                        now=clock(),
                    )
        checked += 1
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return ReconcileResult(checked, outcomes)


async def refund(
    db: Transactions, provider: PaymentProvider, case_number: str, *,
    amount_cents: int | None, reason: str, actor: Actor, clock: Clock = utcnow,
) -> tuple[Case, Refund, queries.PaymentTotals]:
    """Refund a paid case at the provider and record it (see ``service`` for the rules)."""
    async with db.transaction(write=True) as session:
        started = await refunds.begin_refund(session, case_number, amount_cents=amount_cents,
                                             reason=reason, actor=actor, now=clock())
    try:
        result = await provider.refund(started.payment_intent, started.amount_cents,
                                       idempotency_key=started.public_id, reason=reason)
    except DomainError:
        async with db.transaction(write=True) as session:
            await refunds.finish_refund(session, started.refund_id, None, actor=actor,
                                        now=clock())
        raise
    async with db.transaction(write=True) as session:
        case, row = await refunds.finish_refund(session, started.refund_id, result,
                                                actor=actor, now=clock())
        assert case.id is not None
        totals = await queries.payment_totals(session, case.id)
    if row.status == RefundStatus.failed:
        raise ProviderRefused()
    return case, row, totals
