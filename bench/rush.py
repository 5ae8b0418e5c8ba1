"""The 07:00 rush: 2,000 clients wait for 300 slots to be released and try to book them.

Two application instances (``bench.serve app``, access log on, rate limits on as in production)
share a PostgreSQL database and Redis. Each client has its own loopback address (127.1.x.y), so
the per-client limits count it alone, and its own e-mail address. The rush runs twice: with the
proof of work on (as installed by default; each client solves the challenge with the altcha
library's own solver before it books) and off. The clients poll availability
about once a second (the per-client limit allows two); an admin releases the slots by adding
the day's schedule through the admin API, and every client then books one of the slots it was
shown, at random, and on ``409`` asks again, until none are left or the rush's time is up.
Meanwhile a few "humans" load the booking pages as a browser does (the service's free days,
then the times of the rush's day; the pages are rendered on the server and call no API), and
their page loads are timed. The clients, the humans and the one who releases the slots are
three processes: a human's browser does not wait for the bots' event loop (nor for the
proof-of-work solving that holds their interpreter), only for the servers, as on the internet.

Printed: bookings accepted per second, how many distinct clients got one, whether anyone got
two, whether any slot holds more than its capacity, the humans' p50/p99, and the CPU the two
instances and PostgreSQL used during the rush.

Needs ``BUERO_BENCH_POSTGRES_URL`` and ``BUERO_BENCH_REDIS_URL``.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import multiprocessing
import os
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from altcha.v1 import solve_challenge
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bench.common import (
    TZ,
    Figure,
    Report,
    bench_env,
    fresh_database,
    percentile,
    serve,
)
from bench.http_load import Connection

CLIENTS = int(os.environ.get("BUERO_BENCH_RUSH_CLIENTS", "2000"))  # fewer: a quick look
SLOTS = 300
CAPACITY = 10  # 30 quarter hours of 10 seats each
POLL_SECONDS = 1.0
RUSH_SECONDS = 60.0
HUMANS = 5
# A person reads a page before the next click: about 2 s, so two pages every 2.5 s or so
# (48 a minute), well within the per-client limit of the booking pages (120 a minute).
READING_SECONDS = 2.0
ADMIN = ("rush-admin@example.org", "rush-admin-password-1")


@dataclass
class Rush:
    office_id: int
    service_id: int
    day: dt.date


@dataclass
class Tally:
    statuses: Counter[int] = field(default_factory=Counter)
    booked: dict[int, int] = field(default_factory=dict)  # client → bookings accepted
    accepted_at: list[float] = field(default_factory=list)
    human_ms: list[float] = field(default_factory=list)
    human_parts: list[tuple[float, float]] = field(default_factory=list)  # days, times
    human_failed: int = 0  # page loads that failed (no answer, or not 200)
    human_failures: Counter[str] = field(default_factory=Counter)  # why
    cpu_share: float = 0.0  # of a core, by the process that made this tally (the bot farm)


async def seed_rush(url: str) -> Rush:
    """An office and a service with no schedule yet, and an admin for that office."""
    import app.all_models  # noqa: F401  (registers every table)
    from app.db import Database
    from booking.models import Office, Service, ServiceOffice
    from core.audit import Actor
    from staff.service import create_user

    db = Database(url)
    try:
        async with db.transaction(write=True) as session:
            office = Office(name="Bürgerbüro Rush", authority="Stadt Rush", horizon_days=90,
                            min_notice_minutes=0)
            service = Service(name="Personalausweis", duration_minutes=15, fee_cents=3780)
            session.add_all([office, service])
            await session.flush()
            assert office.id and service.id
            session.add(ServiceOffice(service_id=service.id, office_id=office.id))
            await create_user(session, email=ADMIN[0], password=ADMIN[1], role="admin",
                              office_ids=[office.id], actor=Actor.system())
        # Three weeks ahead, as cities release them; a weekday, so that nothing else differs.
        day = dt.datetime.now(TZ).date() + dt.timedelta(days=21)
        while day.weekday() >= 5:
            day += dt.timedelta(days=1)
        return Rush(office.id, service.id, day)
    finally:
        await db.dispose()


async def release(base_url: str, rush: Rush) -> None:
    """The admin adds the day's schedule: 300 seats appear at once on both instances."""
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as admin:
        login = await admin.post("/api/v1/auth/token",
                                 json={"email": ADMIN[0], "password": ADMIN[1]})
        login.raise_for_status()
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        slots = SLOTS // CAPACITY
        end = (dt.datetime.combine(rush.day, dt.time(8, 0)) + dt.timedelta(minutes=15 * slots))
        created = await admin.post("/api/v1/admin/schedules", headers=headers, json={
            "office_id": rush.office_id, "service_ids": [rush.service_id],
            "weekdays": [rush.day.weekday()], "start_time": "08:00",
            "end_time": end.strftime("%H:%M"), "capacity": CAPACITY,
            "valid_from": rush.day.isoformat(), "valid_until": rush.day.isoformat()})
        created.raise_for_status()


