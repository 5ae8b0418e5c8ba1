"""A bad night, under load: two ``buergerbuero serve --no-worker`` instances and one
``buergerbuero worker`` against a PostgreSQL and a Redis of the test's own, with rate limits on;
a booking load runs on both instances while Redis is killed for a few seconds (and started
again, empty) and then PostgreSQL is stopped for a few seconds (and started again).

What must hold: no answer but 201, 409 and 503 (never a 500), every 503 with ``Retry-After``,
no connection dropped, bookings go on while Redis is away, every booking answered 201 is in the
database afterwards and no slot is booked twice, every such booking's mail arrives once. The
figures are printed (``pytest -s``).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import secrets
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.app.ops.test_scale_out import ADMIN, Client, Cluster, Process, login, set_up_office
from tests.services import FAULTS, OwnPostgres, OwnRedis
from tests.smtp_support import SmtpSink, wait_for

pytestmark = [pytest.mark.slow, FAULTS]

BERLIN = ZoneInfo("Europe/Berlin")
OUTAGE_SECONDS = 5.0
CLIENTS = 4  # concurrent booking clients, spread over both instances
PACE = 0.2  # seconds between two requests of one client: a steady load, not a benchmark


@dataclass
class Answer:
    sent: float  # time.monotonic() when the request went out
    status: int  # 0: no HTTP answer at all (the connection failed)
    retry_after: str | None
    reference: str | None
    start: str
    email: str


@dataclass
class Load:
    """Books the given slots, one request after another per client, until stopped; a slot
    that got no clear answer (503) is tried again later."""

    clients: list[httpx.AsyncClient]
    office_id: int
    service_id: int
    slots: list[str]
    answers: list[Answer] = field(default_factory=list)
    stopping: bool = False

    async def run(self) -> None:
        queue = deque(self.slots)
        counter = itertools.count()

        async def client_loop(http: httpx.AsyncClient) -> None:
            while queue and not self.stopping:
                start = queue.popleft()
                email = f"buerger{next(counter)}@example.org"
                sent = time.monotonic()
                try:
                    r = await http.post("/api/v1/appointments", json={
                        "service_id": self.service_id, "office_id": self.office_id,
                        "start": start, "locale": "de",
                        "citizen": {"given_name": "Nacht", "family_name": "Schicht",
                                    "email": email}})
                except httpx.TransportError:
                    status, retry_after, reference = 0, None, None
                else:
                    status, retry_after = r.status_code, r.headers.get("retry-after")
                    reference = r.json().get("reference") if status == 201 else None
                self.answers.append(Answer(sent, status, retry_after, reference, start, email))
                if status not in (201, 409):
                    queue.append(start)
                await asyncio.sleep(max(0.0, sent + PACE - time.monotonic()))

        await asyncio.gather(*(client_loop(self.clients[i % len(self.clients)])
                               for i in range(CLIENTS)))

    def between(self, since: float, until: float) -> list[Answer]:
        return [a for a in self.answers if since <= a.sent < until]


def environment(pg: OwnPostgres, redis: OwnRedis, sink: SmtpSink, workdir: Path,
                ) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("BUERO_")}
    env.update({
        "BUERO_ENV": "production", "BUERO_DATABASE_URL": pg.url, "BUERO_REDIS_URL": redis.url,
        "BUERO_CLAMD_ADDRESS": "tcp:127.0.0.1:3310",  # no upload here; production needs one
        "BUERO_SECRET_KEY": secrets.token_urlsafe(32), "BUERO_BASE_URL": "https://buero.example",
        "BUERO_VAR_DIR": str(workdir / "var"), "BUERO_SMTP_HOST": "127.0.0.1",
        "BUERO_SMTP_PORT": str(sink.port), "BUERO_MAIL_FROM": "termine@buero.example",
        "BUERO_LOG_FORMAT": "json", "BUERO_LOG_LEVEL": "INFO", "BUERO_DATABASE_POOL_SIZE": "10",
        "BUERO_WORKER_POLL_SECONDS": "0.2", "BUERO_JOB_LEASE_SECONDS": "5",
        # Rate limits on, as in production, with room for this load from one address: every
        # booking goes through the limiter's store.
        "BUERO_RATE_LIMITS_ENABLED": "true", "BUERO_RATE_LIMIT_BOOKING": "100000/minute",
        "BUERO_RATE_LIMIT_AVAILABILITY": "100000/minute",
        # Load, not the defence against bots, is what this measures (the proof of work has its
        # own tests, across instances too: tests/app/api/test_proof_of_work.py).
        "BUERO_PROOF_OF_WORK": "false",
    })
    return env


async def metric(http: httpx.AsyncClient, name: str) -> float:
    text = (await http.get("/metrics")).text
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")


def log_records(process: Process) -> list[dict[str, object]]:
    records = []
    for line in process.log.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            record = {"level": "RAW", "logger": "-", "msg": line}
        records.append(record)
    return records


def first_success_after(load: Load, moment: float) -> float | None:
    times = [a.sent for a in load.answers if a.sent >= moment and a.status == 201]
    return min(times) - moment if times else None


async def test_bookings_survive_redis_and_postgres_outages(
    own_postgres: OwnPostgres, own_redis: OwnRedis, smtp_sink: SmtpSink, tmp_path: Path,
) -> None:
    cluster = Cluster(environment(own_postgres, own_redis, smtp_sink, tmp_path), tmp_path)
    try:
        began = time.monotonic()
        # Each instance migrates as it starts (the later one finds the schema current).
        (app_a, base_a), (app_b, base_b) = await asyncio.gather(cluster.serve("app-a"),
                                                                cluster.serve("app-b"))
        worker = cluster.start("worker", "worker")
        await asyncio.to_thread(cluster.run, "create-user", "--email", ADMIN[0], "--role",
                                "admin", stdin=ADMIN[1] + "\n")
        ready = time.monotonic() - began
        async with Client("a", base_a) as http_a, Client("b", base_b) as http_b:
            admin = {"Authorization": f"Bearer {await login(http_a, *ADMIN)}"}
            office_id, service_id = await set_up_office(http_a, admin)
            today = datetime.now(BERLIN).date()
            r = await http_b.get("/api/v1/availability", params={
                "service_id": service_id, "office_id": office_id,
                "from": (today + timedelta(days=1)).isoformat(),
                "to": (today + timedelta(days=28)).isoformat()})
            assert r.status_code == 200, r.text
            slots = [slot["start"] for slot in r.json()["slots"]]
            load = Load([http_a, http_b], office_id, service_id, slots)
            figures = await run_the_night(load, own_redis, own_postgres)
            figures["instances ready after (s)"] = f"{ready:.1f}"
            for instance in (http_a, http_b):
                # Each instance fell back to memory once, and is back on Redis.
                assert await metric(instance, "buero_rate_limit_fallbacks_total") == 1
                assert await metric(instance, "buero_rate_limit_fallback") == 0
            for process in (app_a, app_b, worker):
                process.check_running()
        await check_the_morning(load, own_postgres, smtp_sink, figures)
        figures["all checked after (s)"] = f"{time.monotonic() - began:.1f}"
    finally:
        for process in cluster.processes:
            process.stop()
    check_the_logs(app_a, app_b, worker, figures)
    print("\nfault run: " + ", ".join(f"{key} {value}" for key, value in figures.items()))


async def run_the_night(load: Load, redis: OwnRedis, pg: OwnPostgres) -> dict[str, object]:
    """The load throughout; Redis killed and started again, then PostgreSQL stopped and
    started again. Returns the figures of what happened when."""
    task = asyncio.create_task(load.run())
    try:
        await asyncio.sleep(1)
        redis_down = time.monotonic()
        redis.kill()
        await asyncio.sleep(OUTAGE_SECONDS)
        redis_up = time.monotonic()
        await asyncio.to_thread(redis.start)
        await asyncio.sleep(2)
        pg_down = time.monotonic()
        await asyncio.to_thread(pg.stop)
        await asyncio.sleep(OUTAGE_SECONDS)
        pg_up = time.monotonic()
        await asyncio.to_thread(pg.start)
        # Load until bookings succeed again, and a little longer: each instance sees a quiet
        # moment and says the outage is over.
        try:
            await wait_for(lambda: first_success_after(load, pg_up) is not None, 30,
                           "a booking after PostgreSQL is back")
        except AssertionError:
            raise AssertionError(f"{Counter(a.status for a in load.answers)}, load ended: "
                                 f"{task.done()}") from None
        await asyncio.sleep(3)
    finally:
        load.stopping = True
        await asyncio.wait_for(task, 60)

    during_redis = load.between(redis_down, redis_up)
    during_pg = load.between(pg_down, pg_up)
    statuses = Counter(a.status for a in load.answers)
    assert set(statuses) <= {201, 409, 503}, statuses  # no 500, no dropped connection
    assert all(a.retry_after == "5" for a in load.answers if a.status == 503)
    # Bookings go on while Redis is away (the limits are counted in memory) ...
    assert Counter(a.status for a in during_redis)[201] > 0
    assert not [a for a in during_redis if a.status == 503]
    # ... and get a clear "try again" while PostgreSQL is (the outage was real).
    assert Counter(a.status for a in during_pg)[503] > 0
    return {
        "requests": len(load.answers), "accepted (201)": statuses[201],
        "slot taken (409)": statuses[409], "503": statuses[503],
        "5xx other than 503": sum(n for s, n in statuses.items() if s >= 500 and s != 503),
        "no answer": statuses[0],
        "201 while Redis was away": Counter(a.status for a in during_redis)[201],
        "503 while PostgreSQL was away": Counter(a.status for a in during_pg)[503],
        "first 201 after Redis back (s)": _seconds(first_success_after(load, redis_up)),
        "first 201 after PostgreSQL back (s)": _seconds(first_success_after(load, pg_up)),
    }


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


async def check_the_morning(load: Load, pg: OwnPostgres, sink: SmtpSink,
                            figures: dict[str, object]) -> None:
    """Nothing accepted is lost, nothing is there twice, every accepted booking's mail came
    once."""
    accepted = [a for a in load.answers if a.status == 201]
    stored = {str(row[0]): row for row in await pg.rows(
        "SELECT reference, start_at, email FROM appointment")}
    lost = [a.reference for a in accepted if a.reference not in stored]
    references = [a.reference for a in accepted]
    # Capacity 1 per slot: two live appointments at one start would be a double booking.
    double = await pg.scalar(
        "SELECT count(*) FROM (SELECT start_at FROM appointment WHERE status IN "
        "('reserved', 'confirmed') GROUP BY start_at HAVING count(*) > 1) AS twice")
    emails = {a.email for a in accepted}

    def mails_to() -> Counter[str]:
        return Counter(m["To"].addresses[0].addr_spec for m in sink.snapshot())

    await wait_for(lambda: emails <= set(mails_to()), 60, "a mail for every accepted booking")
    ids = sink.message_ids()
    figures.update({"lost": len(lost), "duplicated": len(references) - len(set(references)),
                    "double-booked slots": double,
                    "mails twice": len(ids) - len(set(ids))})
    assert lost == []
    assert len(set(references)) == len(references) and double == 0
    # The database outage, like a killed worker, may interrupt the record of the one mail the
    # SMTP server had just accepted: that one may come twice, no other.
    assert len(ids) - len(set(ids)) <= 1


def check_the_logs(app_a: Process, app_b: Process, worker: Process,
                   figures: dict[str, object]) -> None:
    """No exception reached uvicorn, none was logged as unhandled; each outage is a line or
    two per process, not one per request."""
    for process in (app_a, app_b):
        records = log_records(process)
        messages = [str(r.get("msg", "")) for r in records]
        assert not [m for m in messages if "Exception in ASGI application" in m]
        assert not [r for r in records if r.get("logger") == "buergerbuero.errors"]
        outage = [str(r["msg"]).split(" (")[0].split(":")[0] for r in records
                  if r.get("logger") == "buergerbuero.outage"]
        # The PostgreSQL outage: one warning and one line when it is over; Redis none.
        assert outage == ["database unreachable", "database reachable again"], outage
        limiter = [r for r in records if r.get("logger") == "buergerbuero.ratelimit"]
        assert len(limiter) == 2, limiter  # away, back
        figures[f"warning+ lines {process.name}"] = sum(
            1 for r in records if r.get("level") in ("WARNING", "ERROR", "CRITICAL", "RAW"))
    worker_lines = [r for r in log_records(worker) if r.get("level") in ("WARNING", "ERROR")]
    figures["warning+ lines worker"] = len(worker_lines)
    assert len([r for r in worker_lines if "unreachable" in str(r.get("msg"))]) <= 1
