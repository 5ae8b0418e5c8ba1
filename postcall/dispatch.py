"""The postal dispatch queue: letters to post, their states, the print room's batches.

States (``postcall.dispatch_models.DispatchState``)::

    queued ──► printed ──► posted ──► delivered
       │          │           └─────► returned
       └──────────┴──► cancelled

A letter handed to a hybrid-mail service counts as printed (it is in the service's print run
and can no longer change); ``queued ──► posted`` is allowed for reports that skip a step.

Staff move a letter one legal step at a time (anything else is 409 ``illegal_transition``;
asking for the state it is already in changes nothing). A provider's status report may skip
steps forward (``advance``): the skipped milestones are recorded too, so the citizen sees the
whole way. Every change is an audit event and mirrors into ``case_file.dispatch_status``;
the milestones (printed, posted, delivered, returned, dispatch_cancelled) mail the citizen.

The print room's batch for a day holds the queued letters due by that day (``batch_date`` at
most the day: letters left over from an earlier day come along) and the letters printed for
that day, so a batch can be downloaded again after it was marked printed. Marking a batch
printed pins its letters to the day.

Services take a session, raise domain errors and never commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from booking.models import Appointment
from cases.intake import request_of
from cases.milestones import MilestoneKind, reach
from cases.models import Case, CaseState
from core.audit import Actor, record
from core.errors import Conflict, Invalid, NotFound
from core.jobs import enqueue
from core.types import utcnow
from postcall.dispatch_models import Dispatch, DispatchState, PostalAddress

SUBMIT_JOB = "dispatch.submit"
PRINT_ROOM = "print_room"
HYBRID = "hybrid"

S = DispatchState
TRANSITIONS: dict[str, frozenset[str]] = {
    S.queued: frozenset({S.printed, S.posted, S.cancelled}),
    S.printed: frozenset({S.posted, S.cancelled}),
    S.posted: frozenset({S.delivered, S.returned}),
    S.delivered: frozenset(),
    S.returned: frozenset(),
    S.cancelled: frozenset(),
}
# The forward order of a letter's way, for provider reports that skip steps.
RANK = {S.queued: 0, S.printed: 1, S.posted: 2, S.delivered: 3, S.returned: 3}
MILESTONES = {
    S.printed: MilestoneKind.printed,
    S.posted: MilestoneKind.posted,
    S.delivered: MilestoneKind.delivered,
    S.returned: MilestoneKind.returned,
    S.cancelled: MilestoneKind.dispatch_cancelled,
}
# After these the letter's content and address are fixed.
HANDED_OVER = frozenset({S.printed, S.posted, S.delivered, S.returned})

MAX_ADDRESS_LINES = 5  # plus the name: six lines fit the window
MAX_ADDRESS_CHARS = 60


class IllegalTransition(Conflict):
    code = "illegal_transition"
    message = "A letter cannot go from “%(current)s” to “%(target)s”."


class AddressLocked(Conflict):
    code = "address_locked"
    message = "The letter has already been printed or handed over; its address cannot change."


class DispatchNotFound(NotFound):
    message = "This letter is not in the dispatch queue."


@dataclass(frozen=True)
class DispatchRow:
    """A letter as the queue lists it."""

    dispatch: Dispatch
    case_number: str
    reference: str
    recipient_name: str
    address_lines: tuple[str, ...]


# --- the citizen's postal address ---------------------------------------------------------


def clean_address(lines: Sequence[str]) -> tuple[str, ...]:
    """The address lines after the name: 1 to 5 single lines of at most 60 characters."""
    cleaned = tuple(" ".join(line.split()) for line in lines)
    cleaned = tuple(line for line in cleaned if line)
    if not cleaned:
        raise Invalid("Enter the street and the town, one per line.", field="lines")
    if len(cleaned) > MAX_ADDRESS_LINES:
        raise Invalid("At most %(max)s address lines.", field="lines", max=MAX_ADDRESS_LINES)
    for index, line in enumerate(cleaned):
        if len(line) > MAX_ADDRESS_CHARS:
            raise Invalid("At most %(max)s characters per line.", field=f"lines.{index}",
                          max=MAX_ADDRESS_CHARS)
    return cleaned


async def postal_address(session: AsyncSession, case_id: int | None) -> tuple[str, ...]:
    """The lines of the request's postal address (none yet: empty)."""
    if case_id is None:
        return ()
    query = select(PostalAddress).where(col(PostalAddress.case_id) == case_id)
    found = (await session.execute(query)).scalars().first()
    return tuple(found.line_list()) if found is not None else ()