def availability_path(rush: Rush) -> str:
    return (f"/api/v1/availability?service_id={rush.service_id}&office_id={rush.office_id}"
            f"&from={rush.day.isoformat()}&to={rush.day.isoformat()}")


def solve(challenge: dict[str, Any]) -> str:
    """What a bot does with the challenge: the altcha library's own solver (hashlib, in C), the
    cheapest way there is; the payload encoded as the browser sends it."""
    solution = solve_challenge(challenge["challenge"], challenge["salt"], challenge["algorithm"],
                               challenge["maxNumber"])
    assert solution is not None
    payload = {"algorithm": challenge["algorithm"], "challenge": challenge["challenge"],
               "number": solution.number, "salt": challenge["salt"],
               "signature": challenge["signature"]}
    return base64.b64encode(json.dumps(payload).encode()).decode()


async def client(number: int, base_url: str, rush: Rush, deadline: Any, tally: Tally, *,
                 challenge: bool) -> None:
    """``deadline``: a shared ``multiprocessing.Value``, 0 until the slots are released."""
    host, port = base_url.removeprefix("http://").rsplit(":", 1)
    address = f"127.1.{number // 250}.{number % 250 + 1}"
    rng = random.Random(number)
    conn = Connection(host, int(port), local_address=address)
    path = availability_path(rush)
    empty_after_release = 0
    try:
        await asyncio.sleep(rng.uniform(0, POLL_SECONDS))
        while not deadline.value or time.monotonic() < deadline.value:
            status, body = await conn.request("GET", path)
            tally.statuses[status] += 1
            slots = json.loads(body)["slots"] if status == 200 else []
            if not slots:
                if deadline.value and status == 200:
                    empty_after_release += 1
                    if empty_after_release >= 3:
                        return  # released, and three answers in a row say all are gone
                await asyncio.sleep(POLL_SECONDS * rng.uniform(0.8, 1.2))
                continue
            empty_after_release = 0
            slot = rng.choice(slots)
            booking: dict[str, Any] = {
                "service_id": rush.service_id, "office_id": rush.office_id,
                "start": slot["start"], "locale": "de",
                "citizen": {"given_name": "Rush", "family_name": f"Client{number}",
                            "email": f"client{number}@example.org"}}
            if challenge:
                status, body = await conn.request("GET", "/api/v1/challenge")
                tally.statuses[status] += 1
                if status != 200:
                    await asyncio.sleep(POLL_SECONDS)
                    continue
                booking["altcha"] = await asyncio.to_thread(solve, json.loads(body))
            status, _ = await conn.request("POST", "/api/v1/appointments",
                                           json.dumps(booking).encode())
            tally.statuses[status] += 1
            if status == 201:
                tally.booked[number] = tally.booked.get(number, 0) + 1
                tally.accepted_at.append(time.monotonic())
                return
            if status == 429:
                await asyncio.sleep(POLL_SECONDS)
    finally:
        await conn.close()


