"""Milestones are recorded once, however often a step is reported, and mailed once."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from sqlalchemy import func, select
from sqlmodel import col

from app.db import Database
from booking.links import LinkKeys
from booking.models import Appointment, Office, Service
from cases.intake import open_request
from cases.milestones import MAIL_JOB, MilestoneKind, milestones, reach
from core.jobs import Job
from tests.staff.helpers import decide


async def _case(db: Database) -> int:
    links = LinkKeys(b"k")
    async with db.transaction(write=True) as session:
        office = Office(name="Bürgerbüro")
        service = Service(name="Meldebescheinigung")
        session.add_all([office, service])
        await session.flush()
        assert office.id is not None and service.id is not None
        nonce = links.new_nonce()
        start = datetime.combine(date(2026, 11, 23), time(9), tzinfo=UTC)
        appointment = Appointment(
            reference="BB-TEST-0001", office_id=office.id, service_id=service.id,
            start_at=start, end_at=start, status="completed", given_name="Erika",
            family_name="Mustermann", email="e@example.org", email_norm="e@example.org",
            link_nonce=nonce, token_hash=links.hash_token(links.token_for(nonce)),
            link_expires_at=start, ics_uid="BB-TEST-0001@test",
        )
        session.add(appointment)
        await session.flush()
        assert appointment.id is not None
        case = decide(await open_request(session, appointment), case_number="2026-000001",
                      payment="invoice", payment_status="open", delivery="post",
                      dispatch_status="queued", amount_cents=1000)
        await session.flush()
        assert case.id is not None
        return case.id


async def test_a_milestone_is_recorded_and_mailed_once(db_url: str) -> None:
    db = Database(db_url)
    try:
        case_id = await _case(db)
        for _ in range(3):
            async with db.transaction(write=True) as session:
                await reach(session, case_id, MilestoneKind.paid)
        async with db.transaction(write=True) as session:
            assert await reach(session, case_id, MilestoneKind.posted) is True
            assert await reach(session, case_id, MilestoneKind.posted) is False
        async with db.transaction() as session:
            kinds = [m.kind for m in await milestones(session, case_id)]
            mails = await session.scalar(
                select(func.count()).select_from(Job).where(col(Job.kind) == MAIL_JOB)
            )
        assert kinds == ["paid", "posted"]
        assert mails == 2
    finally:
        await db.dispose()
