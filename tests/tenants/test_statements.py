"""Statements on bare tables are not kept to the municipality by ``tenants.scope``: those that
take what a client sends check it themselves. Here the document status's upsert, keyed by the
document's number across the installation: an office of town B reporting a number town A has
on record leaves A's entry as it is, while B's own entries move on as before."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import col
from starlette.applications import Starlette

from core.audit import Actor
from core.jobs import Job
from core.tenancy import DEFAULT_MUNICIPALITY_ID, acting_for
from idstatus.models import DocumentStatus
from idstatus.serials import SerialKeys
from idstatus.service import READY_MAIL_JOB, RawItem, push
from tests.staff.helpers import context
from tests.tenants.world import build

OF_A, OF_B = "L01X00T47", "C22H44M66"


async def _report(app: Starlette, municipality_id: int, office_id: int, serial: str,
                  status: str, at: str) -> None:
    state = context(app)
    with acting_for(municipality_id):
        async with state.db.transaction(write=True) as session:
            await push(session, SerialKeys(state.secret_key), office_id,
                       [RawItem("id_card", serial, status, at)], actor=Actor.system())


async def test_a_report_of_town_b_leaves_town_a_s_entry_of_the_same_number(
    app: Starlette
) -> None:
    a, b = await build(app)
    await _report(app, DEFAULT_MUNICIPALITY_ID, a.office, OF_A, "shipped",
                  "2026-01-02T09:00:00+01:00")
    await _report(app, b.id, b.office, OF_B, "shipped", "2026-01-02T09:00:00+01:00")
    # Later reports: B's of A's number (a typo, a wrong export), and B's of its own.
    await _report(app, b.id, b.office, OF_A, "ready", "2026-01-05T09:00:00+01:00")
    await _report(app, b.id, b.office, OF_B, "ready", "2026-01-05T09:00:00+01:00")

    keys = SerialKeys(context(app).secret_key)
    async with context(app).db.transaction() as session:
        rows = {row.serial_hash: (row.office_id, row.status) for row in (await session.execute(
            select(DocumentStatus))).scalars()}
        mails = (await session.execute(select(Job).where(
            col(Job.kind) == READY_MAIL_JOB))).scalars().all()
    assert rows == {keys.hash(OF_A): (a.office, "shipped"), keys.hash(OF_B): (b.office, "ready")}
    assert mails == []  # nobody left an address