async def human(number: int, base_url: str, rush: Rush, stop: Any, tally: Tally) -> None:
    """Someone on the booking pages: the days of the service, then the times of the rush's
    day, as a browser loads them (the booking pages are rendered on the server; a browser does
    not call the JSON API); timed together. ``stop``: a shared ``multiprocessing.Event``. Each
    human has an address of their own."""
    transport = httpx.AsyncHTTPTransport(local_address=f"127.2.0.{number + 1}")
    days = f"/book?service={rush.service_id}"
    times = f"{days}&day={rush.day.isoformat()}"
    async with httpx.AsyncClient(base_url=base_url, timeout=30, transport=transport) as browser:
        while not stop.is_set():
            began = time.perf_counter()
            try:
                page = await browser.get(days)
                middle = time.perf_counter()
                answer = await browser.get(times)
            except httpx.TransportError as error:
                tally.human_failed += 1  # a browser would show an error page: counted
                tally.human_failures[type(error).__name__] += 1
                await asyncio.sleep(READING_SECONDS)
                continue
            # A page is shown whenever it is rendered: the day's times, or (before the release,
            # and once all are gone) the days again with "no free times on this day" (422, or
            # 409 when the last time went meanwhile).
            if page.status_code != 200 or answer.status_code not in (200, 409, 422):
                tally.human_failed += 1
                tally.human_failures[f"{page.status_code}/{answer.status_code}"] += 1
            else:
                tally.human_ms.append((time.perf_counter() - began) * 1000)
                tally.human_parts.append(((middle - began) * 1000,
                                          (time.perf_counter() - middle) * 1000))
            await asyncio.sleep(READING_SECONDS)


def bots(base_urls: list[str], rush: Rush, deadline: Any, challenge: bool, out: Any) -> None:
    """Every client, in this process (the bot farm), until each has booked or given up; the
    tally goes to ``out`` (a pipe's end)."""
    async def farm() -> Tally:
        tally = Tally()
        began, cpu = time.monotonic(), time.process_time()
        await asyncio.gather(*(client(n, base_urls[n % 2], rush, deadline, tally,
                                      challenge=challenge) for n in range(CLIENTS)))
        tally.cpu_share = (time.process_time() - cpu) / (time.monotonic() - began)
        return tally

    out.send(asyncio.run(farm()))


def humans(base_urls: list[str], rush: Rush, stop: Any, out: Any) -> None:
    """The humans, in this process, until ``stop`` is set."""
    async def browse() -> Tally:
        tally = Tally()
        await asyncio.gather(*(human(n, base_urls[n % 2], rush, stop, tally)
                               for n in range(HUMANS)))
        return tally

    out.send(asyncio.run(browse()))


async def in_process(target: Any, *args: Any) -> Any:
    """Run ``target(*args, out)`` in a process of its own; what it sends back, awaited."""
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=target, args=(*args, sender), daemon=True)
    process.start()
    sender.close()
    try:
        return await asyncio.to_thread(receiver.recv)
    finally:
        await asyncio.to_thread(process.join)


def cpu_seconds(pids: list[int]) -> float:
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return total


def postgres_pids() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


