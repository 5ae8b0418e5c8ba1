"""Dunning: one reminder when a fee notice is still unpaid after its due date and a grace period.

A periodic worker task looks for open fee notices whose due date plus ``grace_days`` has passed
(in the office's calendar). For each it records the milestone ``reminder_sent`` and, in the same
transaction, queues the reminder e-mail (``case.reminder``: the notice again with its GiroCode).
The milestone is unique per case and inserted with ``ON CONFLICT DO NOTHING``: however many
workers run the task at once, exactly one of them gets the new row and queues the mail.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, exists, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from booking.models import Office
from cases.milestones import Milestone, MilestoneKind, reach
from cases.models import Case, CaseState, Payment, PaymentStatus
from core.jobs import enqueue
from core.types import utcnow

REMINDER_JOB = "case.reminder"
BATCH = 200


def _unpaid() -> list[ColumnElement[bool]]:
    return [
        col(Case.state) == CaseState.completed,
        col(Case.payment) == Payment.invoice,
        col(Case.payment_status) == PaymentStatus.open,
        col(Case.amount_cents) > 0,
        col(Case.due_date).is_not(None),
    ]


def overdue(due: dt.date, zone: str, grace_days: int, now: dt.datetime) -> bool:
    """Due on ``due``, with ``grace_days`` more: a reminder from the day after that."""
    today = now.astimezone(ZoneInfo(zone)).date()
    return today > due + dt.timedelta(days=grace_days)


async def overdue_cases(session: AsyncSession, *, grace_days: int,
                        now: dt.datetime | None = None) -> list[int]:
    """Cases whose reminder is due and not yet sent."""
    now = now or utcnow()
    # A day of margin for time zones; the exact day is decided per office below.
    latest_due = now.date() - dt.timedelta(days=grace_days - 1)
    reminded = exists().where(col(Milestone.case_id) == col(Case.id),
                              col(Milestone.kind) == MilestoneKind.reminder_sent)
    query = (
        select(col(Case.id), col(Case.due_date), col(Office.timezone))
        .join(Office, col(Office.id) == col(Case.office_id))
        .where(*_unpaid(), col(Case.due_date) <= latest_due, ~reminded)
        .order_by(col(Case.due_date), col(Case.id))
        .limit(BATCH)
    )
    return [case_id for case_id, due, zone in await session.execute(query)
            if case_id is not None and due is not None and overdue(due, zone, grace_days, now)]


async def claim_reminder(session: AsyncSession, case_id: int, *, grace_days: int,
                         now: dt.datetime | None = None) -> bool:
    """Record the reminder and queue its mail; False when it is not due or already claimed."""
    now = now or utcnow()
    case = await session.get(Case, case_id, with_for_update=True)
    if case is None or case.due_date is None:
        return False
    office = await session.get(Office, case.office_id)
    still_open = (case.state == CaseState.completed and case.payment == Payment.invoice
                  and case.payment_status == PaymentStatus.open and case.amount_cents > 0)
    if office is None or not still_open or not overdue(case.due_date, office.timezone,
                                                       grace_days, now):
        return False
    if not await reach(session, case_id, MilestoneKind.reminder_sent, at=now, notify=False):
        return False
    enqueue(session, REMINDER_JOB, {"case_id": case_id})
    return True
