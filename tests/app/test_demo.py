"""Demo data: complete, bookable, idempotent, with stable logins that really log in."""

from __future__ import annotations

import datetime as dt
import json
import stat
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import func, select
from starlette.applications import Starlette

from app.context import AppContext
from app.demo import (
    LOGINS_FILE,
    OFFICE_NAME,
    ONLINE_SERVICES,
    SERVICES,
    holidays,
    load_demo,
    print_logins,
)
from app.settings import Settings
from booking.availability import free_slots
from booking.models import Closure, Office, Schedule, ScheduleService, Service, ServiceOffice
from core.audit import AuditEvent
from online.catalogue import online_services
from online.models import FieldType, FormField, OnlineService
from staff.models import StaffOffice, StaffUser
from staff.passwords import verify

BERLIN = ZoneInfo("Europe/Berlin")


async def _counts(state: AppContext) -> dict[str, int]:
    counts = {}
    async with state.db.transaction() as session:
        for model in (Office, Service, ServiceOffice, Schedule, ScheduleService, Closure,
                      StaffUser, StaffOffice, AuditEvent, OnlineService, FormField):
            counts[model.__name__] = await session.scalar(select(func.count()).select_from(model))
    return counts


def _iban_ok(iban: str) -> bool:
    moved = iban[4:] + iban[:4]
    return int("".join(str(int(ch, 36)) for ch in moved)) % 97 == 1


def test_closed_days_are_the_states_holidays_and_the_towns_own() -> None:
    # Easter-dependent days move with Easter (2024-03-31, 2025-04-20, 2026-04-05).
    assert dt.date(2024, 3, 29) in dict(holidays(2024))  # Good Friday
    assert dt.date(2025, 4, 21) in dict(holidays(2025))  # Easter Monday
    days = dict(holidays(2026))
    assert days[dt.date(2026, 12, 24)] == "Heiligabend (Rathaus geschlossen)"
    assert days[dt.date(2026, 12, 31)] == "Silvester (Rathaus geschlossen)"
    assert days[dt.date(2026, 1, 6)] == "Heilige Drei Könige"  # Baden-Württemberg's own
    assert days[dt.date(2026, 4, 3)] == "Karfreitag"
    assert days[dt.date(2026, 6, 4)] == "Fronleichnam"
    assert days[dt.date(2026, 5, 14)] == "Christi Himmelfahrt"
    assert len(days) == 14


async def test_demo_loads_everything_once(app: Starlette, settings: Settings) -> None:
    state: AppContext = app.state.ctx
    first = await load_demo(settings)
    counts = await _counts(state)
    assert counts["Office"] == 1
    # Six bookable by video (the identity check among them), six online services.
    assert len(SERVICES) == 6 and len(ONLINE_SERVICES) == counts["OnlineService"] == 6
    assert counts["Service"] == counts["ServiceOffice"] == 12
    assert counts["Schedule"] == 2
    assert counts["ScheduleService"] == 12
    assert counts["Closure"] == 28  # this year's and next year's holidays
    assert counts["StaffUser"] == 2 and counts["StaffOffice"] == 2
    assert counts["FormField"] == sum(len(s["fields"]) for s in ONLINE_SERVICES)
    assert counts["AuditEvent"] >= 1 + 12 + 2 + 28 + 2  # created through the admin services
    assert first.created

    second = await load_demo(settings)
    assert second.created == []
    assert await _counts(state) == counts
    assert [(x.email, x.password) for x in second.logins] == [
        (x.email, x.password) for x in first.logins
    ]

    async with state.db.transaction() as session:
        office = (await session.execute(select(Office))).scalars().one()
        services = {s.name: s for s in (await session.execute(select(Service))).scalars()}
        session.expunge_all()  # keep the loaded values after the read-only rollback
    assert office.name == OFFICE_NAME
    assert office.timezone == "Europe/Berlin"
    assert office.authority == "Stadt Ostfildern – Bürgeramt"
    assert "73760 Ostfildern" in office.address
    assert _iban_ok(office.iban) and office.bic
    bookable = {name: s for name, s in services.items() if s.video}
    assert set(bookable) == {
        "Anmeldung oder Ummeldung des Wohnsitzes", "Abmeldung des Wohnsitzes",
        "Meldebescheinigung", "Lebensbescheinigung", "Führungszeugnis",
        "Identitätsprüfung per Video",
    }
    for service in services.values():
        assert service.name_en and service.description and service.fee_schedule_ref
    for service in bookable.values():
        assert service.duration_minutes % 15 == 0 or service.duration_minutes == 10
    identity = bookable["Identitätsprüfung per Video"]
    assert identity.duration_minutes == 10 and identity.fee_cents == 0
    assert identity.requires_identity
    assert services["Führungszeugnis"].fee_cents == 1300
    assert services["Meldebescheinigung"].fee_cents > 0
    assert services["Anmeldung oder Ummeldung des Wohnsitzes"].fee_cents == 0