async def check_database(url: str, rush: Rush) -> tuple[int, int, int]:
    """(appointments, people with two or more, slots over capacity), from the database."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            total = (await conn.execute(text(
                "SELECT count(*) FROM appointment WHERE office_id = :o"),
                {"o": rush.office_id})).scalar_one()
            doubles = (await conn.execute(text(
                "SELECT count(*) FROM (SELECT email_norm FROM appointment WHERE office_id = :o "
                "GROUP BY email_norm HAVING count(*) > 1) AS d"), {"o": rush.office_id})
            ).scalar_one()
            over = (await conn.execute(text(
                "SELECT count(*) FROM (SELECT start_at FROM appointment WHERE office_id = :o "
                "GROUP BY start_at HAVING count(*) > :c) AS o"),
                {"o": rush.office_id, "c": CAPACITY})).scalar_one()
    finally:
        await engine.dispose()
    return int(total), int(doubles), int(over)


async def one_rush(postgres_url: str, redis_url: str, *, challenge: bool) -> dict[str, Any]:
    async with fresh_database(postgres_url) as url:
        rush = await seed_rush(url)
        env = bench_env(url, BUERO_REDIS_URL=redis_url, BUERO_RATE_LIMITS_ENABLED="true",
                        BUERO_STAFF_TOTP_REQUIRED="none",
                        BUERO_REDIS_PREFIX=f"bench-rush-{os.getpid()}-{time.time_ns()}:",
                        BUERO_PROOF_OF_WORK="true" if challenge else "false")
        with serve("app", env) as first, serve("app", env) as second:
            context = multiprocessing.get_context("spawn")
            base_urls = [first.base_url, second.base_url]
            # Shared memory: 0 until the release; then the rush's end on CLOCK_MONOTONIC, which
            # every process reads alike.
            deadline, stop = context.Value("d", 0.0, lock=False), context.Event()
            farm = asyncio.create_task(in_process(bots, base_urls, rush, deadline, challenge))
            browsing = asyncio.create_task(in_process(humans, base_urls, rush, stop))
            await asyncio.sleep(5)  # every client polling
            app_pids = [first.pid, second.pid]
            cpu_before = cpu_seconds(app_pids), cpu_seconds(postgres_pids())
            began = time.monotonic()
            await release(first.base_url, rush)
            deadline.value = began + RUSH_SECONDS
            tally: Tally = await farm
            seconds = time.monotonic() - began
            stop.set()
            people: Tally = await browsing
            cpu_after = cpu_seconds(app_pids), cpu_seconds(postgres_pids())
        tally.human_ms, tally.human_parts = people.human_ms, people.human_parts
        tally.human_failed, tally.human_failures = people.human_failed, people.human_failures
        total, doubles, over = await check_database(url, rush)
    accepted = len(tally.accepted_at)
    span = (max(tally.accepted_at) - began) if tally.accepted_at else seconds
    return {
        "accepted": accepted, "per_second": accepted / span if span else 0.0,
        "span": span, "people": len(tally.booked),
        "twice": sum(1 for n in tally.booked.values() if n > 1) + doubles,
        "over": over, "in_db": total, "statuses": tally.statuses,
        "page_p99": percentile([p for p, _ in tally.human_parts], 99),
        "availability_p99": percentile([a for _, a in tally.human_parts], 99),
        "human_p50": percentile(tally.human_ms, 50), "human_failed": tally.human_failed,
        "human_failures": " ".join(f"{why}x{n}" for why, n in tally.human_failures.items()),
        "human_loads": len(tally.human_ms), "human_p99": percentile(tally.human_ms, 99),
        "app_cpu": (cpu_after[0] - cpu_before[0]) / seconds,
        "pg_cpu": (cpu_after[1] - cpu_before[1]) / seconds,
        "bots_cpu": tally.cpu_share,
    }


def add_figures(report: Report, label: str, result: dict[str, Any]) -> None:
    statuses = " ".join(f"{code}x{n}" for code, n in sorted(result["statuses"].items()))
    safe = result["twice"] == 0 and result["over"] == 0 and result["in_db"] == result["accepted"]
    report.add(Figure(f"rush bookings [{label}]", result["per_second"], "per s",
                      target="none twice", passed=safe,
                      note=(f"{result['accepted']} of {SLOTS} slots in {result['span']:.1f} s, "
                            f"{result['people']} people, {result['twice']} with two, "
                            f"{result['over']} slots over capacity; {statuses}")))
    report.add(Figure(f"rush human p99 [{label}]", result["human_p99"], "ms",
                      target="< 1000 ms, none failed",
                      passed=result["human_p99"] < 1000 and result["human_failed"] == 0,
                      note=(f"{result['human_loads']} loads, {result['human_failed']} failed "
                            f"({result['human_failures'] or 'none'}); "
                            f"p50 {result['human_p50']:.0f} ms; p99 of the days "
                            f"page {result['page_p99']:.0f} ms, of the times page "
                            f"{result['availability_p99']:.0f} ms; CPU during the rush: app "
                            f"{result['app_cpu'] * 100:.0f} % of a core (two instances), "
                            f"PostgreSQL {result['pg_cpu'] * 100:.0f} %, the simulated clients' "
                            f"process {result['bots_cpu'] * 100:.0f} % (on the same "
                            f"{os.cpu_count()} cores)")))


def run(report: Report) -> None:
    postgres_url = os.environ.get("BUERO_BENCH_POSTGRES_URL")
    redis_url = os.environ.get("BUERO_BENCH_REDIS_URL")
    if not postgres_url or not redis_url:
        print("# rush: needs BUERO_BENCH_POSTGRES_URL and BUERO_BENCH_REDIS_URL", flush=True)
        return
    for challenge in (True, False):
        result = asyncio.run(one_rush(postgres_url, redis_url, challenge=challenge))
        add_figures(report, "challenge" if challenge else "no challenge", result)
