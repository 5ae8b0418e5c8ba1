"""Two municipalities in one installation, for the isolation tests: town A (the default, every
host but B's) with an admin, a clerk and an office of its own, and town B (host
``b.example``) with an office, services, a schedule, a closure, an appointment (with its link,
a decided case and a letter to post), a request sent online (with its link and a document),
staff, a failed job and audit events. Everything of B's carries a marker A must never see."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlmodel import col
from starlette.applications import Starlette

from accessibility.models import AccessibilityStatement, BarrierReport, SignVideo
from booking.models import Appointment, Closure
from cases.models import Case
from core.audit import Actor, record
from core.jobs import Job
from core.tenancy import acting_for
from core.types import utcnow
from online.models import RequestDocument
from postcall.dispatch_models import Dispatch
from postcall.letter_models import OfficeLetter
from tenants.service import create_municipality
from tests.request_support import online_world
from tests.staff.helpers import (
    add_appointment,
    add_office,
    add_schedule,
    add_service,
    add_user,
    context,
    decide,
)

HOST_A, HOST_B = "a.example", "b.example"
ADMIN_A, CLERK_A = "admin@a.example", "clerk@a.example"
ADMIN_B = "admin@b.example"
CASE_NUMBER_B = "2099-777777"


@dataclass
class TownB:
    id: int
    office: int
    service: int  # the video service
    online_service: int
    schedule: int
    closure: int
    appointment: str  # reference
    appointment_token: str
    request: str  # reference
    request_token: str
    document: int
    dispatch: int
    admin: int
    clerk: int
    job: int
    sign_video: int
    markers: list[str] = field(default_factory=list)


@dataclass
class TownA:
    office: int
    service: int
    admin: int
    clerk: int


async def build(app: Starlette) -> tuple[TownA, TownB]:
    state = context(app)
    async with state.db.transaction(write=True) as session:
        b = await create_municipality(session, Actor.system(),
                                      {"name": "Stadt Zwiebelbach", "hosts": [HOST_B]})
        assert b.id is not None
        b_id = b.id
    state.hosts.forget()

    with acting_for(1):
        office_a = await add_office(app, "Rathaus Aheim")
        service_a = await add_service(app, [office_a], "Ausweis in Aheim")
        await add_schedule(app, office_a, [service_a])
        admin_a = await add_user(app, ADMIN_A, "admin")
        clerk_a = await add_user(app, CLERK_A, "clerk", office_ids=[office_a])

    with acting_for(b_id):
        online = await online_world(app)
        service_b = await add_service(app, [online.office_id], "Zwiebelpass")
        schedule_b = await add_schedule(app, online.office_id, [service_b])
        start = utcnow() + dt.timedelta(minutes=5)
        _, appointment_token = await add_appointment(
            app, office_id=online.office_id, service_id=service_b, start=start,
            schedule_id=schedule_b, given_name="Zora", family_name="Zwiebelfeld")
        submitted = await online.submit(family_name="Zwiebelfeld", email="zora@b.example")
        await online.add_document(submitted.case.reference, "proof", "zwiebel-nachweis.pdf")
        admin_b = await add_user(app, ADMIN_B, "admin")
        async with state.db.transaction(write=True) as session:
            closure = Closure(office_id=online.office_id, date=start.date(),
                              reason="Zwiebelfest")
            session.add(closure)
            appointment = (await session.execute(
                select(Appointment).where(col(Appointment.office_id) == online.office_id)
            )).scalars().one()
            case = await session.get(Case, appointment.case_id)
            assert case is not None
            decide(case, case_number=CASE_NUMBER_B, payment="invoice", payment_status="open",
                   delivery="post", dispatch_status="queued", amount_cents=1234)
            dispatch = Dispatch(case_id=case.id, office_id=online.office_id,
                                batch_date=start.date())
            job = Job(kind="mail.appointment", status="failed",
                      payload=f'{{"appointment_id": {appointment.id}}}',
                      last_error="Zwiebel-Server refused the mail")
            video = SignVideo(place="start", title="Zwiebel in Gebärdensprache",
                              media_type="video/mp4", video=b"\x00\x00\x00\x18ftypmp42",
                              captions="WEBVTT\n\n00:00.000 --> 00:01.000\nZwiebel\n")
            session.add_all([dispatch, job, video,
                             AccessibilityStatement(prepared_on=start.date(),
                                                    known_barriers="Zwiebelkarte",
                                                    feedback_contact="zora@b.example",
                                                    arbitration_body="Zwiebelstelle"),
                             BarrierReport(description="Zwiebelknopf fehlt",
                                           answer_by=start.date()),
                             OfficeLetter(office_id=online.office_id,
                                          signature="Zwiebelmeisterin")])
            record(session, Actor("staff", admin_b, ADMIN_B), "office.update", "office",
                   online.office_id, {"fields": ["Zwiebelbach"]})
            await session.flush()
            document = (await session.execute(
                select(col(RequestDocument.id)).where(
                    col(RequestDocument.case_id) == submitted.case.id))).scalar_one()
            assert closure.id is not None and dispatch.id is not None and job.id is not None
            assert video.id is not None
            town_b = TownB(
                id=b_id, office=online.office_id, service=service_b,
                online_service=online.service_id, schedule=schedule_b, closure=closure.id,
                appointment=appointment.reference, appointment_token=appointment_token,
                request=submitted.case.reference, request_token=submitted.token,
                document=int(document), dispatch=dispatch.id, admin=admin_b,
                clerk=online.clerk_id, job=job.id, sign_video=video.id)
    town_b.markers = ["Zwiebel", "Hundesteuer-Anmeldung", "Musterhausen", HOST_B, "zora@",
                      "clerk.online@", town_b.appointment, town_b.request, CASE_NUMBER_B]
    return TownA(office_a, service_a, admin_a, clerk_a), town_b