async def test_logins_are_kept_private_printed_and_work(
    app: Starlette, client: httpx.AsyncClient, settings: Settings
) -> None:
    result = await load_demo(settings)
    path = settings.var_dir / LOGINS_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    stored = json.loads(path.read_text())
    assert {x.role for x in result.logins} == {"admin", "clerk"}

    state: AppContext = app.state.ctx
    for login in result.logins:
        assert login.password and stored[login.email] == login.password
        async with state.db.transaction() as session:
            user = (
                await session.execute(select(StaffUser).where(StaffUser.email == login.email))
            ).scalars().one()
            session.expunge(user)
        assert user.role == login.role
        assert (await verify(user.password_hash, login.password))[0]

        r = await client.post(
            "/api/v1/auth/token", json={"email": login.email, "password": login.password}
        )
        assert r.status_code == 200, r.text
        assert r.json()["role"] == login.role

    import io

    out = io.StringIO()
    print_logins(result, settings, out)
    text = out.getvalue()
    for login in result.logins:
        assert login.email in text and str(login.password) in text
    assert f"{settings.base_url}/staff/login" in text


async def test_a_lost_logins_file_is_reported_not_invented(
    settings: Settings, app: Starlette
) -> None:
    await load_demo(settings)
    (settings.var_dir / LOGINS_FILE).unlink()
    again = await load_demo(settings)
    assert [x.password for x in again.logins] == [None, None]
    import io

    out = io.StringIO()
    print_logins(again, settings, out)
    assert "not on record" in out.getvalue()


async def test_demo_office_is_bookable_on_weekdays(app: Starlette, settings: Settings) -> None:
    result = await load_demo(settings)
    today = dt.datetime.now(BERLIN).date()
    day = today + dt.timedelta(days=3)
    while day.weekday() != 1 or day in dict(holidays(day.year)):  # a Tuesday, no holiday
        day += dt.timedelta(days=1)
    state: AppContext = app.state.ctx
    async with state.db.transaction() as session:
        service_id = (
            await session.execute(select(Service.id).where(Service.name == "Meldebescheinigung"))
        ).scalar_one()
        slots = await free_slots(
            session, service_id=service_id, office_id=result.office_id,
            start_date=day, end_date=day,
        )
        holiday = next(d for d, _ in holidays(day.year) if d > today and d.weekday() < 5)
        closed = await free_slots(
            session, service_id=service_id, office_id=result.office_id,
            start_date=holiday, end_date=holiday,
        )
    local = [slot.start.astimezone(BERLIN).strftime("%H:%M") for slot in slots]
    morning = [f"{h:02d}:{m:02d}" for h in range(8, 12) for m in (0, 15, 30, 45)]
    afternoon = [f"{h:02d}:{m:02d}" for h in range(14, 18) for m in (0, 15, 30, 45)]
    assert local == morning + afternoon
    assert closed == []


async def test_the_online_services_of_the_issue_are_offered(app: Starlette,
                                                            settings: Settings) -> None:
    result = await load_demo(settings)
    state: AppContext = app.state.ctx
    async with state.db.transaction() as session:
        offered = {o.service.name: o for o in await online_services(session, offered_only=True)}
        identity = await session.scalar(
            select(Service.id).where(Service.name == "Identitätsprüfung per Video"))
    assert list(offered) == [
        "Personenstandsurkunde", "Hundesteuer-Anmeldung", "Gewerbe-Anmeldung",
        "Sondernutzungserlaubnis", "Lob, Kritik oder Anregung", "Schaden im Straßenraum melden"]
    for o in offered.values():
        assert o.office_ids == [result.office_id] and o.in_force and not o.service.video

    def types(name: str) -> dict[str, str]:
        return {f.key: f.type for f in offered[name].in_force}

    assert types("Personenstandsurkunde")["kind"] == FieldType.choice
    assert types("Personenstandsurkunde")["copies"] == FieldType.number
    assert types("Hundesteuer-Anmeldung") == {"breed": "text", "acquired_on": "date",
                                              "chip": "text"}
    business = offered["Gewerbe-Anmeldung"]
    assert types("Gewerbe-Anmeldung")["premises"] == FieldType.address
    assert business.identity == "video" and business.online.video_service_id == identity
    assert business.service.requires_identity
    assert [t for t in types("Sondernutzungserlaubnis").values()].count("date") == 2
    assert types("Sondernutzungserlaubnis")["sketch"] == FieldType.file
    feedback = offered["Lob, Kritik oder Anregung"]
    assert feedback.online.anonymous_allowed and feedback.service.fee_cents == 0
    assert set(types("Lob, Kritik oder Anregung").values()) == {"textarea", "file"}
    assert set(types("Schaden im Straßenraum melden").values()) == {"file", "location",
                                                                     "textarea"}
    # The identity check is bookable at the demo office.
    day = dt.datetime.now(BERLIN).date() + dt.timedelta(days=3)
    while day.weekday() != 1 or day in dict(holidays(day.year)):
        day += dt.timedelta(days=1)
    async with state.db.transaction() as session:
        assert identity is not None
        slots = await free_slots(session, service_id=identity, office_id=result.office_id,
                                 start_date=day, end_date=day)
    assert slots
