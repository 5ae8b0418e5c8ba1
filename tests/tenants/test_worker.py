"""The worker acts for each job's municipality: a job of town B reads only B's objects, what it
adds (jobs, audit events) is B's, and what it sends (the fee notice and its letter, the mail
"ready for pickup") names town B and not town A."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlmodel import col
from starlette.applications import Starlette

from app.context import AppContext
from app.settings import Settings
from app.worker import Worker
from booking.models import Appointment, Office
from cases.models import Case, CaseItem
from core.audit import Actor, AuditEvent, record
from core.jobs import Job, enqueue
from core.tenancy import DEFAULT_MUNICIPALITY_ID, acting_for, current_municipality
from idstatus.lookup import tell_when_ready
from idstatus.serials import SerialKeys
from idstatus.service import RawItem, push
from postcall.notices import NOTICE_JOB
from tenants.models import Municipality
from tests.postcall.fee_support import flat, need, text, write
from tests.request_support import drain
from tests.staff.helpers import context
from tests.tenants.world import TownA, TownB, build

TOWN_A = "Stadt Aheim"
TOWN_B = "Stadt Zwiebelbach"  # the world's name of town B
SERIAL = "L01X00T47"


@pytest.fixture
async def towns(app: Starlette) -> tuple[TownA, TownB]:
    """The two towns of ``world``, town A named (the default municipality is "Bürgerbüro",
    a word every office's name may carry)."""
    found = await build(app)
    async with context(app).db.transaction(write=True) as session:
        await session.execute(update(Municipality).where(
            col(Municipality.id) == DEFAULT_MUNICIPALITY_ID).values(name=TOWN_A))
    context(app).hosts.forget()
    return found


async def test_a_job_reads_and_adds_only_its_own_municipality_s_objects(
    app: Starlette, towns: tuple[TownA, TownB]
) -> None:
    a, b = towns
    seen: dict[int, tuple[int | None, set[int], set[int]]] = {}

    async def probe(ctx: AppContext, job: Job) -> None:
        async with ctx.db.transaction(write=True) as session:
            offices = set((await session.execute(select(col(Office.id)))).scalars())
            jobs = set((await session.execute(select(col(Job.id)))).scalars())
            enqueue(session, "follow", {"after": job.id})
            record(session, Actor.system(), "probe.run", "job", job.id, {})
        assert job.id is not None
        seen[job.id] = (current_municipality(), offices, jobs)

    async def follow(ctx: AppContext, job: Job) -> None:
        return None

    ids = {}
    for mid in (DEFAULT_MUNICIPALITY_ID, b.id):
        with acting_for(mid):
            async with context(app).db.transaction(write=True) as session:
                job = enqueue(session, "probe", {})
                await session.flush()
                ids[mid] = job.id
    worker = Worker(context(app), name="towns", handlers={"probe": probe, "follow": follow},
                    periodic=[])
    while await worker.run_once():
        pass

    b_mid, b_offices, b_jobs = seen[ids[b.id]]
    assert b_mid == b.id
    assert b_offices == {b.office}  # not A's town hall
    assert ids[DEFAULT_MUNICIPALITY_ID] not in b_jobs and b.job in b_jobs
    a_mid, a_offices, a_jobs = seen[ids[DEFAULT_MUNICIPALITY_ID]]
    assert a_mid == DEFAULT_MUNICIPALITY_ID and a_offices == {a.office}
    assert ids[b.id] not in a_jobs and b.job not in a_jobs
    # What each added is its own municipality's (A's admins would see B's jobs and events).
    async with context(app).db.transaction() as session:
        follows = {job.data()["after"]: job.municipality_id for job in (await session.execute(
            select(Job).where(col(Job.kind) == "follow"))).scalars()}
        events = {int(e.object_id): e.municipality_id for e in (await session.execute(
            select(AuditEvent).where(col(AuditEvent.action) == "probe.run"))).scalars()}
    assert follows == events == {ids[DEFAULT_MUNICIPALITY_ID]: DEFAULT_MUNICIPALITY_ID,
                                 ids[b.id]: b.id}


def _mails(settings: Settings) -> list[EmailMessage]:
    found = []
    for path in sorted(settings.mail_dir.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        found.append(message)
    return found


def _plain(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


async def test_town_b_s_fee_notice_names_town_b_and_not_town_a(
    app: Starlette, settings: Settings, towns: tuple[TownA, TownB], tmp_path: Path
) -> None:
    need("pdftotext")
    _, b = towns
    # B's decided request (by fee notice, 12,34 €) gets its item; the notice job is B's, as the
    # completion on B's host would have queued it.
    with acting_for(b.id):
        async with context(app).db.transaction(write=True) as session:
            case = (await session.execute(select(Case).join(
                Appointment, col(Appointment.case_id) == col(Case.id)).where(
                col(Appointment.reference) == b.appointment))).scalars().one()
            session.add(CaseItem(case_id=case.id, position=0, name="Zwiebelpass",
                                 unit_fee_cents=1234, quantity=1, amount_cents=1234,
                                 fee_schedule_ref="ZwGebS Nr. 1"))
            enqueue(session, NOTICE_JOB, {"case_id": case.id, "revision": case.revision})
            number = case.case_number
    await drain(app)

    [notice] = [m for m in _mails(settings) if number in str(m["Subject"])]
    assert TOWN_B in str(notice["From"]) and TOWN_B in _plain(notice)
    [pdf] = [part.get_payload(decode=True) for part in notice.iter_attachments()
             if part.get_content_type() == "application/pdf"]
    assert isinstance(pdf, bytes)
    letter = flat(text(write(tmp_path, pdf)))
    # The letterhead and the return address name B beside the office's authority.
    assert TOWN_B in letter and f"{TOWN_B} · Stadt Musterhausen" in letter
    assert "Aheim" not in letter and "Aheim" not in notice.as_string()


async def test_town_b_s_mail_ready_for_pickup_names_town_b(
    app: Starlette, settings: Settings, towns: tuple[TownA, TownB]
) -> None:
    _, b = towns
    state = context(app)
    keys = SerialKeys(state.secret_key)
    with acting_for(b.id):
        async with state.db.transaction(write=True) as session:
            await push(session, keys, b.office,
                       [RawItem("id_card", SERIAL, "shipped", "2026-01-02T09:00:00+01:00")],
                       actor=Actor.system())
            await tell_when_ready(session, keys, state.secret_key, "id_card", SERIAL,
                                  "zora@b.example", "de")
        async with state.db.transaction(write=True) as session:
            await push(session, keys, b.office,
                       [RawItem("id_card", SERIAL, "ready", "2026-01-03T09:00:00+01:00")],
                       actor=Actor.system())
    await drain(app)
    [ready] = [m for m in _mails(settings) if "Abholung" in str(m["Subject"])]
    assert TOWN_B in str(ready["From"]) and TOWN_B in _plain(ready)
    assert "http://b.example/document-status" in _plain(ready)
    assert "Aheim" not in ready.as_string()
