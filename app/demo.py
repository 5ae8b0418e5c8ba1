"""Demo data: one office modelled on Ostfildern's virtual citizen office, ready to book.

Idempotent: every object is looked up by its name (or e-mail, or date) and created only when
missing, so ``buergerbuero demo`` can run on every ``make run``. Objects go through the same
admin services as the API (validation and an audit event each).

The staff passwords are generated on first load and kept in ``var/demo-logins.json`` (mode
0600) so the printed logins stay the same from run to run. They are demo accounts: the command
refuses to run in production unless forced.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db import Database
from app.settings import Settings
from booking.admin import create_office, create_service
from booking.admin_schedules import create_closure, create_schedule
from booking.models import Closure, Office, Schedule, Service
from core.audit import Actor
from staff.passwords import weakness
from staff.service import create_user, find_user_by_email

OFFICE_NAME = "Bürgerbüro Ostfildern (Demo)"
TIMEZONE = "Europe/Berlin"
LOGINS_FILE = "demo-logins.json"

OFFICE: dict[str, Any] = {
    "name": OFFICE_NAME,
    "timezone": TIMEZONE,
    "min_notice_minutes": 60,
    "horizon_days": 60,
    "authority": "Stadt Ostfildern – Bürgeramt",
    "address": "Stadt Ostfildern – Bürgeramt\nStadthaus Scharnhauser Park\n"
    "Otto-Vatter-Straße 12\n73760 Ostfildern",
    "email": "buergerbuero@ostfildern.example",
    "phone": "0711 0000-000",
    # A demo account: valid checksum, not an account of the town.
    "iban": "DE89370400440532013000",
    "bic": "COBADEFFXXX",
    "bank_name": "Demo-Bank (Beispielkonto, keine echte Bankverbindung)",
}

# The services the Ostfildern virtual office offers by video. Fees in cents; the reference is
# printed on the fee notice. Registration matters are free of charge; the certificate of good
# conduct costs the federal fee, which the registration office collects for the Federal Office
# of Justice. Local fee-schedule numbers are examples.
SERVICES: list[dict[str, Any]] = [
    {
        "name": "Anmeldung oder Ummeldung des Wohnsitzes",
        "name_en": "Registering or changing your residence",
        "description": "Sie sind nach Ostfildern oder innerhalb von Ostfildern umgezogen. "
        "Bitte halten Sie Ihren Personalausweis oder Reisepass und die "
        "Wohnungsgeberbestätigung bereit. Melden Sie sich innerhalb von zwei Wochen nach "
        "dem Einzug an.",
        "description_en": "You moved to Ostfildern or within Ostfildern. Please have your "
        "ID card or passport and the landlord's confirmation ready. Register within two "
        "weeks of moving in.",
        "duration_minutes": 30,
        "fee_cents": 0,
        "fee_schedule_ref": "gebührenfrei (§ 17 Bundesmeldegesetz)",
        "sort_order": 10,
    },
    {
        "name": "Abmeldung des Wohnsitzes",
        "name_en": "Deregistering your residence",
        "description": "Wenn Sie ins Ausland ziehen oder eine Nebenwohnung aufgeben. Bei "
        "einem Umzug innerhalb Deutschlands melden Sie sich nur am neuen Wohnort an.",
        "description_en": "When you move abroad or give up a secondary residence. When you "
        "move within Germany, you only register at your new place.",
        "duration_minutes": 15,
        "fee_cents": 0,
        "fee_schedule_ref": "gebührenfrei",
        "sort_order": 20,
    },
    {
        "name": "Meldebescheinigung",
        "name_en": "Certificate of registration",
        "description": "Eine Bescheinigung über Ihre gemeldete Adresse, zum Beispiel für "
        "Behörden, Arbeitgeber oder Banken. Sie erhalten sie per Post oder E-Mail.",
        "description_en": "A certificate of your registered address, for example for "
        "authorities, employers or banks. You receive it by post or e-mail.",
        "duration_minutes": 15,
        "fee_cents": 1000,
        "fee_schedule_ref": "Verwaltungsgebührensatzung, Gebührenverzeichnis Nr. 7.1",
        "sort_order": 30,
    },
    {
        "name": "Lebensbescheinigung",
        "name_en": "Life certificate",
        "description": "Die Bestätigung, dass Sie leben, etwa für eine Rentenversicherung "
        "im In- oder Ausland. Bitte halten Sie das Formular der Rentenstelle bereit.",
        "description_en": "Confirmation that you are alive, for example for a pension fund "
        "in Germany or abroad. Please have the pension office's form ready.",
        "duration_minutes": 15,
        "fee_cents": 0,
        "fee_schedule_ref": "gebührenfrei für Rentenzwecke",
        "sort_order": 40,
    },
    {
        "name": "Führungszeugnis",
        "name_en": "Certificate of good conduct",
        "description": "Antrag auf ein Führungszeugnis beim Bundeszentralregister. Das "
        "Bundesamt für Justiz schickt es Ihnen (oder der Behörde) direkt per Post.",
        "description_en": "Application for a certificate of good conduct from the Federal "
        "Central Register. The Federal Office of Justice posts it directly to you (or the "
        "authority).",
        "duration_minutes": 15,
        "fee_cents": 1300,
        "fee_schedule_ref": "JVKostG, Kostenverzeichnis Nr. 1130",
        "sort_order": 50,
    },
]

# Weekly opening hours (Monday=0): mornings on every weekday, afternoons Tuesday and Thursday;
# two clerks in parallel, a 15-minute grid.
SCHEDULES: list[dict[str, Any]] = [
    {"weekdays": [0, 1, 2, 3, 4], "start_time": "08:00", "end_time": "12:00"},
    {"weekdays": [1, 3], "start_time": "14:00", "end_time": "18:00"},
]
SLOT_MINUTES = 15
CAPACITY = 2

STAFF: list[dict[str, str]] = [
    {"role": "admin", "email": "admin@ostfildern.example", "display_name": "Demo-Admin"},
    {
        "role": "clerk",
        "email": "sachbearbeitung@ostfildern.example",
        "display_name": "Demo-Sachbearbeitung",
    },
]


@dataclass
class DemoLogin:
    role: str
    email: str
    password: str | None  # None: the account exists but its password is not on record here


@dataclass
class DemoResult:
    office_id: int
    service_ids: list[int]
    created: list[str] = field(default_factory=list)
    logins: list[DemoLogin] = field(default_factory=list)


# --- public holidays (Baden-Württemberg), closed days of the demo office ------------------------


def easter_sunday(year: int) -> dt.date:
    """Gregorian Easter (the anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 19 * ell) // 433
    month = (h + ell - 7 * m + 90) // 25
    day = (h + ell - 7 * m + 33 * month + 19) % 32
    return dt.date(year, month, day)


