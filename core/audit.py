"""Audit events: who did what, when, to which object. Written in the caller's transaction."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Text, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from core.tenancy import OwnedByMunicipality, current_or_default, municipality_column
from core.types import UTCDateTime, utcnow


class AuditEvent(SQLModel, OwnedByMunicipality, table=True):
    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    actor_type: str = Field(max_length=20)  # staff | citizen | system
    actor_id: int | None = Field(default=None, index=True)
    actor_label: str = Field(default="", max_length=254)
    action: str = Field(max_length=60, index=True)
    object_type: str = Field(max_length=40)
    object_id: str = Field(default="", max_length=60, index=True)
    detail: str = Field(default="{}", sa_type=Text)
    # The municipality whose audit view shows the event (``core.tenancy``; the worker's are the
    # municipality its job or periodic run acts for); None: an event of the platform.
    municipality_id: int | None = Field(default=None,
                                        sa_column=municipality_column(nullable=True))


class Actor:
    """Who acts: a staff user, the citizen holding a link, or the system (worker)."""

    def __init__(self, kind: str, ident: int | None = None, label: str = "") -> None:
        self.kind = kind
        self.id = ident
        self.label = label

    @classmethod
    def system(cls) -> Actor:
        return cls("system", None, "system")

    @classmethod
    def citizen(cls) -> Actor:
        return cls("citizen", None, "citizen")


def event_values(
    actor: Actor,
    action: str,
    object_type: str,
    object_id: object,
    detail: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The columns of one audit event (``at`` is the column default: now)."""
    return {
        "actor_type": actor.kind,
        "actor_id": actor.id,
        "actor_label": actor.label,
        "action": action,
        "object_type": object_type,
        "object_id": str(object_id),
        "detail": json.dumps(detail or {}, sort_keys=True, default=str),
        "municipality_id": current_or_default(),
    }


def record(
    session: AsyncSession,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: object,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an event to the session (written with the session's next flush)."""
    event = AuditEvent(**event_values(actor, action, object_type, object_id, detail))
    session.add(event)
    return event


_INSERT = insert(AuditEvent.__table__)  # type: ignore[attr-defined]


async def record_now(session: AsyncSession, values: dict[str, Any]) -> None:
    """Write an event (``event_values``) with one INSERT right away, without an ORM object."""
    await session.execute(_INSERT, values)
