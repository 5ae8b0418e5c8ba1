"""Reports from the passport software: checked all or nothing, stored by keyed hash, the newest
report per document winning; the mail "ready for pickup" queued once; entries deleted some days
after the document was collected.

Services take a session, raise domain errors and never commit (one commit per request).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import and_, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from booking.models import Office
from core.audit import Actor, record
from core.errors import Invalid, NotFound
from core.jobs import enqueue
from core.types import utcnow, within_calendar
from idstatus.models import DocumentState, DocumentStatus, DocumentType
from idstatus.serials import SerialKeys, normalize_serial

READY_MAIL_JOB = "mail.document_ready"
MAX_ITEMS = 1000  # per call of the integration API
FUTURE_SLACK = dt.timedelta(days=1)  # clocks of the passport software may run ahead a little
_CHUNK = 500  # rows per statement (well below both databases' limits on parameters)

TYPE_MESSAGE = "The document type must be id_card or passport."
STATUS_MESSAGE = "The status must be one of in_production, shipped, ready or collected."
TIME_MESSAGE = ("Please give the time in ISO 8601 with a UTC offset, for example "
                "2026-11-23T09:00:00+01:00.")
FUTURE_MESSAGE = "This time lies in the future."


class ItemsInvalid(Invalid):
    message = "Some items are not valid; nothing was stored. See the details."


@dataclass(frozen=True)
class RawItem:
    """One item as sent (unchecked)."""

    document_type: object
    serial: object
    status: object
    at: object


@dataclass(frozen=True)
class Report:
    """One checked item: the document, by its keyed hash, and the state it reached when."""

    document_type: str
    serial_hash: str
    status: str
    at: dt.datetime


def parse_time(value: object) -> dt.datetime | None:
    """An ISO 8601 time with a UTC offset, as aware UTC; None when it is not one."""
    if not isinstance(value, str) or not 10 <= len(value) <= 40:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
        within_calendar(parsed.date())
    except ValueError:
        return None
    return parsed.astimezone(dt.UTC) if parsed.tzinfo is not None else None


def check_status(value: object) -> str | None:
    return value if isinstance(value, str) and value in DocumentState.__members__ else None


def check_type(value: object) -> str | None:
    return value if isinstance(value, str) and value in DocumentType.__members__ else None


def check_items(keys: SerialKeys, items: Sequence[RawItem], now: dt.datetime) -> list[Report]:
    """Every item checked; ``ItemsInvalid`` lists each problem as ``items.{n}.{field}``."""
    error = ItemsInvalid(field="items")
    if not items:
        raise Invalid("Please send at least one item.", field="items")
    if len(items) > MAX_ITEMS:
        raise Invalid("At most %(max)s items per call.", field="items", max=MAX_ITEMS)
    reports = []
    for n, item in enumerate(items):
        kind, status, at = check_type(item.document_type), check_status(item.status), \
            parse_time(item.at)
        serial = None
        try:
            serial = normalize_serial(item.serial)
        except Invalid as exc:
            error.add(f"items.{n}.serial", exc.msgid)
        if kind is None:
            error.add(f"items.{n}.document_type", TYPE_MESSAGE)
        if status is None:
            error.add(f"items.{n}.status", STATUS_MESSAGE)
        if at is None:
            error.add(f"items.{n}.at", TIME_MESSAGE)
        elif at > now + FUTURE_SLACK:
            error.add(f"items.{n}.at", FUTURE_MESSAGE)
        if serial is not None and kind is not None and status is not None and at is not None:
            reports.append(Report(kind, keys.hash(serial), status, at))
    if error.problems:
        raise error
    return reports


async def check_office(session: AsyncSession, office_id: int) -> None:
    if await session.get(Office, office_id) is None:
        raise NotFound("This office does not exist.")


def _newest(reports: Sequence[Report]) -> list[Report]:
    """One report per document: the newest (the later one of equal times)."""
    kept: dict[tuple[str, str], Report] = {}
    for report in reports:
        key = (report.document_type, report.serial_hash)
        if key not in kept or report.at >= kept[key].at:
            kept[key] = report
    return list(kept.values())


def _upsert(dialect: str, municipality_id: int | None) -> object:
    table = DocumentStatus.__table__  # type: ignore[attr-defined]
    offices = Office.__table__  # type: ignore[attr-defined]
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(table)
    fresh = statement.excluded
    # A report older than the stored state changes nothing (a re-sent old export cannot turn a
    # ready document back into a shipped one); a newer one wins, whichever office of the
    # municipality sends it. A table statement is not kept to the municipality
    # (``tenants.scope``): the entry of another municipality's office is left as it is.
    return statement.on_conflict_do_update(
        index_elements=["document_type", "serial_hash"],
        set_={"office_id": fresh.office_id, "status": fresh.status,
              "status_at": fresh.status_at, "updated_at": fresh.updated_at},
        where=and_(table.c.status_at <= fresh.status_at,
                   table.c.office_id.in_(select(offices.c.id).where(
                       offices.c.municipality_id == municipality_id))),
    )


async def store(session: AsyncSession, office_id: int, reports: Sequence[Report], *,
                actor: Actor, source: str, now: dt.datetime | None = None) -> int:
    """Store checked reports for ``office_id`` (which must exist); how many were accepted."""
    now = now or utcnow()
    newest = _newest(reports)
    office = await session.get(Office, office_id)
    if office is None:
        raise NotFound("This office does not exist.")
    statement = _upsert(session.get_bind().dialect.name, office.municipality_id)
    for start in range(0, len(newest), _CHUNK):
        chunk = newest[start:start + _CHUNK]
        await session.execute(statement, [  # type: ignore[call-overload]
            {"office_id": office_id, "document_type": r.document_type,
             "serial_hash": r.serial_hash, "status": r.status, "status_at": r.at,
             "notify_locale": "de", "created_at": now, "updated_at": now} for r in chunk])
        await _tell_ready(session, [r.serial_hash for r in chunk], now)
    record(session, actor, "document_status.push", "office", office_id,
           {"accepted": len(reports), "source": source})
    return len(reports)


async def _tell_ready(session: AsyncSession, hashes: list[str], now: dt.datetime) -> None:
    """Queue the one mail to those who asked to be told and whose document is now ready; an
    address whose document went straight to collected is dropped untold."""
    rows = (await session.execute(
        select(col(DocumentStatus.id), col(DocumentStatus.status))
        .where(col(DocumentStatus.serial_hash).in_(hashes),
               col(DocumentStatus.notify_email).is_not(None),
               col(DocumentStatus.notified_at).is_(None),
               col(DocumentStatus.status).in_([DocumentState.ready.value,
                                                DocumentState.collected.value]))
    )).all()
    ready = [row_id for row_id, status in rows if status == DocumentState.ready]
    collected = [row_id for row_id, status in rows if status == DocumentState.collected]
    if ready:
        await session.execute(update(DocumentStatus).where(col(DocumentStatus.id).in_(ready))
                              .values(notified_at=now))
        for row_id in ready:
            enqueue(session, READY_MAIL_JOB, {"document_status_id": row_id})
    if collected:
        await session.execute(update(DocumentStatus).where(col(DocumentStatus.id).in_(collected))
                              .values(notify_email=None))


async def push(session: AsyncSession, keys: SerialKeys, office_id: int, items: Sequence[RawItem],
               *, actor: Actor, now: dt.datetime | None = None) -> int:
    """The integration API's push: all items valid, or nothing stored."""
    now = now or utcnow()
    reports = check_items(keys, items, now)
    await check_office(session, office_id)
    return await store(session, office_id, reports, actor=actor, source="api", now=now)


async def purge_collected(session: AsyncSession, keep_days: int,
                          now: dt.datetime | None = None) -> int:
    """Delete entries collected more than ``keep_days`` ago; how many."""
    cutoff = (now or utcnow()) - dt.timedelta(days=keep_days)
    result = await session.execute(
        delete(DocumentStatus).where(col(DocumentStatus.status) == DocumentState.collected.value,
                                     col(DocumentStatus.status_at) < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)