def holidays(year: int) -> list[tuple[dt.date, str]]:
    """Public holidays in Baden-Württemberg, plus Christmas Eve and New Year's Eve."""
    easter = easter_sunday(year)
    days = [
        (dt.date(year, 1, 1), "Neujahr"),
        (dt.date(year, 1, 6), "Heilige Drei Könige"),
        (easter - dt.timedelta(days=2), "Karfreitag"),
        (easter + dt.timedelta(days=1), "Ostermontag"),
        (dt.date(year, 5, 1), "Tag der Arbeit"),
        (easter + dt.timedelta(days=39), "Christi Himmelfahrt"),
        (easter + dt.timedelta(days=50), "Pfingstmontag"),
        (easter + dt.timedelta(days=60), "Fronleichnam"),
        (dt.date(year, 10, 3), "Tag der Deutschen Einheit"),
        (dt.date(year, 11, 1), "Allerheiligen"),
        (dt.date(year, 12, 24), "Heiligabend (Rathaus geschlossen)"),
        (dt.date(year, 12, 25), "1. Weihnachtstag"),
        (dt.date(year, 12, 26), "2. Weihnachtstag"),
        (dt.date(year, 12, 31), "Silvester (Rathaus geschlossen)"),
    ]
    return sorted(days)


# --- loading -----------------------------------------------------------------------------------


