"""Browsing the audit trail (admins): filter by time range, actor, action and appointment,
newest first, a page at a time. Shared by ``GET /api/v1/admin/audit`` and ``/admin/audit``.

Events about an appointment have ``object_type = "appointment"`` and the appointment's id as
``object_id`` (its reference is in the detail); the reference filter resolves a reference (or
a case number) to that id, so every event of the appointment is found whoever wrote it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from booking.lookup import find_appointment
from booking.models import Appointment, Office
from cases.models import Case
from core.audit import AuditEvent

DEFAULT_ZONE = "Europe/Berlin"
MAX_PER_PAGE = 200


@dataclass(frozen=True)
class AuditFilter:
    start: datetime | None = None  # inclusive, aware
    end: datetime | None = None  # exclusive, aware
    actor: str = ""  # part of the actor's label (staff e-mail, "system", "citizen")
    action: str = ""  # exact, or a prefix when it ends with "*" ("case.*")
    reference: str = ""  # appointment reference or case number


@dataclass(frozen=True)
class AuditPage:
    events: list[AuditEvent]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def bound(value: date | datetime | None, zone: str, *, end: bool) -> datetime | None:
    """A filter bound as an aware instant: a day is read in ``zone`` (an end day counts
    whole, so the bound is the next midnight); a time without offset is read in ``zone``."""
    if value is None:
        return None
    tz = ZoneInfo(zone)
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=tz)
    day = value + timedelta(days=1) if end else value
    return datetime.combine(day, time(), tz)


def detail_of(event: AuditEvent) -> dict[str, Any]:
    try:
        value = json.loads(event.detail or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def reference_of(event: AuditEvent) -> str | None:
    if event.object_type != "appointment":
        return None
    reference = detail_of(event).get("reference")
    return reference if isinstance(reference, str) else None


async def display_zone(session: AsyncSession) -> str:
    """The zone audit times are shown (and date filters read) in: the first office's."""
    query = select(col(Office.timezone)).order_by(col(Office.id)).limit(1)
    zone = (await session.execute(query)).scalar_one_or_none()
    return zone or DEFAULT_ZONE


async def _appointment_ids(session: AsyncSession, reference: str) -> list[str]:
    found = await find_appointment(session, reference)
    ids = [str(found.id)] if found is not None else []
    by_case = (
        await session.execute(
            select(col(Appointment.id))
            .join(Case, col(Case.id) == col(Appointment.case_id))
            .where(col(Case.case_number) == reference[:40])
        )
    ).scalars().all()
    return ids + [str(i) for i in by_case]


async def _conditions(session: AsyncSession, f: AuditFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if f.start is not None:
        conditions.append(col(AuditEvent.at) >= f.start)
    if f.end is not None:
        conditions.append(col(AuditEvent.at) < f.end)
    if f.actor:
        conditions.append(
            func.lower(col(AuditEvent.actor_label)).contains(f.actor.lower(), autoescape=True)
        )
    if f.action.endswith("*"):
        conditions.append(col(AuditEvent.action).startswith(f.action[:-1], autoescape=True))
    elif f.action:
        conditions.append(col(AuditEvent.action) == f.action)
    if f.reference:
        ids = await _appointment_ids(session, f.reference)
        conditions.append(and_(
            col(AuditEvent.object_type) == "appointment",
            or_(col(AuditEvent.object_id).in_(ids), col(AuditEvent.object_id) == f.reference),
        ))
    return conditions


async def search_audit(
    session: AsyncSession, f: AuditFilter, *, page: int = 1, per_page: int = 50
) -> AuditPage:
    per_page = max(1, min(per_page, MAX_PER_PAGE))
    page = max(1, page)
    conditions = await _conditions(session, f)
    total = int((await session.execute(
        select(func.count()).select_from(AuditEvent).where(*conditions)
    )).scalar_one())
    query = (
        select(AuditEvent)
        .where(*conditions)
        .order_by(col(AuditEvent.at).desc(), col(AuditEvent.id).desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    events = list((await session.execute(query)).scalars())
    return AuditPage(events, total, page, per_page)


async def known_actions(session: AsyncSession) -> list[str]:
    """The actions that occur in the trail, for the filter's choice list."""
    query = select(col(AuditEvent.action)).distinct().order_by(col(AuditEvent.action))
    return [str(a) for a in (await session.execute(query)).scalars()]
