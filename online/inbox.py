"""The clerk's side of online requests: the inbox, taking a request up, asking back, deciding.

Access is by office, as for appointments: a clerk sees the requests of their offices (an admin
all); an unknown reference is 404, another office's 403. Statuses move as CONTRACT says:
``received`` → ``in_progress`` (a clerk takes it up, or writes) ⇄ ``waiting_for_citizen`` (the
office asked; the citizen's answer or upload brings it back, highlighted) → ``completed`` |
``rejected``. Completing is the completion of video requests (``cases.completion``: items,
payment, delivery, case number; the identity check by video when the service needs it), followed
by the fee notice, dispatch and milestones (``postcall``). Every step is audited; services take a
session, raise domain errors and never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from booking.models import Appointment, Office, Service
from cases import completion
from cases.completion import CasePolicy, CompletionInput
from cases.milestones import MilestoneKind, reach
from cases.models import Case, CaseState
from core.audit import Actor, record
from core.errors import Forbidden, Invalid, NotFound, WrongState
from core.types import utcnow
from online.catalogue import online_service
from online.models import (
    OPEN_STATUSES,
    Author,
    FieldType,
    OnlineRequest,
    RequestMessage,
    RequestStatus,
)
from online.requests import Held, clean_text, lock, mail
from postcall import decisions
from postcall.notices import after_completion
from staff.models import StaffUser
from staff.service import staff_actor, visible_office_ids

REASON_MAX = 2000
PAGE = 200


class View(StrEnum):
    """The inbox's tabs."""

    new = "new"  # received, nobody took it up
    mine = "mine"  # open and assigned to me
    waiting = "waiting"  # waiting for the citizen
    overdue = "overdue"  # open past the expected processing time
    open = "open"  # every open request
    closed = "closed"  # decided, withdrawn or expired
    all = "all"


@dataclass(frozen=True)
class Entry:
    case: Case
    request: OnlineRequest
    service: Service
    office: Office

    @property
    def overdue_at(self) -> datetime | None:
        return self.request.due_at if self.request.status in OPEN_STATUSES else None


@dataclass(frozen=True)
class Filter:
    view: View = View.open
    status: str | None = None
    office_id: int | None = None
    service_id: int | None = None


def _query(office_ids: Sequence[int]) -> Select[Case, OnlineRequest, Service, Office]:
    return (select(Case, OnlineRequest, Service, Office)
            .join(OnlineRequest, col(OnlineRequest.case_id) == col(Case.id))
            .join(Service, col(Service.id) == col(Case.service_id))
            .join(Office, col(Office.id) == col(Case.office_id))
            .where(col(Case.office_id).in_(list(office_ids)),
                   # Not the office's before the citizen confirmed the address.
                   col(OnlineRequest.status) != RequestStatus.submitted))


async def inbox(session: AsyncSession, user: StaffUser, wanted: Filter,
                now: datetime | None = None) -> list[Entry]:
    """The requests of the user's offices in one view, highlighted and oldest due first."""
    now = now or utcnow()
    offices = await visible_office_ids(session, user)
    if wanted.office_id is not None:
        if wanted.office_id not in offices:
            raise Forbidden() if await session.get(Office, wanted.office_id) else NotFound()
        offices = [wanted.office_id]
    query = _query(offices)
    status = col(OnlineRequest.status)
    open_ = status.in_([s.value for s in OPEN_STATUSES])
    if wanted.view == View.new:
        query = query.where(status == RequestStatus.received,
                            col(OnlineRequest.assigned_to_id).is_(None))
    elif wanted.view == View.mine:
        query = query.where(open_, col(OnlineRequest.assigned_to_id) == user.id)
    elif wanted.view == View.waiting:
        query = query.where(status == RequestStatus.waiting_for_citizen)
    elif wanted.view == View.overdue:
        query = query.where(open_, col(OnlineRequest.due_at) < now)
    elif wanted.view == View.open:
        query = query.where(open_)
    elif wanted.view == View.closed:
        query = query.where(~open_)
    if wanted.status is not None:
        if wanted.status not in set(RequestStatus):
            raise Invalid("Unknown status.", field="status")
        query = query.where(status == wanted.status)
    if wanted.service_id is not None:
        query = query.where(col(Case.service_id) == wanted.service_id)
    query = query.order_by(col(OnlineRequest.needs_attention).desc(),
                           col(OnlineRequest.due_at).asc(), col(Case.id)).limit(PAGE)
    return [Entry(*row) for row in (await session.execute(query)).all()]


