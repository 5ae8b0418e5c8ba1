"""The public side: a document's state by type and number (no login), the office where it is
picked up with its opening hours, and an e-mail address left to be told once it is ready.

Unknown numbers and deleted entries are the same ``DocumentNotFound``; the answer holds no
personal data. The caller rate-limits per client.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from booking.models import Closure, Office, Schedule
from core.errors import Conflict, Invalid, NotFound
from core.i18n import LANGUAGES
from core.sealing import seal, unseal
from core.types import utcnow
from idstatus.models import DocumentState, DocumentStatus
from idstatus.serials import InvalidSerial, SerialKeys, normalize_serial
from idstatus.service import check_type

SEAL_PURPOSE = b"document-status-notify"
TYPE_MESSAGE = "Please choose ID card or passport."
CLOSURE_DAYS = 14  # closures shown ahead
EMAIL_MAX = 254


class DocumentNotFound(NotFound):
    code = "not_found"
    message = ("We have no information on a document with this number. Please check the "
               "document type and number. New applications appear a few days after they were "
               "made.")


class AlreadyReady(Conflict):
    code = "already_ready"
    message = "Your document is already at the office; no e-mail is needed."


@dataclass(frozen=True)
class Found:
    id: int
    document_type: str
    status: str
    status_at: dt.datetime
    updated_at: dt.datetime
    office: Office
    will_tell: bool  # an address is stored and the mail has not gone out yet


@dataclass(frozen=True)
class DayHours:
    weekday: int  # Monday = 0
    ranges: list[tuple[dt.time, dt.time]]


@dataclass(frozen=True)
class Hours:
    days: list[DayHours]
    closed: list[tuple[dt.date, str]]  # closures in the coming days


async def lookup(session: AsyncSession, keys: SerialKeys, document_type: object,
                 serial: object) -> Found:
    kind = check_type(document_type)
    try:
        serial_hash = keys.hash(normalize_serial(serial))
    except InvalidSerial as exc:
        if kind is None:  # both wrong: both named at once
            exc.add("document_type", TYPE_MESSAGE)
            exc.add("serial", exc.msgid)
        raise
    if kind is None:
        raise Invalid(TYPE_MESSAGE, field="document_type")
    row = (await session.execute(
        select(DocumentStatus, Office).join(Office, col(Office.id) == col(DocumentStatus.office_id))
        .where(col(DocumentStatus.document_type) == kind,
               col(DocumentStatus.serial_hash) == serial_hash)
    )).first()
    if row is None:
        raise DocumentNotFound()
    entry, office = row
    assert entry.id is not None
    return Found(id=entry.id, document_type=entry.document_type, status=entry.status,
                 status_at=entry.status_at, updated_at=entry.updated_at, office=office,
                 will_tell=entry.notify_email is not None and entry.notified_at is None)


def check_email(value: object) -> str:
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > EMAIL_MAX:
        raise Invalid("Please enter a valid e-mail address.", field="email")
    try:
        validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise Invalid("Please enter a valid e-mail address.", field="email") from exc
    return value.strip()


def _aad(row_id: int) -> bytes:
    return f"document-status:{row_id}".encode()


async def tell_when_ready(session: AsyncSession, keys: SerialKeys, secret_key: bytes,
                          document_type: object, serial: object, email: object,
                          locale: str) -> Found:
    """Keep ``email`` (sealed, bound to the entry) until the document is ready; a later
    address replaces an earlier one. 409 once it is ready or collected."""
    found = await lookup(session, keys, document_type, serial)
    if found.status in (DocumentState.ready, DocumentState.collected):
        raise AlreadyReady()
    address = check_email(email)
    entry = await session.get(DocumentStatus, found.id)
    assert entry is not None
    entry.notify_email = seal(secret_key, SEAL_PURPOSE, address.encode(), aad=_aad(found.id))
    entry.notify_locale = locale if locale in LANGUAGES else "de"
    entry.notified_at = None
    entry.updated_at = utcnow()
    return replace(found, will_tell=True)


@dataclass(frozen=True)
class ReadyMail:
    address: str
    locale: str
    document_type: str
    office: Office


async def ready_mail(session: AsyncSession, secret_key: bytes, row_id: int) -> ReadyMail | None:
    """What the mail "ready for pickup" needs; None when there is nothing to send (the entry is
    gone, no address, or the document is no longer ready)."""
    row = (await session.execute(
        select(DocumentStatus, Office).join(Office, col(Office.id) == col(DocumentStatus.office_id))
        .where(col(DocumentStatus.id) == row_id))).first()
    if row is None:
        return None
    entry, office = row
    if entry.notify_email is None or entry.status != DocumentState.ready:
        return None
    opened = unseal(secret_key, SEAL_PURPOSE, entry.notify_email, aad=_aad(row_id))
    if opened is None:  # sealed under another secret key: it can never be sent
        return None
    return ReadyMail(opened.decode(), entry.notify_locale, entry.document_type, office)


async def forget_address(session: AsyncSession, row_id: int) -> None:
    entry = await session.get(DocumentStatus, row_id)
    if entry is not None:
        entry.notify_email = None


async def opening_hours(session: AsyncSession, office: Office,
                        now: dt.datetime | None = None) -> Hours:
    """The office's weekly hours (its schedules valid today, merged per weekday) and its
    closures in the next two weeks."""
    assert office.id is not None
    today = (now or utcnow()).astimezone(ZoneInfo(office.timezone)).date()
    schedules = (await session.execute(select(Schedule).where(
        col(Schedule.office_id) == office.id, col(Schedule.valid_from) <= today,
        or_(col(Schedule.valid_until).is_(None), col(Schedule.valid_until) >= today),
    ))).scalars()
    per_day: dict[int, list[tuple[dt.time, dt.time]]] = {}
    for schedule in schedules:
        for weekday in schedule.weekday_list():
            per_day.setdefault(weekday, []).append((schedule.start_time, schedule.end_time))
    days = [DayHours(weekday, _merged(ranges)) for weekday, ranges in sorted(per_day.items())]
    closures = (await session.execute(select(Closure).where(
        or_(col(Closure.office_id) == office.id, col(Closure.office_id).is_(None)),
        col(Closure.date) >= today, col(Closure.date) < today + dt.timedelta(days=CLOSURE_DAYS),
    ).order_by(col(Closure.date)))).scalars()
    return Hours(days, [(c.date, c.reason) for c in closures])


def _merged(ranges: list[tuple[dt.time, dt.time]]) -> list[tuple[dt.time, dt.time]]:
    out: list[tuple[dt.time, dt.time]] = []
    for start, end in sorted(ranges):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(end, out[-1][1]))
        else:
            out.append((start, end))
    return out
