"""Milestones as the citizen's page and ``GET /api/v1/me`` show them: label, date for people,
instant for machines, in the office's zone (the texts are ``cases/milestone_texts.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.api.schemas import iso
from cases.milestone_texts import milestone_label
from cases.milestones import Milestone, milestones
from cases.models import Case
from core.i18n import Translator


@dataclass(frozen=True)
class MilestoneView:
    kind: str
    label: str
    date: str  # for people, in the office's zone
    at_iso: str  # for machines, with the office's offset


def milestone_views(t: Translator, rows: list[Milestone], tz: str) -> list[MilestoneView]:
    return [
        MilestoneView(kind=m.kind, label=milestone_label(t, m.kind, m.detail),
                      date=t.datetime(m.at, tz, "medium"), at_iso=iso(m.at, tz))
        for m in rows
    ]


def milestones_out(t: Translator, rows: list[Milestone], tz: str) -> list[dict[str, Any]]:
    """``[{"kind", "at", "label"}]`` as the API gives them, oldest first."""
    return [{"kind": v.kind, "at": v.at_iso, "label": v.label}
            for v in milestone_views(t, rows, tz)]


async def case_milestones_out(session: AsyncSession, case: Case, t: Translator,
                              tz: str) -> list[dict[str, Any]]:
    """The ``milestones`` of the case object in ``GET /api/v1/me``."""
    assert case.id is not None
    return milestones_out(t, await milestones(session, case.id), tz)
