"""Shared pieces: databases, seeding, server processes, result lines."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

ROOT = Path(__file__).resolve().parent.parent
SECRET_KEY = "bench-secret-key-not-for-production-0123456789abcdef"
TZ = ZoneInfo("Europe/Berlin")
SLOT_MINUTES = 15
DAY_START = dt.time(8, 0)
DAY_END = dt.time(16, 0)  # 8 hours
CAPACITY = 10
APPOINTMENTS = 5000
WINDOW_DAYS = 31


# --- result lines ------------------------------------------------------------------------------


@dataclass
class Figure:
    name: str
    value: float | None
    unit: str
    ceiling: float | None = None
    ratio: float | None = None
    target: str = ""
    passed: bool | None = None
    note: str = ""

    def line(self) -> str:
        def fmt(value: float | None) -> str:
            if value is None:
                return "-"
            return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"

        verdict = "INFO" if self.passed is None else ("PASS" if self.passed else "MISS")
        ceiling = f"{fmt(self.ceiling)} {self.unit}" if self.ceiling is not None else "-"
        ratio = f"{self.ratio:.2f}" if self.ratio is not None else "-"
        text_ = (f"{self.name:<38} {fmt(self.value):>9} {self.unit:<8} ceiling {ceiling:<16} "
                 f"ratio {ratio:<6} target {self.target:<14} {verdict}")
        return text_ + (f"  ({self.note})" if self.note else "")


@dataclass
class Report:
    figures: list[Figure] = field(default_factory=list)

    def add(self, figure: Figure) -> None:
        self.figures.append(figure)
        print(figure.line(), flush=True)


# --- databases ---------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def fresh_database(postgres_url: str | None) -> AsyncIterator[str]:
    """A new, migrated, empty database: SQLite in a temp dir, or a Postgres database made for it."""

    if postgres_url is None:
        with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
            url = f"sqlite+aiosqlite:///{tmp}/bench.db"
            await asyncio.to_thread(migrate, url)
            yield url
        return
    name = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(postgres_url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
        await asyncio.to_thread(migrate, url)
        yield url
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


def migrate(url: str) -> None:
    """Alembic migrations, as in production; BUERO_BENCH_SCHEMA=models builds the tables from the
    models instead (a working tree whose newest migration is still being written)."""
    if os.environ.get("BUERO_BENCH_SCHEMA") == "models":
        asyncio.run(_create_all(url))
        return
    from app.cli import migrate as alembic_migrate

    alembic_migrate(url)


async def _create_all(url: str) -> None:
    from sqlmodel import SQLModel

    import app.all_models  # noqa: F401  (registers every table)

    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(SQLModel.metadata.create_all)
    await engine.dispose()


# --- seeding -----------------------------------------------------------------------------------


@dataclass
class Seed:
    office_id: int
    service_id: int
    schedule_id: int
    window_from: dt.date
    window_to: dt.date
    # A second office with one clerk: the race slot and free slots for booking throughput.
    single_office_id: int
    single_service_id: int
    race_start: dt.datetime
    free_starts: list[dt.datetime]


def weekday_units(first: dt.date, last: dt.date) -> list[dt.datetime]:
    """Slot starts (aware, UTC), Mon–Fri 08:00–16:00 Berlin time, from first to last inclusive."""
    units: list[dt.datetime] = []
    day = first
    while day <= last:
        if day.weekday() < 5:
            moment = dt.datetime.combine(day, DAY_START, TZ)
            end = dt.datetime.combine(day, DAY_END, TZ)
            while moment < end:
                units.append(moment.astimezone(dt.UTC))
                moment += dt.timedelta(minutes=SLOT_MINUTES)
        day += dt.timedelta(days=1)
    return units


async def seed(url: str, *, admin_password: str = "bench-admin-password-1") -> Seed:
    """Office, 10-clerk schedule, 5,000 appointments in a 31-day window, an admin user."""
    import app.all_models  # noqa: F401  (registers every table)
    from app.db import Database
    from booking.links import LinkKeys
    from booking.models import (
        Appointment,
        AppointmentStatus,
        Office,
        Schedule,
        ScheduleService,
        Service,
        ServiceOffice,
        SlotSeat,
    )
    from core.audit import Actor
    from staff.service import create_user

    links = LinkKeys(SECRET_KEY.encode())
    today = dt.datetime.now(TZ).date()
    first = today + dt.timedelta(days=1)
    last = first + dt.timedelta(days=WINDOW_DAYS - 1)
    db = Database(url)
    try:
        async with db.transaction(write=True) as session:
            office = Office(name="Bürgerbüro Bench", authority="Stadt Bench", horizon_days=90)
            single = Office(name="Einzelbüro Bench", authority="Stadt Bench", horizon_days=90)
            service = Service(name="Meldebescheinigung", duration_minutes=15, fee_cents=1000)
            single_service = Service(name="Beglaubigung", duration_minutes=15, fee_cents=500)
            session.add_all([office, single, service, single_service])
            await session.flush()
            assert office.id and single.id and service.id and single_service.id
            schedule = Schedule(office_id=office.id, start_time=DAY_START, end_time=DAY_END,
                                slot_minutes=SLOT_MINUTES, capacity=CAPACITY,
                                valid_from=today)
            single_schedule = Schedule(office_id=single.id, start_time=DAY_START,
                                       end_time=DAY_END, slot_minutes=SLOT_MINUTES,
                                       capacity=1, valid_from=today)
            session.add_all([schedule, single_schedule])
            await session.flush()
            assert schedule.id and single_schedule.id
            session.add_all([
                ServiceOffice(service_id=service.id, office_id=office.id),
                ServiceOffice(service_id=single_service.id, office_id=single.id),
                ScheduleService(schedule_id=schedule.id, service_id=service.id),
                ScheduleService(schedule_id=single_schedule.id, service_id=single_service.id),
            ])
            units = weekday_units(first, last)
            # Deterministic, uneven load: some slots full, most partly booked.
            rng = random.Random(6)
            taken = dict.fromkeys(units, 0)
            open_units = list(units)
            now = dt.datetime.now(dt.UTC)
            appointments: list[tuple[Appointment, dt.datetime, int]] = []
            for number in range(APPOINTMENTS):
                unit = rng.choice(open_units)
                seat = taken[unit]
                taken[unit] = seat + 1
                if taken[unit] == CAPACITY:
                    open_units.remove(unit)
                nonce = links.new_nonce()
                appointments.append((Appointment(
                    reference=f"B{number:07d}", office_id=office.id, service_id=service.id,
                    schedule_id=schedule.id, start_at=unit,
                    end_at=unit + dt.timedelta(minutes=SLOT_MINUTES),
                    status=AppointmentStatus.confirmed, given_name="Erika",
                    family_name="Mustermann", email=f"bench{number}@example.org",
                    email_norm=f"bench{number}@example.org", link_nonce=nonce,
                    token_hash=links.hash_token(links.token_for(nonce)),
                    link_expires_at=unit + dt.timedelta(days=30), ics_uid=f"B{number}@bench",
                    created_at=now, updated_at=now, confirmed_at=now,
                ), unit, seat))
            session.add_all([a for a, _, _ in appointments])
            await session.flush()
            session.add_all([
                SlotSeat(schedule_id=schedule.id, unit_start=unit, seat=seat, capacity=CAPACITY,
                         appointment_id=a.id or 0)
                for a, unit, seat in appointments
            ])
            await create_user(session, email="bench-admin@example.org", password=admin_password,
                              role="admin", office_ids=[office.id, single.id],
                              actor=Actor.system())
        single_units = weekday_units(first, today + dt.timedelta(days=80))
        return Seed(office_id=office.id, service_id=service.id, schedule_id=schedule.id,
                    window_from=first, window_to=last, single_office_id=single.id,
                    single_service_id=single_service.id, race_start=single_units[0],
                    free_starts=single_units[1:])
    finally:
        await db.dispose()


# --- processes ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def bench_env(database_url: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "BUERO_DATABASE_URL": database_url,
        "BUERO_SECRET_KEY": SECRET_KEY,
        "BUERO_PROOF_OF_WORK": "false",  # load, not a defence, is measured here
        "BUERO_RATE_LIMITS_ENABLED": "false",
        # INFO, as `buergerbuero serve` runs by default: the access log writes a line per request.
        "BUERO_LOG_LEVEL": "INFO",
        "BUERO_ENV": "development",
        "PYTHONPATH": str(ROOT),
    })
    env.update(extra)
    return env


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base_url: str

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http://", "ws://") + "/ws/call"

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")


@contextlib.contextmanager
def serve(target: str, env: dict[str, str] | None = None,
          extra_args: Sequence[str] = ()) -> Iterator[Server]:
    """Start ``bench.serve`` in a subprocess; wait until /healthz answers; stop it at the end.

    The server's log (its access log included) goes to a file, as a service manager would take
    it, and its last lines are shown when the server fails to start.
    """
    port = free_port()
    with tempfile.TemporaryFile() as log:
        yield from _served(target, port, log, env, extra_args)


def _served(target: str, port: int, log: IO[bytes], env: dict[str, str] | None,
            extra_args: Sequence[str]) -> Iterator[Server]:
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.serve", target, "--port", str(port), *extra_args],
        cwd=ROOT, env=env or bench_env("sqlite+aiosqlite:///:memory:"), stderr=log,
    )
    base = f"http://127.0.0.1:{port}"

    def tail() -> str:
        log.seek(0)
        return log.read()[-3000:].decode(errors="replace")

    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{target} server exited with {process.returncode}:\n{tail()}")
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{target} server did not start:\n{tail()}")
            time.sleep(0.1)
        yield Server(process, base)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]