async def set_postal_address(
    session: AsyncSession, appointment: Appointment, lines: Sequence[str], actor: Actor
) -> tuple[str, ...]:
    """Store where the letters of the appointment's request go; refused once a letter of the
    request is printed or posted."""
    cleaned = clean_address(lines)
    assert appointment.id is not None
    case = await request_of(session, appointment)
    if case.id is not None:
        handed = await session.execute(
            select(col(Dispatch.id)).where(col(Dispatch.case_id) == case.id,
                                           col(Dispatch.status).in_(HANDED_OVER))
        )
        if handed.first() is not None:
            raise AddressLocked()
    assert case.id is not None
    query = select(PostalAddress).where(col(PostalAddress.case_id) == case.id)
    row = (await session.execute(query.with_for_update())).scalars().first()
    if row is None:
        row = PostalAddress(case_id=case.id)
        session.add(row)
    row.lines = "\n".join(cleaned)
    row.updated_at = utcnow()
    # The address itself stays out of the audit trail (personal data); that it changed is kept.
    record(session, actor, "case.postal_address", "appointment", appointment.id,
           {"reference": appointment.reference, "lines": len(cleaned)})
    await session.flush()
    return cleaned


# --- queueing ------------------------------------------------------------------------------


async def open_dispatch(session: AsyncSession, case_id: int) -> Dispatch | None:
    """The case's letter that is still queued, if any."""
    query = (
        select(Dispatch)
        .where(col(Dispatch.case_id) == case_id, col(Dispatch.status) == S.queued)
        .order_by(col(Dispatch.id).desc())
    )
    return (await session.execute(query)).scalars().first()


async def queue_for_case(session: AsyncSession, case: Case, *, batch_date: dt.date,
                         actor: Actor) -> Dispatch:
    """Queue the case's letter (idempotent: a letter still queued is reused, its content to be
    made afresh, e.g. after a reopened case was completed again)."""
    assert case.id is not None
    existing = await open_dispatch(session, case.id)
    if existing is not None:
        # A draft a provider may hold was never sent; the new letter gets a new one.
        existing.document_id = existing.provider_ref = None
        existing.provider, existing.provider_status = "", ""
        existing.batch_date = batch_date
        existing.updated_at = utcnow()
        await session.flush()
        enqueue(session, SUBMIT_JOB, {"dispatch_id": existing.id})
        return existing
    dispatch = Dispatch(case_id=case.id, office_id=case.office_id, batch_date=batch_date)
    session.add(dispatch)
    await session.flush()
    assert dispatch.id is not None
    record(session, actor, "dispatch.queued", "dispatch", dispatch.id,
           {"case_number": case.case_number, "batch_date": batch_date.isoformat()})
    # The worker hands it to a hybrid-mail provider when one is configured.
    enqueue(session, SUBMIT_JOB, {"dispatch_id": dispatch.id})
    return dispatch


async def withdraw_for_case(session: AsyncSession, case: Case, actor: Actor) -> None:
    """A re-completed case no longer goes by post: its queued letter is dropped (no milestone:
    the citizen was never told it would come)."""
    assert case.id is not None
    existing = await open_dispatch(session, case.id)
    if existing is None:
        return
    existing.status = S.cancelled.value
    existing.updated_at = utcnow()
    record(session, actor, "dispatch.withdrawn", "dispatch", existing.id,
           {"case_number": case.case_number})
    await session.flush()


# --- state changes -------------------------------------------------------------------------


async def get_dispatch(session: AsyncSession, dispatch_id: int, *,
                       for_update: bool = False) -> Dispatch:
    query = select(Dispatch).where(col(Dispatch.id) == dispatch_id)
    if for_update:
        query = query.with_for_update()
    found = (await session.execute(query)).scalars().first()
    if found is None:
        raise DispatchNotFound()
    return found


async def _apply(session: AsyncSession, dispatch: Dispatch, target: str, actor: Actor, *,
                 at: dt.datetime, detail: str = "") -> None:
    previous = dispatch.status
    dispatch.status = target
    dispatch.updated_at = at
    case = await session.get(Case, dispatch.case_id, with_for_update=True)
    if case is not None:
        case.dispatch_status = target
        case.updated_at = at
    record(session, actor, "dispatch.status", "dispatch", dispatch.id, {
        "case_number": case.case_number if case is not None else None,
        "from": previous, "to": target,
        **({"detail": detail} if detail else {}),
    })
    await reach(session, dispatch.case_id, MILESTONES[DispatchState(target)], at=at,
                detail=detail[:300])


async def set_status(session: AsyncSession, dispatch: Dispatch, target: str, actor: Actor, *,
                     at: dt.datetime | None = None) -> bool:
    """One legal step (staff); False when the letter already is in ``target``."""
    if target not in TRANSITIONS:
        raise Invalid("Unknown dispatch status.", field="status")
    await session.flush()  # keep the caller's changes: the refresh re-reads the row
    await session.refresh(dispatch, with_for_update=True)
    if dispatch.status == target:
        return False
    if target not in TRANSITIONS[dispatch.status]:
        raise IllegalTransition(current=dispatch.status, target=target)
    await _apply(session, dispatch, target, actor, at=at or utcnow())
    await session.flush()
    return True