async def counts(session: AsyncSession, user: StaffUser, now: datetime | None = None,
                 ) -> dict[str, int]:
    """How many requests each tab holds (for the tab labels)."""
    return {view.value: len(await inbox(session, user, Filter(view=view), now))
            for view in (View.new, View.mine, View.waiting, View.overdue)}


async def request_for_staff(session: AsyncSession, user: StaffUser, reference: str) -> Entry:
    """The request ``reference``: 404 when unknown (or not an online request), 403 when it
    belongs to none of the user's offices."""
    row = (await session.execute(
        select(Case, OnlineRequest, Service, Office)
        .join(OnlineRequest, col(OnlineRequest.case_id) == col(Case.id))
        .join(Service, col(Service.id) == col(Case.service_id))
        .join(Office, col(Office.id) == col(Case.office_id))
        .where(col(Case.reference) == reference[:20]))).first()
    if row is None or row[1].status == RequestStatus.submitted:
        raise NotFound()
    if row[0].office_id not in await visible_office_ids(session, user):
        raise Forbidden()
    return Entry(*row)


def _held(entry: Entry) -> Held:
    return Held(case=entry.case, request=entry.request)


def _open(entry: Entry) -> None:
    if entry.request.status not in OPEN_STATUSES:
        raise WrongState("This request is closed.")


def _audit(session: AsyncSession, actor: Actor, action: str, entry: Entry,
           **detail: object) -> None:
    record(session, actor, action, "case", entry.case.id,
           {"reference": entry.case.reference, **detail})


async def _take_up(session: AsyncSession, entry: Entry, user: StaffUser, now: datetime) -> None:
    """A request still ``received`` goes ``in_progress`` with its first clerk."""
    request = entry.request
    if request.assigned_to_id is None:
        request.assigned_to_id = user.id
        request.assigned_label = (user.display_name or user.email)[:254]
    if request.status == RequestStatus.received:
        request.status = RequestStatus.in_progress.value
        assert entry.case.id is not None
        await reach(session, entry.case.id, MilestoneKind.in_progress, at=now)
    request.updated_at = now


async def claim(session: AsyncSession, entry: Entry, user: StaffUser, *,
                assignee: StaffUser | None = None, now: datetime | None = None) -> Entry:
    """Take the request up (``assignee`` None) or hand it to a clerk of its office."""
    now = now or utcnow()
    await lock(session, _held(entry))
    _open(entry)
    target = assignee or user
    if entry.case.office_id not in await visible_office_ids(session, target) or not target.active:
        raise Invalid("This person does not work for the request's office.", field="staff_id")
    entry.request.assigned_to_id = None
    await _take_up(session, entry, target, now)
    await session.flush()
    _audit(session, staff_actor(user), "request.assign", entry, staff_id=target.id)
    return entry


async def ask(session: AsyncSession, entry: Entry, user: StaffUser, text: object,
              documents_requested: Sequence[str] = (), now: datetime | None = None,
              ) -> RequestMessage:
    """A message to the citizen, with the form's file fields still needed: the request waits
    for the citizen, who gets an e-mail and sees the question (and an upload) on the link."""
    now = now or utcnow()
    value = clean_text(text)
    await lock(session, _held(entry))
    _open(entry)
    offered = await online_service(session, entry.case.service_id)
    file_keys = {f.key for f in offered.fields if f.type == FieldType.file}
    wanted = list(dict.fromkeys(documents_requested))
    unknown = [k for k in wanted if k not in file_keys]
    if unknown:
        raise Invalid("This form has no such document field: %(keys)s.",
                      field="documents_requested", keys=", ".join(unknown))
    await _take_up(session, entry, user, now)
    assert entry.case.id is not None
    message = RequestMessage(
        case_id=entry.case.id, author=Author.office.value, staff_id=user.id,
        staff_label=(user.display_name or user.email)[:254], text=value,
        documents_requested=",".join(wanted), created_at=now)
    session.add(message)
    entry.request.status = RequestStatus.waiting_for_citizen.value
    entry.request.needs_attention = False
    entry.case.updated_at = now
    await session.flush()
    await reach(session, entry.case.id, MilestoneKind.question, at=now, detail=str(message.id),
                notify=False)
    mail(session, entry.case, "question", message_id=message.id)
    _audit(session, staff_actor(user), "request.ask", entry, documents=wanted)
    return message


