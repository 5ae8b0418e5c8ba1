"""Demo data: one office modelled on Ostfildern's virtual citizen office, ready to book, with
the online services of Marienmünster's and Meschede's portals.

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
import tomllib
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
from booking.holidays import public_holidays
from booking.models import Closure, Office, Schedule, Service
from core.audit import Actor
from online.catalogue import create_online_service
from staff.passwords import weakness
from staff.service import create_user, find_user_by_email

DATA_FILE = Path(__file__).with_name("demo.toml")
LOGINS_FILE = "demo-logins.json"


def _load_data() -> dict[str, Any]:
    with DATA_FILE.open("rb") as fh:
        return tomllib.load(fh)


DATA = _load_data()
OFFICE: dict[str, Any] = DATA["office"]
OFFICE_NAME: str = OFFICE["name"]
SERVICES: list[dict[str, Any]] = DATA["services"]
SCHEDULES: list[dict[str, Any]] = DATA["schedules"]
SLOT_MINUTES: int = DATA["slot_minutes"]
CAPACITY: int = DATA["capacity"]
STAFF: list[dict[str, str]] = DATA["staff"]
ONLINE_SERVICES: list[dict[str, Any]] = DATA["online_services"]
CLOSED_DAYS: list[tuple[int, int, str]] = [
    (d["month"], d["day"], d["reason"]) for d in DATA["closed_days"]
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


def holidays(year: int) -> list[tuple[dt.date, str]]:
    """The demo office's closed days: Baden-Württemberg's public holidays, Christmas Eve and
    New Year's Eve."""
    return public_holidays(year, DATA["holiday_state"], extra=CLOSED_DAYS)


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


async def _online_services(
    session: AsyncSession, actor: Actor, office_id: int, created: list[str]
) -> None:
    """Each online service with its form; its identity check's video service found by name."""
    for spec in ONLINE_SERVICES:
        if await session.scalar(select(col(Service.id)).where(col(Service.name) == spec["name"])):
            continue
        values = {k: v for k, v in spec.items() if k != "video_service"}
        if "video_service" in spec:
            values["video_service_id"] = await session.scalar(
                select(col(Service.id)).where(col(Service.name) == spec["video_service"]))
        await create_online_service(session, actor, {**values, "office_ids": [office_id]})
        created.append(f"online service {spec['name']}")


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
    today = today or dt.datetime.now(ZoneInfo(OFFICE["timezone"])).date()
    office = await _office(session, actor, created)
    assert office.id is not None
    service_ids = await _services(session, actor, office.id, created)
    await _schedules(session, actor, office.id, service_ids, created)
    await _online_services(session, actor, office.id, created)
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
