"""Background work of the postal dispatch and of dunning, each step in its own short
transaction (a provider call never runs inside one): handing a letter to the hybrid-mail
provider, re-reading letters whose status webhook may have been missed, queueing reminders.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select
from sqlmodel import col

from cases.models import Case, CaseState
from core.audit import Actor, record
from core.transactions import Transactions
from core.types import utcnow
from postcall import dispatch as dispatching
from postcall.dispatch_models import Dispatch, DispatchState
from postcall.dispatch_providers import DispatchProvider, OutgoingLetter
from postcall.dunning import claim_reminder, overdue_cases
from postcall.notices import ensure_letter

log = logging.getLogger("buergerbuero.postcall")

HYBRID_ACTOR = Actor("system", None, "hybrid-mail")
SYNC_AFTER = dt.timedelta(minutes=30)  # re-read a handed-over letter this long after a change
SYNC_BATCH = 20


async def submit_dispatch(db: Transactions, provider: DispatchProvider,
                          dispatch_id: int) -> None:
    """``dispatch.submit``: hand a queued letter to the hybrid-mail provider (if configured)."""
    if not provider.automatic:
        return  # the print room prints it with its batch
    async with db.transaction() as session:
        dispatch = await session.get(Dispatch, dispatch_id)
        case = await session.get(Case, dispatch.case_id) if dispatch is not None else None
    if dispatch is None or case is None or dispatch.status != DispatchState.queued \
            or dispatch.provider == dispatching.PRINT_ROOM or case.state != CaseState.completed:
        return
    if dispatch.provider_status:
        return  # already handed over
    document = await ensure_letter(db, dispatch.case_id)
    if document is None or document.id is None:
        return

    async def remember(reference: str) -> None:
        async with db.transaction(write=True) as session:
            row = await session.get(Dispatch, dispatch_id, with_for_update=True)
            if row is not None:
                row.provider, row.provider_ref = dispatching.HYBRID, reference
                row.document_id = document.id
                row.updated_at = utcnow()

    status = await provider.hand_over(
        OutgoingLetter(dispatch_id=dispatch_id, case_number=case.number, pdf=document.pdf),
        dispatch.provider_ref, remember)
    async with db.transaction(write=True) as session:
        row = await session.get(Dispatch, dispatch_id, with_for_update=True)
        if row is not None:
            row.provider_status = (status or "submitted")[:40]
            row.updated_at = utcnow()
            record(session, HYBRID_ACTOR, "dispatch.handed_over", "dispatch", dispatch_id,
                   {"case_number": case.case_number, "provider": provider.name})
            # In the service's print run now: fixed like a printed letter (no reopening).
            await dispatching.advance(session, row, DispatchState.printed.value, HYBRID_ACTOR)


async def sync_hybrid(db: Transactions, provider: DispatchProvider) -> None:
    """Re-read letters whose status webhook may have been lost (the provider retries, but)."""
    if not provider.automatic:
        return
    cutoff = utcnow() - SYNC_AFTER
    async with db.transaction() as session:
        rows = list((await session.execute(
            select(Dispatch).where(
                col(Dispatch.provider) == dispatching.HYBRID,
                col(Dispatch.provider_ref).is_not(None),
                col(Dispatch.status).in_([DispatchState.queued, DispatchState.printed,
                                          DispatchState.posted]),
                col(Dispatch.updated_at) < cutoff,
            ).order_by(col(Dispatch.updated_at)).limit(SYNC_BATCH)
        )).scalars())
    for row in rows:
        assert row.provider_ref is not None and row.id is not None
        state = await provider.state_of(row.provider_ref)
        async with db.transaction(write=True) as session:
            dispatch = await session.get(Dispatch, row.id)
            if dispatch is None:
                continue
            dispatch.updated_at = utcnow()  # read now: the next look is SYNC_AFTER later
            if state is not None:
                await dispatching.advance(session, dispatch, state.value, HYBRID_ACTOR)




async def run_dunning(db: Transactions, grace: int) -> None:
    """Queue the one payment reminder of every fee notice unpaid past its due date + grace."""
    async with db.transaction() as session:
        due = await overdue_cases(session, grace_days=grace)
    sent = 0
    for case_id in due:
        async with db.transaction(write=True) as session:
            sent += await claim_reminder(session, case_id, grace_days=grace)
    if sent:
        log.info("queued %d payment reminders", sent)
