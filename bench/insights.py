"""The office head's insights on a year of a large town: do the page's queries stay under a
second?

    python -m bench.insights        (or python -m bench.run --only insights)

A fresh, migrated database (SQLite; with BUERO_BENCH_POSTGRES_URL also PostgreSQL) is filled by
bulk inserts with one year (2025) of a large town's office: 100,000 appointments of 20 services
by video, on site and by phone in every outcome, a call record for each video appointment that
was held, a request per appointment (decided ones with fees, paid or open), 15,000 online
requests and 25,000 ratings, and a second office with a tenth of that. Then the page's queries
(``insights.service.insights_for``: every figure and table of the year, for the large office)
run 1 + 5 times; the median of the 5 is the figure, target ≤ 1 s.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import statistics
import time
from collections.abc import Iterator
from typing import Any

from sqlalchemy import insert, text
from sqlmodel import SQLModel

from bench.common import Figure, Report, fresh_database

YEAR = 2025
APPOINTMENTS = 100_000
ONLINE_REQUESTS = 15_000
RATINGS = 25_000
SERVICES = 20
CHUNK = 5_000
RUNS = 5
STATUSES = ["completed"] * 70 + ["cancelled"] * 10 + ["no_show"] * 5 + ["expired"] * 3 + \
    ["confirmed"] * 12
CHANNELS = ["video"] * 6 + ["onsite"] * 3 + ["phone"]


def _defaults(model: type[SQLModel]) -> dict[str, Any]:
    """Every field's default (factories called once), for rows written in bulk."""
    values = {name: field.get_default(call_default_factory=True)
              for name, field in model.model_fields.items()}
    values.pop("id", None)
    # An empty field whose column has a default of its own (the municipality: the current or
    # the default one) is left to the column.
    columns = model.__table__.c  # type: ignore[attr-defined]
    return {name: value for name, value in values.items()
            if not (value is None and name in columns and columns[name].default is not None)}


def _chunks(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), CHUNK):
        yield rows[start:start + CHUNK]


