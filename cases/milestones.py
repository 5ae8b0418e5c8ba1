"""Milestones of a case that the citizen follows on the link page (Meschede-style status).

Each step reached is stored once with its time, and (unless told otherwise) an outbox job
``mail.milestone`` tells the citizen by e-mail in the same transaction. Wording for citizens
is past participle ("Bescheid versandt"); the labels live with the pages and mails.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import Column, ForeignKey, Integer, UniqueConstraint, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel, col

from core.inserts import insert_unless_taken
from core.jobs import enqueue
from core.tenancy import OwnedThroughCase
from core.types import UTCDateTime, utcnow

MAIL_JOB = "mail.milestone"


class MilestoneKind(StrEnum):
    received = "received"  # an online request reached the office (confirmed by its link)
    in_progress = "in_progress"  # a clerk took it up
    question = "question"  # the office asked something (detail: the message id)
    answered = "answered"  # the citizen answered (detail: the message id)
    video_invited = "video_invited"  # asked to book a video call for the identity check
    rejected = "rejected"
    withdrawn = "withdrawn"
    completed = "completed"  # request completed in the call
    notice_sent = "notice_sent"  # fee notice e-mailed
    receipt_sent = "receipt_sent"  # receipt for an online payment e-mailed
    paid = "paid"
    payment_failed = "payment_failed"
    refunded = "refunded"
    reminder_sent = "reminder_sent"  # payment reminder (dunning)
    printed = "printed"
    posted = "posted"  # handed to the post
    delivered = "delivered"
    returned = "returned"  # returned to sender
    forwarded = "forwarded"  # sent by another authority
    dispatch_cancelled = "dispatch_cancelled"


class Milestone(SQLModel, OwnedThroughCase, table=True):
    __tablename__ = "case_milestone"
    # The detail tells repeated steps apart (each question from the office is one milestone).
    __table_args__ = (UniqueConstraint("case_id", "kind", "detail", name="uq_case_milestone"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("case_file.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    kind: str = Field(max_length=30)
    at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    detail: str = Field(default="", max_length=300)  # e.g. the authority a case was forwarded to


_TABLE = Milestone.__table__  # type: ignore[attr-defined]


async def reach(
    session: AsyncSession,
    case_id: int,
    kind: MilestoneKind,
    *,
    at: dt.datetime | None = None,
    detail: str = "",
    notify: bool = True,
) -> bool:
    """Record that ``case_id`` reached ``kind``; idempotent. True when it is new.

    A repeated call (a duplicate webhook, a retried job) changes nothing and mails nothing.
    """
    values = {"case_id": case_id, "kind": kind.value, "at": at or utcnow(), "detail": detail}
    if await insert_unless_taken(session, _TABLE, ("case_id", "kind", "detail"), values) is None:
        return False
    if notify:
        enqueue(session, MAIL_JOB, {"case_id": case_id, "milestone": kind.value})
    return True


async def milestones(session: AsyncSession, case_id: int) -> list[Milestone]:
    rows = await session.execute(
        select(Milestone).where(col(Milestone.case_id) == case_id).order_by(col(Milestone.at))
    )
    return list(rows.scalars())