async def complete(session: AsyncSession, entry: Entry, user: StaffUser, data: CompletionInput,
                   policy: CasePolicy, now: datetime | None = None) -> Case:
    """Decide the request: the completion of video requests, then its letters (see the module
    doc). 409 ``identity_required`` while a needed video identity check is missing."""
    now = now or utcnow()
    await lock(session, _held(entry))
    await completion.check_input(session, data, policy)
    _open(entry)
    actor = staff_actor(user)
    case = await completion.complete_case(session, entry.case, data, actor, policy, now=now)
    entry.request.status = RequestStatus.completed.value
    entry.request.decided_at = entry.request.updated_at = now
    entry.request.needs_attention = False
    if entry.request.assigned_to_id is None:
        entry.request.assigned_to_id = user.id
        entry.request.assigned_label = (user.display_name or user.email)[:254]
    await session.flush()
    await after_completion(session, case)
    _audit(session, actor, "request.complete", entry, case_number=case.case_number,
           amount_cents=case.amount_cents, payment=case.payment, delivery=case.delivery)
    return case


async def reject(session: AsyncSession, entry: Entry, user: StaffUser, reason: object,
                 now: datetime | None = None) -> Entry:
    """Refuse the request with reasons: a rejection notice (with the legal-remedy notice) goes
    to the citizen as a PDF by e-mail."""
    now = now or utcnow()
    if not isinstance(reason, str) or not reason.strip():
        raise Invalid("Please give the reasons for the rejection.", field="reason")
    text = clean_text(reason, "reason")
    if len(text) > REASON_MAX:
        raise Invalid("At most %(max)s characters.", field="reason", max=REASON_MAX)
    await lock(session, _held(entry))
    _open(entry)
    request = entry.request
    request.status = RequestStatus.rejected.value
    request.rejection_reason = text
    request.decided_at = request.updated_at = now
    request.needs_attention = False
    entry.case.updated_at = now
    await session.flush()
    assert entry.case.id is not None
    await reach(session, entry.case.id, MilestoneKind.rejected, at=now, notify=False)
    mail(session, entry.case, "rejected")
    _audit(session, staff_actor(user), "request.reject", entry)
    return entry


async def invite_video(session: AsyncSession, entry: Entry, user: StaffUser,
                       now: datetime | None = None) -> Entry:
    """Ask the citizen to book a short video appointment for the identity check from the
    request's link page; the appointment becomes a channel of this request."""
    now = now or utcnow()
    await lock(session, _held(entry))
    _open(entry)
    offered = await online_service(session, entry.case.service_id)
    video = offered.online.video_service_id
    if video is None:
        raise WrongState("No video service for the identity check is configured for this "
                         "online service.")
    await _take_up(session, entry, user, now)
    entry.request.video_invited_at = now
    await session.flush()
    assert entry.case.id is not None
    await reach(session, entry.case.id, MilestoneKind.video_invited, at=now,
                detail=now.isoformat(), notify=False)
    mail(session, entry.case, "video_invite")
    _audit(session, staff_actor(user), "request.invite_video", entry)
    return entry


async def complete_appointment(session: AsyncSession, appointment: Appointment,
                               data: CompletionInput, actor: Actor, policy: CasePolicy,
                               address: Sequence[str] = ()) -> Case:
    """Complete an appointment at the desk (``postcall.decisions.complete``, with the postal
    address the clerk confirmed); when it is the identity call of an online request, the
    request is completed with it (one case)."""
    case = await decisions.complete(session, appointment, data, actor, policy, address=address)
    await after_call_completion(session, case)
    return case


async def after_call_completion(session: AsyncSession, case: Case,
                                now: datetime | None = None) -> None:
    """A request decided in its identity call (the clerk completed the appointment) is
    completed as an online request too."""
    request = await session.get(OnlineRequest, case.id)
    if request is None or case.state != CaseState.completed:
        return
    if request.status in OPEN_STATUSES:
        request.status = RequestStatus.completed.value
        request.decided_at = request.updated_at = now or utcnow()
        request.needs_attention = False
        await session.flush()

