"""The citizen's side of an online request: submit, confirm, follow, answer, withdraw.

A request is a ``case_file`` (channel ``online``) with its ``online_request``. Submitting writes
both, the answers checked against the form (``online.forms``), a link token as for appointments
(``booking.links``: only its hash is stored) and the first mail. With double opt-in the request
is ``submitted`` until the link confirms it; otherwise it is ``received`` at once. A citizen
holds at most ``max_open_per_email`` requests that are not closed (as for bookings).

Mails go through the outbox (``mail.request`` jobs: ``submitted``, ``received``, ``question``,
``rejected``, ``withdrawn``); milestones (``cases.milestones``) record the steps the link page
shows and send their own mails. Services here take a session, raise domain errors and never
commit.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from booking.links import LinkKeys
from booking.models import ACTIVE_STATUSES, Appointment
from booking.service import (
    REFERENCE_ALPHABET,
    Booked,
    BookingPolicy,
    CitizenInput,
    lock_email,
    normalize_email,
)
from cases.intake import book_for_request
from cases.milestones import MilestoneKind, reach
from cases.models import Case, CaseState, Channel
from core.audit import Actor, record
from core.document_numbers import no_document_number
from core.errors import Conflict, Invalid, Unauthorized, WrongState
from core.i18n import LANGUAGES
from core.jobs import enqueue
from core.types import utcnow
from online.catalogue import Offered, online_service
from online.forms import check_answers, missing_files
from online.models import (
    CLOSED_STATUSES,
    OPEN_STATUSES,
    Author,
    OnlineRequest,
    RequestDocument,
    RequestMessage,
    RequestStatus,
)
from postcall.rejection import Rejection

MAIL_JOB = "mail.request"
MESSAGE_MAX = 4000
LOCALES = LANGUAGES


class TooManyRequests(Conflict):
    code = "too_many_requests"
    message = ("You already have several open requests with this e-mail address. Please wait "
               "until one of them is decided, or withdraw one.")


class DocumentsMissing(Conflict):
    code = "documents_missing"
    message = "Please upload the documents the form asks for first."


class NotConfirmed(Conflict):
    code = "not_confirmed"
    message = "Please confirm your request through the link in our e-mail first."


@dataclass(frozen=True)
class RequestPolicy:
    require_confirmation: bool = True
    confirm_within_hours: int = 48  # an unconfirmed request expires then
    max_open_per_email: int = 3
    link_grace_days: int = 30  # the link works this long after the decision


@dataclass
class Submitted:
    case: Case
    request: OnlineRequest
    token: str  # shown/sent once; never logged


@dataclass(frozen=True)
class Held:
    """A request with its online part and its service, as the link and the inbox read it."""

    case: Case
    request: OnlineRequest


def new_reference() -> str:
    chars = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))
    return f"OA-{chars[:4]}-{chars[4:]}"  # Online-Antrag


def rejection_of(request: OnlineRequest) -> Rejection:
    """What the rejection notice of a refused request says (the mail's and the download's)."""
    return Rejection(reasons=request.rejection_reason, submitted_at=request.submitted_at,
                     decided_at=request.decided_at or request.updated_at,
                     clerk_name=request.assigned_label)


def answers_of(request: OnlineRequest) -> dict[str, Any]:
    try:
        value = json.loads(request.answers or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def mail(session: AsyncSession, case: Case, template: str, **extra: Any) -> None:
    enqueue(session, MAIL_JOB, {"case_id": case.id, "template": template, **extra})


def _check_citizen(citizen: CitizenInput, locale: str, *, anonymous: bool) -> None:
    for field, value, limit in (
        ("citizen.given_name", citizen.given_name, 100),
        ("citizen.family_name", citizen.family_name, 100),
        ("citizen.email", citizen.email, 254), ("citizen.phone", citizen.phone, 50),
    ):
        if len(value) > limit:
            raise Invalid("This entry is too long.", field=field)
    if "@" not in citizen.email.strip("@") or " " in citizen.email.strip():
        raise Invalid("Please enter a valid e-mail address.", field="citizen.email")
    if not anonymous and (not citizen.given_name.strip() or not citizen.family_name.strip()):
        raise Invalid("Please enter your given name and family name.", field="citizen.given_name")
    if locale not in LOCALES:
        raise Invalid("This language is not supported.", field="locale")


async def _open_count(session: AsyncSession, email_norm: str) -> int:
    query = (select(func.count()).select_from(OnlineRequest)
             .where(col(OnlineRequest.email_norm) == email_norm,
                    col(OnlineRequest.status).not_in([s.value for s in CLOSED_STATUSES])))
    return int(await session.scalar(query) or 0)


async def submit(
    session: AsyncSession, links: LinkKeys, policy: RequestPolicy, *, service_id: int,
    office_id: int, citizen: CitizenInput, answers: Any, locale: str,
    files: frozenset[str] | None = None, now: datetime | None = None,
) -> Submitted:
    """Write a new request (see the module doc). ``files``: the file fields a page form sends
    with it (their required ones are then enforced here)."""
    now = now or utcnow()
    offered = await online_service(session, service_id, offered_only=True)
    if office_id not in offered.office_ids:
        raise Invalid("This office does not offer this service.", field="office_id")
    anonymous = offered.online.anonymous_allowed and not (
        citizen.given_name.strip() or citizen.family_name.strip())
    _check_citizen(citizen, locale, anonymous=offered.online.anonymous_allowed)
    cleaned = check_answers(offered.fields, answers, files=files)
    email = citizen.email.strip()
    email_norm = normalize_email(email)
    await lock_email(session, email_norm)
    if await _open_count(session, email_norm) >= policy.max_open_per_email:
        raise TooManyRequests()
    held = policy.require_confirmation
    case = Case(
        reference=new_reference(), channel=Channel.online.value, office_id=office_id,
        service_id=service_id, given_name=citizen.given_name.strip(),
        family_name=citizen.family_name.strip(), email=email, phone=citizen.phone.strip(),
        date_of_birth=citizen.date_of_birth, locale=locale, state=CaseState.open.value,
        created_at=now, updated_at=now,
    )
    session.add(case)
    await session.flush()
    assert case.id is not None
    nonce = links.new_nonce()
    token = links.token_for(nonce)
    request = OnlineRequest(
        case_id=case.id, email_norm=email_norm, link_nonce=nonce,
        token_hash=links.hash_token(token),
        status=(RequestStatus.submitted if held else RequestStatus.received).value,
        answers=json.dumps(cleaned, ensure_ascii=False), anonymous=anonymous,
        submitted_at=now, updated_at=now,
    )
    session.add(request)
    await session.flush()
    if held:
        mail(session, case, "submitted")
    else:
        await _receive(session, case, request, offered, now)
    record(session, Actor.citizen(), "request.submit", "case", case.id,
           {"reference": case.reference, "service_id": service_id})
    return Submitted(case=case, request=request, token=token)


async def _receive(session: AsyncSession, case: Case, request: OnlineRequest, offered: Offered,
                   now: datetime) -> None:
    request.status = RequestStatus.received.value
    request.received_at = request.updated_at = now
    request.due_at = now + timedelta(days=offered.online.processing_days)
    await session.flush()
    assert case.id is not None
    mail(session, case, "received")
    await reach(session, case.id, MilestoneKind.received, at=now, notify=False)


async def find_by_token(session: AsyncSession, links: LinkKeys, policy: RequestPolicy,
                        token: str, now: datetime | None = None) -> Held | None:
    """The request of a link token; None when the token is not a request's (it may be an
    appointment's); ``Unauthorized`` when the request's link has lapsed."""
    now = now or utcnow()
    if not links.looks_like_token(token):
        return None
    row = (await session.execute(
        select(Case, OnlineRequest).join(OnlineRequest, col(OnlineRequest.case_id) == col(Case.id))
        .where(col(OnlineRequest.token_hash) == links.hash_token(token)))).first()
    if row is None:
        return None
    case, request = row
    closed_at = request.decided_at if request.status in CLOSED_STATUSES else None
    if closed_at is not None and closed_at + timedelta(days=policy.link_grace_days) <= now:
        raise Unauthorized()
    return Held(case=case, request=request)


async def request_link_nonce(session: AsyncSession, case_id: int) -> str | None:
    """The nonce the link of an online request is made from (None: not an online request)."""
    request = await session.get(OnlineRequest, case_id)
    return request.link_nonce if request is not None else None


async def request_status(session: AsyncSession, case_id: int) -> str | None:
    """The status of an online request (None: the case is not one)."""
    request = await session.get(OnlineRequest, case_id)
    return request.status if request is not None else None


async def lock(session: AsyncSession, held: Held) -> None:
    """Re-read the request under a row lock: one change at a time."""
    await session.refresh(held.request, with_for_update=True)


async def documents_of(session: AsyncSession, case_id: int) -> list[RequestDocument]:
    """The documents of a request (without loading their sealed bytes twice), oldest first."""
    rows = await session.execute(select(RequestDocument).where(
        col(RequestDocument.case_id) == case_id).order_by(col(RequestDocument.id)))
    return list(rows.scalars())


async def messages_of(session: AsyncSession, case_id: int) -> list[RequestMessage]:
    rows = await session.execute(select(RequestMessage).where(
        col(RequestMessage.case_id) == case_id).order_by(col(RequestMessage.id)))
    return list(rows.scalars())


async def confirm(session: AsyncSession, policy: RequestPolicy, held: Held,
                  now: datetime | None = None) -> Held:
    """submitted → received (double opt-in); confirming again is a no-op."""
    now = now or utcnow()
    await lock(session, held)
    request = held.request
    if request.status != RequestStatus.submitted:
        if request.status in (RequestStatus.expired, RequestStatus.withdrawn):
            raise WrongState()
        return held
    if request.submitted_at + timedelta(hours=policy.confirm_within_hours) <= now:
        await _expire(session, held, now)
        raise WrongState("This request was not confirmed in time. Please send it again.")
    offered = await online_service(session, held.case.service_id)
    assert held.case.id is not None
    present = {d.field_key for d in await documents_of(session, held.case.id)}
    missing = missing_files(offered.fields, present)
    if missing:
        error = DocumentsMissing()
        for key in missing:
            error.add(f"documents.{key}", "Please attach a file.")
        raise error
    await _receive(session, held.case, request, offered, now)
    record(session, Actor.citizen(), "request.confirm", "case", held.case.id,
           {"reference": held.case.reference})
    return held


async def _expire(session: AsyncSession, held: Held, now: datetime) -> None:
    held.request.status = RequestStatus.expired.value
    held.request.decided_at = held.request.updated_at = now
    await session.flush()


async def expire_unconfirmed(session: AsyncSession, policy: RequestPolicy,
                             now: datetime | None = None, limit: int = 500) -> int:
    """submitted past the confirmation time → expired; returns how many (worker task)."""
    now = now or utcnow()
    cutoff = now - timedelta(hours=policy.confirm_within_hours)
    ids = list((await session.execute(
        select(col(OnlineRequest.case_id))
        .where(col(OnlineRequest.status) == RequestStatus.submitted,
               col(OnlineRequest.submitted_at) <= cutoff).limit(limit))).scalars())
    if ids:
        await session.execute(
            update(OnlineRequest).where(col(OnlineRequest.case_id).in_(ids),
                                        col(OnlineRequest.status) == RequestStatus.submitted)
            .values(status=RequestStatus.expired.value, decided_at=now, updated_at=now))
    return len(ids)


def clean_text(text: Any, field: str = "text") -> str:
    if not isinstance(text, str) or not text.strip():
        raise Invalid("Please write a message.", field=field)
    value = text.strip().replace("\r\n", "\n")
    if len(value) > MESSAGE_MAX:
        raise Invalid("At most %(max)s characters.", field=field, max=MESSAGE_MAX)
    return no_document_number(value, field, strict=False)


async def citizen_message(session: AsyncSession, held: Held, text: Any,
                          now: datetime | None = None) -> RequestMessage:
    """The citizen writes (an answer to a question, or anything else while the request is open):
    a request waiting for the citizen goes back to the inbox, highlighted."""
    now = now or utcnow()
    value = clean_text(text)
    await lock(session, held)
    request = held.request
    if request.status == RequestStatus.submitted:
        raise NotConfirmed()
    if request.status in CLOSED_STATUSES:
        raise WrongState("This request is closed: messages are no longer possible.")
    assert held.case.id is not None
    message = RequestMessage(case_id=held.case.id, author=Author.citizen.value, text=value,
                             created_at=now)
    session.add(message)
    await answered(session, held, now)
    await session.flush()
    record(session, Actor.citizen(), "request.message", "case", held.case.id,
           {"reference": held.case.reference})
    return message


async def answered(session: AsyncSession, held: Held, now: datetime) -> None:
    """The citizen did something (a message, a document): back to the clerk, highlighted."""
    request = held.request
    assert held.case.id is not None
    if request.status == RequestStatus.waiting_for_citizen:
        request.status = RequestStatus.in_progress.value
        last_question = await session.scalar(
            select(func.max(col(RequestMessage.id))).where(
                col(RequestMessage.case_id) == held.case.id,
                col(RequestMessage.author) == Author.office))
        await reach(session, held.case.id, MilestoneKind.answered, at=now,
                    detail=str(last_question or 0), notify=False)
    if request.status not in (RequestStatus.submitted, *CLOSED_STATUSES):
        request.needs_attention = True
    request.updated_at = now
    held.case.updated_at = now


async def withdraw(session: AsyncSession, held: Held, now: datetime | None = None) -> Held:
    """The citizen withdraws the request; possible until it is decided."""
    now = now or utcnow()
    await lock(session, held)
    request = held.request
    if request.status == RequestStatus.withdrawn:
        return held
    if request.status in CLOSED_STATUSES:
        raise WrongState("This request has already been decided and cannot be withdrawn.")
    request.status = RequestStatus.withdrawn.value
    request.decided_at = request.updated_at = now
    request.needs_attention = False
    held.case.updated_at = now
    await session.flush()
    assert held.case.id is not None
    await reach(session, held.case.id, MilestoneKind.withdrawn, at=now, notify=False)
    mail(session, held.case, "withdrawn")
    record(session, Actor.citizen(), "request.withdraw", "case", held.case.id,
           {"reference": held.case.reference})
    return held


async def book_identity_call(
    session: AsyncSession, links: LinkKeys, policy: BookingPolicy, held: Held, start: datetime,
    now: datetime | None = None,
) -> Booked:
    """The citizen books the video appointment the office asked for (``invite-video``), from
    the request's link: confirmed at once (the link proves the address), a channel of this
    request, with the request's citizen and office, so nothing is typed twice."""
    now = now or utcnow()
    await lock(session, held)
    request = held.request
    if request.status not in OPEN_STATUSES:
        raise WrongState("This request is closed.")
    offered = await online_service(session, held.case.service_id)
    service_id = offered.online.video_service_id
    if request.video_invited_at is None or service_id is None:
        raise WrongState("The office has not asked for a video appointment for this request.")
    open_calls = await session.scalar(
        select(func.count()).select_from(Appointment)
        .where(col(Appointment.case_id) == held.case.id,
               col(Appointment.status).in_([s.value for s in ACTIVE_STATUSES])))
    if open_calls:
        raise WrongState("A video appointment for this request is already booked.")
    confirmed_at_once = BookingPolicy(
        require_confirmation=False, hold_minutes=policy.hold_minutes,
        max_active_per_email=policy.max_active_per_email,
        link_grace_days=policy.link_grace_days, reminder_hours=policy.reminder_hours)
    booked = await book_for_request(session, links, confirmed_at_once, held.case,
                                    service_id=service_id, start=start, now=now)
    request.updated_at = now
    record(session, Actor.citizen(), "request.book_video", "case", held.case.id,
           {"reference": held.case.reference, "appointment": booked.appointment.reference})
    return booked