def new_password() -> str:
    """A demo password that is easy to type and passes the password policy."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    while True:
        groups = ["".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(3)]
        password = "demo-" + "-".join(groups)
        if weakness(password) is None:
            return password


def _read_logins(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): str(v) for k, v in data.items()}


def _write_logins(path: Path, logins: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(logins, fh, indent=2, sort_keys=True)
        fh.write("\n")


async def _office(session: AsyncSession, actor: Actor, created: list[str]) -> Office:
    query = select(Office).where(col(Office.name) == OFFICE_NAME)
    office = (await session.execute(query)).scalars().first()
    if office is None:
        office = await create_office(session, actor, OFFICE)
        created.append("office")
    return office


async def _services(
    session: AsyncSession, actor: Actor, office_id: int, created: list[str]
) -> list[int]:
    ids = []
    for spec in SERVICES:
        query = select(Service).where(col(Service.name) == spec["name"])
        service = (await session.execute(query)).scalars().first()
        if service is None:
            service = await create_service(
                session, actor, {**spec, "video": True, "office_ids": [office_id]}
            )
            created.append(f"service {spec['name']}")
        assert service.id is not None
        ids.append(service.id)
    return ids


async def _schedules(
    session: AsyncSession, actor: Actor, office_id: int, service_ids: list[int],
    created: list[str],
) -> None:
    count = await session.scalar(
        select(func.count()).select_from(Schedule).where(col(Schedule.office_id) == office_id)
    )
    if count:  # the office has opening hours (perhaps changed by an admin): leave them
        return
    for spec in SCHEDULES:
        await create_schedule(
            session,
            actor,
            {**spec, "office_id": office_id, "service_ids": service_ids,
             "slot_minutes": SLOT_MINUTES, "capacity": CAPACITY},
        )
        created.append(f"schedule {spec['start_time']}-{spec['end_time']}")


async def _closures(
    session: AsyncSession, actor: Actor, office_id: int, years: Iterable[int],
    created: list[str],
) -> None:
    existing = set(
        (
            await session.execute(
                select(col(Closure.date)).where(col(Closure.office_id) == office_id)
            )
        ).scalars()
    )
    for year in years:
        for day, reason in holidays(year):
            if day not in existing:
                await create_closure(
                    session, actor, {"office_id": office_id, "date": day, "reason": reason}
                )
                created.append(f"closure {day.isoformat()}")


async def _staff(
    session: AsyncSession, actor: Actor, office_id: int, stored: dict[str, str],
    created: list[str],
) -> list[DemoLogin]:
    logins = []
    for spec in STAFF:
        user = await find_user_by_email(session, spec["email"])
        if user is None:
            password = new_password()
            await create_user(
                session,
                email=spec["email"],
                password=password,
                role=spec["role"],
                office_ids=[office_id],
                actor=actor,
                display_name=spec["display_name"],
            )
            stored[spec["email"]] = password
            created.append(f"{spec['role']} {spec['email']}")
        logins.append(DemoLogin(spec["role"], spec["email"], stored.get(spec["email"])))
    return logins


async def load_into(
    session: AsyncSession, settings: Settings, *, today: dt.date | None = None
) -> DemoResult:
    """Create what is missing of the demo data in the caller's transaction."""
    actor = Actor("system", None, "demo")
    created: list[str] = []
    today = today or dt.datetime.now(ZoneInfo(TIMEZONE)).date()
    office = await _office(session, actor, created)
    assert office.id is not None
    service_ids = await _services(session, actor, office.id, created)
    await _schedules(session, actor, office.id, service_ids, created)
    await _closures(session, actor, office.id, (today.year, today.year + 1), created)
    logins_path = settings.var_dir / LOGINS_FILE
    stored = _read_logins(logins_path)
    before = dict(stored)
    logins = await _staff(session, actor, office.id, stored, created)
    if stored != before:
        # Written before the commit: a lost file costs a password reset, a lost commit nothing.
        _write_logins(logins_path, stored)
    return DemoResult(office.id, service_ids, created, logins)


async def load_demo(settings: Settings, *, today: dt.date | None = None) -> DemoResult:
    """Load the demo data into the configured database (one transaction)."""
    db = Database(settings.database_url)
    try:
        async with db.transaction(write=True) as session:
            return await load_into(session, settings, today=today)
    finally:
        await db.dispose()


def print_logins(result: DemoResult, settings: Settings, out: TextIO) -> None:
    what = "loaded" if result.created else "already there, nothing to add"
    out.write(f"Demo data {what}: {OFFICE_NAME} with {len(result.service_ids)} services.\n")
    out.write("Demo staff logins (demo accounts, never for real use):\n")
    width = max(len(login.email) for login in result.logins)
    for login in result.logins:
        password = login.password or (
            f"(not on record: {settings.var_dir / LOGINS_FILE} was removed; "
            "set a new one with the admin pages)"
        )
        out.write(f"  {login.role:<6} {login.email:<{width}}  {password}\n")
    out.write(f"Staff sign-in: {settings.base_url}/staff/login\n")
    out.flush()