async def advance(session: AsyncSession, dispatch: Dispatch, target: str, actor: Actor, *,
                  at: dt.datetime | None = None, detail: str = "") -> bool:
    """Move forward to ``target`` as a provider reports it, through any skipped steps.

    A report that is not forward (out of order, or about a cancelled letter) changes nothing.
    """
    await session.flush()  # keep the caller's changes: the refresh re-reads the row
    await session.refresh(dispatch, with_for_update=True)
    current = DispatchState(dispatch.status)
    wanted = DispatchState(target)
    if current not in RANK or wanted not in RANK or RANK[wanted] <= RANK[current]:
        return False
    # A reported time before the letter's last change is a clock or rounding artefact.
    when = max(at or utcnow(), dispatch.updated_at)
    for step in (S.printed, S.posted):
        if RANK[current] < RANK[step] < RANK[wanted] and step in TRANSITIONS[dispatch.status]:
            if step == S.printed and dispatch.provider == HYBRID:
                continue  # the provider prints out of sight: no "printed" step of ours
            await _apply(session, dispatch, step.value, actor, at=when)
    if wanted not in TRANSITIONS[dispatch.status]:
        return False
    await _apply(session, dispatch, wanted.value, actor, at=when, detail=detail)
    await session.flush()
    return True


# --- reading -------------------------------------------------------------------------------


async def by_provider_ref(session: AsyncSession, reference: str) -> Dispatch | None:
    query = select(Dispatch).where(col(Dispatch.provider_ref) == reference[:100])
    return (await session.execute(query)).scalars().first()


async def _rows(session: AsyncSession, dispatches: list[Dispatch]) -> list[DispatchRow]:
    if not dispatches:
        return []
    case_ids = {d.case_id for d in dispatches}
    found = await session.execute(select(Case).where(col(Case.id).in_(case_ids)))
    cases = {case.id: case for case in found.scalars()}
    addresses = await session.execute(
        select(PostalAddress).where(col(PostalAddress.case_id).in_(case_ids))
    )
    by_case = {a.case_id: tuple(a.line_list()) for a in addresses.scalars()}
    rows = []
    for dispatch in dispatches:
        case = cases[dispatch.case_id]
        rows.append(DispatchRow(
            dispatch=dispatch, case_number=case.number, reference=case.reference,
            recipient_name=f"{case.given_name} {case.family_name}".strip(),
            address_lines=by_case.get(dispatch.case_id, ()),
        ))
    return rows


async def list_dispatches(session: AsyncSession, office_ids: Sequence[int], *,
                          status: str | None = None, limit: int = 500) -> list[DispatchRow]:
    query = select(Dispatch).where(col(Dispatch.office_id).in_(list(office_ids)))
    if status is not None:
        if status not in TRANSITIONS:
            raise Invalid("Unknown dispatch status.", field="status")
        query = query.where(col(Dispatch.status) == status)
    query = query.order_by(col(Dispatch.id).desc()).limit(limit)
    return await _rows(session, list((await session.execute(query)).scalars()))


async def row_of(session: AsyncSession, dispatch: Dispatch) -> DispatchRow:
    return (await _rows(session, [dispatch]))[0]


def _batch_filter(office_ids: Sequence[int], day: dt.date, upto: int | None,
                  unassigned: bool) -> list[ColumnElement[bool]]:
    # With a hybrid-mail service, letters nobody took yet are the service's, not the batch's.
    providers = [PRINT_ROOM, ""] if unassigned else [PRINT_ROOM]
    conditions: list[ColumnElement[bool]] = [
        col(Dispatch.office_id).in_(list(office_ids)),
        col(Dispatch.provider).in_(providers),
        col(Case.state) == CaseState.completed,
        or_(
            and_(col(Dispatch.status) == S.queued, col(Dispatch.batch_date) <= day),
            and_(col(Dispatch.status).in_([S.printed, S.posted]),
                 col(Dispatch.batch_date) == day),
        ),
    ]
    if upto is not None:
        conditions.append(col(Dispatch.id) <= upto)
    return conditions


async def batch_members(session: AsyncSession, office_ids: Sequence[int], day: dt.date, *,
                        upto: int | None = None, unassigned: bool = True) -> list[DispatchRow]:
    """The print room's batch for ``day`` in queue order (see the module doc); without
    ``unassigned`` only letters the print room already took (a hybrid-mail service is on)."""
    query = (
        select(Dispatch)
        .join(Case, col(Case.id) == col(Dispatch.case_id))
        .where(*_batch_filter(office_ids, day, upto, unassigned))
        .order_by(col(Dispatch.id))
    )
    return await _rows(session, list((await session.execute(query)).scalars()))


async def mark_batch(session: AsyncSession, office_ids: Sequence[int], day: dt.date,
                     target: str, actor: Actor, *, upto: int | None = None,
                     unassigned: bool = True) -> int:
    """Mark the batch printed (its queued letters) or posted (its printed letters)."""
    if target not in (S.printed, S.posted):
        raise Invalid("A batch can be marked printed or posted.", field="status")
    source = S.queued if target == S.printed else S.printed
    rows = await batch_members(session, office_ids, day, upto=upto, unassigned=unassigned)
    members = [row.dispatch for row in rows if row.dispatch.status == source]
    now = utcnow()
    for dispatch in members:
        await session.refresh(dispatch, with_for_update=True)
        if dispatch.status != source:
            continue  # changed meanwhile
        dispatch.batch_date = day
        dispatch.provider = PRINT_ROOM
        await _apply(session, dispatch, target, actor, at=now)
    await session.flush()
    return len(members)
