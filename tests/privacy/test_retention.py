"""Retention: ended appointments past BUERO_RETENTION_DAYS lose their personal data; cases keep
their number and amounts; a legal hold (open fee) keeps the data; the worker runs it."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select
from sqlmodel import col
from starlette.applications import Starlette

from app.worker import default_periodic, retention_task
from booking.models import Appointment
from cases.models import Case, CaseItem, IdentityCheck
from core.audit import AuditEvent
from postcall.dispatch_models import CaseDocument, Feedback, PostalAddress
from privacy.service import ANONYMISED_NAME, PLACEHOLDER_DOMAIN
from tests.privacy.conftest import Booked, World
from tests.staff.helpers import context


async def _appointment(app: Starlette, booked: Booked) -> Appointment:
    async with context(app).db.transaction() as session:
        found = await session.get(Appointment, booked.id)
        assert found is not None
        session.expunge(found)
        return found


async def _count(app: Starlette, model: type, column: Any, value: int | None) -> int:
    async with context(app).db.transaction() as session:
        query = select(func.count()).select_from(model).where(column == value)
        return int((await session.execute(query)).scalar_one())


async def test_retention_anonymises_old_ended_appointments(
    app: Starlette, client: httpx.AsyncClient, world: World,
) -> None:
    me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {world.old_done.token}"})
    assert me.status_code == 200, me.text

    await retention_task(context(app))

    done = await _appointment(app, world.old_done)
    assert (done.given_name, done.family_name) == (ANONYMISED_NAME, ANONYMISED_NAME)
    assert done.email == f"anonymisiert-{done.id}@{PLACEHOLDER_DOMAIN}"
    assert done.phone == "" and done.date_of_birth is None
    assert done.status == "completed" and done.reference == world.old_done.reference
    other = await _appointment(app, world.other)
    assert other.given_name == ANONYMISED_NAME and other.email != done.email  # unique per row

    # The link is revoked.
    me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {world.old_done.token}"})
    assert me.status_code == 401

    assert await _count(app, PostalAddress, col(PostalAddress.case_id), done.case_id) == 0
    assert world.old_done.case_id is not None and done.case_id == world.old_done.case_id
    assert await _count(app, CaseDocument, col(CaseDocument.case_id), world.old_done.case_id) == 0
    async with context(app).db.transaction() as session:
        case = await session.get(Case, world.old_done.case_id)
        assert case is not None and case.amount_cents == 1250 and case.case_number
        # The request's copy of the citizen's data goes too.
        assert (case.given_name, case.family_name) == (ANONYMISED_NAME, ANONYMISED_NAME)
        assert case.email == done.email and case.phone == "" and case.date_of_birth is None
        items = (await session.execute(
            select(CaseItem).where(col(CaseItem.case_id) == case.id))).scalars().all()
        assert [i.amount_cents for i in items] == [1250]
        feedback = (await session.execute(
            select(Feedback).where(col(Feedback.appointment_id) == done.id))).scalar_one()
        assert feedback.rating == 5 and feedback.comment == ""
        check = (await session.execute(
            select(IdentityCheck).where(col(IdentityCheck.case_id) == done.case_id))
        ).scalar_one()
        assert check.outcome == "verified" and check.note == ""
        events = (await session.execute(
            select(AuditEvent).where(col(AuditEvent.action) == "privacy.retention"))
        ).scalars().all()
        assert sorted(e.object_id for e in events) == sorted([str(done.id), str(other.id)])
        assert all("Erika" not in e.detail and "Max" not in e.detail for e in events)

    # Kept: an open fee (legal hold), a recent one, a running one.
    for booked in (world.old_open_fee, world.recent_done, world.upcoming):
        kept = await _appointment(app, booked)
        assert kept.given_name == "Erika" and kept.phone, booked
    kept_request = (await _appointment(app, world.old_open_fee)).case_id
    assert await _count(app, PostalAddress, col(PostalAddress.case_id), kept_request) == 1

    # A second run changes nothing more.
    await retention_task(context(app))
    async with context(app).db.transaction() as session:
        count = (await session.execute(select(func.count()).select_from(AuditEvent).where(
            col(AuditEvent.action) == "privacy.retention"))).scalar_one()
    assert count == 2


async def test_retention_period_is_a_setting(settings_factory: object) -> None:
    from app.settings import Settings

    assert Settings().retention_days == 90
    assert Settings(retention_days=30).retention_days == 30
    names = [task.name for task in default_periodic(Settings())]
    assert "privacy.retention" in names