def _rows(office: int, services: list[int], count: int, first_id: int) -> dict[str, list[
    dict[str, Any]]
]:
    """Appointments with their requests, call records, fees and ratings for one office."""
    from booking.models import Appointment
    from calls.models import CallRecord
    from cases.models import Case
    from postcall.dispatch_models import Feedback

    appointment_base, case_base = _defaults(Appointment), _defaults(Case)
    record_base, feedback_base = _defaults(CallRecord), _defaults(Feedback)
    start = dt.datetime(YEAR, 1, 1, 7, tzinfo=dt.UTC)
    step = dt.timedelta(days=364) / count
    out: dict[str, list[dict[str, Any]]] = {"appointment": [], "case_file": [],
                                            "call_record": [], "feedback": []}
    ratings = 0
    for n in range(count):
        i = first_id + n
        at = start + step * n
        status, channel = STATUSES[i % len(STATUSES)], CHANNELS[(i // 7) % len(CHANNELS)]
        service = services[i % len(services)]
        out["case_file"].append({**case_base, "id": i, "reference": f"R{i:09d}",
                                 "office_id": office, "service_id": service, **(
            {"state": "completed", "revision": 1, "case_number": f"{YEAR}-{i:09d}",
             "completed_at": at + dt.timedelta(minutes=20),
             "amount_cents": (i % 4) * 1250, "payment": "invoice" if i % 4 else "none",
             "payment_status": ("not_required", "paid", "paid", "open")[i % 4],
             "delivery": "pickup", "dispatch_status": "not_required"}
            if status == "completed" else {})})
        out["appointment"].append({
            **appointment_base, "id": i, "reference": f"B{i:09d}", "office_id": office,
            "service_id": service, "case_id": i, "start_at": at,
            "end_at": at + dt.timedelta(minutes=15), "status": status, "channel": channel,
            "given_name": "Erika", "family_name": "Mustermann", "email": "e@example.org",
            "email_norm": "e@example.org", "link_nonce": "n", "token_hash": f"h{i:020d}",
            "link_expires_at": at + dt.timedelta(days=30), "ics_uid": f"u{i}"})
        if status == "completed" and channel == "video":
            out["call_record"].append({
                **record_base, "appointment_id": i, "waiting_at": at, "admitted_at": at,
                "started_at": at, "ended_at": at, "wait_seconds": (i * 37) % 900,
                "call_seconds": 300 + (i * 53) % 1200,
                "route": None if i % 41 == 0 else ("relay" if i % 7 == 0 else "direct"),
                "setup_ms": 500 + (i * 11) % 3000, "setup_failures": int(i % 19 == 0)})
        if status == "completed" and ratings < count // 4:
            ratings += 1
            out["feedback"].append({**feedback_base, "appointment_id": i, "office_id": office,
                                    "rating": 1 + (i * 7) % 5, "created_at": at})
    return out


def _online(office: int, service: int, count: int, first_id: int) -> dict[str, list[
    dict[str, Any]]
]:
    from cases.models import Case
    from online.models import OnlineRequest

    case_base, request_base = _defaults(Case), _defaults(OnlineRequest)
    start = dt.datetime(YEAR, 1, 1, 8, tzinfo=dt.UTC)
    step = dt.timedelta(days=364) / count
    cases, requests = [], []
    for n in range(count):
        i = first_id + n
        received = start + step * n
        decided = received + dt.timedelta(hours=6 + (i * 13) % 400)
        open_ = i % 10 == 0
        cases.append({**case_base, "id": i, "reference": f"O{i:09d}", "channel": "online",
                      "office_id": office, "service_id": service})
        requests.append({
            **request_base, "case_id": i, "status": "in_progress" if open_ else (
                "rejected" if i % 9 == 0 else "completed"),
            "link_nonce": "n", "token_hash": f"o{i:020d}", "email_norm": "m@example.org",
            "submitted_at": received, "received_at": received,
            "due_at": received + dt.timedelta(days=14), "decided_at": None if open_ else decided})
    return {"case_file": cases, "online_request": requests}


async def _seed(url: str) -> int:
    import app.all_models  # noqa: F401  (registers every table)
    import calls.models  # noqa: F401
    from app.db import Database
    from booking.models import Office, Service

    db = Database(url)
    try:
        async with db.transaction(write=True) as session:
            offices = [Office(name="Bürgerbüro Mitte"), Office(name="Bürgerbüro Nord")]
            services = [Service(name=f"Leistung {n}") for n in range(SERVICES)]
            session.add_all([*offices, *services])
            await session.flush()
            service_ids = [s.id for s in services if s.id is not None]
            big, small = (o.id for o in offices)
            assert big is not None and small is not None
        parts = [
            _rows(big, service_ids, APPOINTMENTS, 1),
            _rows(small, service_ids, APPOINTMENTS // 10, APPOINTMENTS + 1),
            _online(big, service_ids[0], ONLINE_REQUESTS, 2 * APPOINTMENTS),
        ]
        metadata = SQLModel.metadata
        for table in ("case_file", "appointment", "online_request", "call_record",
                      "feedback"):
            for part in parts:
                for chunk in _chunks(part.get(table, [])):
                    async with db.transaction(write=True) as session:
                        await session.execute(insert(metadata.tables[table]), chunk)
        async with db.transaction(write=True) as session:
            await session.execute(text("ANALYZE"))  # as autovacuum / a nightly job would
        return big
    finally:
        await db.dispose()


async def _time(url: str, office: int) -> tuple[list[float], dict[str, Any]]:
    from app.db import Database
    from insights.service import insights_for
    from staff.models import StaffUser

    admin = StaffUser(id=0, email="bench@example.org", role="admin", password_hash="")
    params = {"office_id": str(office), "from": f"{YEAR}-01-01", "to": f"{YEAR}-12-31"}
    now = dt.datetime(YEAR + 1, 1, 15, tzinfo=dt.UTC)
    db = Database(url)
    times: list[float] = []
    cpu: list[float] = []
    found = None
    try:
        for _ in range(1 + RUNS):
            began, began_cpu = time.perf_counter(), time.process_time()
            async with db.transaction() as session:
                found = await insights_for(session, admin, params, max_days=731, now=now)
            times.append(time.perf_counter() - began)
            cpu.append(time.process_time() - began_cpu)
    finally:
        await db.dispose()
    assert found is not None
    keys = {row["metric"]: row["value"] for row in found.tables["key_figures"].records()}
    keys["cpu_ms"] = statistics.median(cpu[1:]) * 1000
    return times[1:], keys


async def _backend(report: Report, postgres_url: str | None, label: str) -> None:
    async with fresh_database(postgres_url) as url:
        began = time.perf_counter()
        office = await _seed(url)
        seeded = time.perf_counter() - began
        times, keys = await _time(url, office)
    median = statistics.median(times)
    report.add(Figure(
        f"insights page queries ({label})", median * 1000, "ms", target="≤ 1000 ms",
        passed=median <= 1.0,
        note=(f"a year, {keys['appointments']:,} appointments, {keys['calls_started']:,} calls, "
              f"{keys['requests_received']:,} online requests, {keys['feedback_count']:,} "
              f"ratings; max {max(times) * 1000:.0f} ms; this process's CPU "
              f"{keys['cpu_ms']:.0f} ms; seeded in {seeded:.0f} s")))


def run(report: Report) -> None:
    asyncio.run(_backend(report, None, "sqlite"))
    postgres = os.environ.get("BUERO_BENCH_POSTGRES_URL")
    if postgres:
        asyncio.run(_backend(report, postgres, "postgres"))


if __name__ == "__main__":
    run(Report())
