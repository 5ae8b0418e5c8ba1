"""The deployment at scale, as processes: two ``buergerbuero serve --no-worker`` instances and one
``buergerbuero worker`` against a fresh PostgreSQL database and the real Redis, each started by
its console script with JSON logs at DEBUG (the most lines) written to a file.

One citizen's whole story runs across them: the office is set up on instance A, the booking is
made on B, the hold and confirmation mails come from the separate worker over SMTP, the link is
confirmed on A, the clerk takes a call token on B; an aiortc citizen on A and an aiortc clerk on
B see each other; the clerk ends the call and completes the request; each instance's agenda
shows what the other did. Then every log line of the three processes is searched for the
citizen's e-mail, name and tokens, the staff passwords and bearer tokens.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.app.test_e2e_contract import _ics, _text_part
from tests.calls.peers import Signal, call_and_see_each_other, eventually
from tests.cases.conftest import VERIFIED
from tests.conftest import (
    PG_URL,
    REDIS_URL,
    SHARED_REDIS,
    _pg_admin,
    free_port,
    require,
)
from tests.smtp_support import SmtpSink, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow, SHARED_REDIS]

SCRIPT = Path(sys.executable).with_name("buergerbuero")
BERLIN = ZoneInfo("Europe/Berlin")
BASE_URL = "https://buero.example"
ADMIN = ("admin.scale@stadt.example", "Pflaumenmus-im-Rathauskeller-42")
CLERK = ("clerk.scale@stadt.example", "Mohnschnecke-am-Schalter-drei-7")
GIVEN, FAMILY = "Kunigunde", "Zwetschgenbaum"
EMAIL = "Kunigunde.Zwetschgenbaum+videotermin@example.org"

LOOPBACK_PORT = re.compile(r"127\.0\.0\.1:(\d+)")
Agenda = Callable[[], Awaitable[list[dict[str, Any]]]]


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def check_running(self) -> None:
        if self.popen.poll() is not None:
            raise AssertionError(f"{self.name} exited with {self.popen.returncode}:\n"
                                 + self.log.read_text(errors="replace")[-4000:])

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()

    def records(self) -> list[tuple[str, dict[str, Any]]]:
        """Every line of the log with its JSON object; a line that is not one fails."""
        out = []
        for line in self.log.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                raise AssertionError(f"{self.name}: not a JSON log line: {line!r}") from None
            assert isinstance(record, dict), line
            assert {"ts", "level", "logger", "request_id", "msg"} <= record.keys(), line
            out.append((line, record))
        return out


@dataclass
class Cluster:
    """One installation's settings (environment and working folder) and the processes
    started from them."""

    env: dict[str, str]
    workdir: Path
    processes: list[Process] = field(default_factory=list)

    def run(self, *args: str, stdin: str = "") -> str:
        result = subprocess.run([str(SCRIPT), *args], input=stdin, capture_output=True,
                                text=True, env=self.env, cwd=self.workdir, timeout=120,
                                check=False)
        assert result.returncode == 0, (args, result.stdout, result.stderr)
        if stdin.strip():  # a password: never echoed
            assert stdin.strip() not in result.stdout + result.stderr
        return result.stdout

    def start(self, name: str, *args: str) -> Process:
        log = self.workdir / f"{name}.log"
        with log.open("wb") as out:  # the child keeps its own descriptor
            popen = subprocess.Popen([str(SCRIPT), *args], stdin=subprocess.DEVNULL,
                                     stdout=out, stderr=subprocess.STDOUT, env=self.env,
                                     cwd=self.workdir)
        process = Process(name, popen, log)
        self.processes.append(process)
        return process

    async def serve(self, name: str) -> tuple[Process, str]:
        port = free_port()
        process = self.start(name, "serve", "--no-worker", "--host", "127.0.0.1",
                             "--port", str(port))
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base, timeout=5) as http:

            async def ready() -> bool:
                process.check_running()
                try:
                    return (await http.get("/readyz")).status_code == 200
                except httpx.TransportError:
                    return False

            await eventually(ready, timeout=90)
        return process, base


class Client(httpx.AsyncClient):
    """An HTTP client that names each request (``X-Request-ID``), so the test can find the
    instance's log lines of exactly these requests."""

    def __init__(self, name: str, base_url: str) -> None:
        super().__init__(base_url=base_url, timeout=30,
                         event_hooks={"request": [self._name_request]})
        self.label = name
        self.base = base_url
        self.request_ids: list[str] = []

    async def _name_request(self, request: httpx.Request) -> None:
        request_id = f"scale-{self.label}-{len(self.request_ids) + 1}-{secrets.token_hex(3)}"
        self.request_ids.append(request_id)
        request.headers["X-Request-ID"] = request_id


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh, empty database (the migrations create the schema), dropped afterwards."""
    assert PG_URL is not None
    name = f"buero_scale_{uuid.uuid4().hex[:10]}"
    asyncio.run(_pg_admin(PG_URL, f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(_pg_admin(PG_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def database() -> Iterator[str]:
    require(PG_URL is not None, "BUERO_TEST_POSTGRES_URL")
    with postgres_database() as url:
        yield url


@asynccontextmanager
async def cluster(database: str, sink: SmtpSink, workdir: Path) -> AsyncIterator[Cluster]:
    require(REDIS_URL is not None, "BUERO_TEST_REDIS_URL")
    require(SCRIPT.is_file(), f"the console script {SCRIPT}")
    assert REDIS_URL is not None
    env = {key: value for key, value in os.environ.items() if not key.startswith("BUERO_")}
    env.update({
        "BUERO_ENV": "production",
        "BUERO_CLAMD_ADDRESS": "tcp:127.0.0.1:3310",  # no upload here; production needs one
        "BUERO_DATABASE_URL": database,
        "BUERO_REDIS_URL": REDIS_URL,
        "BUERO_REDIS_PREFIX": f"buero-test:{secrets.token_hex(8)}:",
        # The proof of work has its own tests, across instances too (test_proof_of_work.py).
        "BUERO_PROOF_OF_WORK": "false",
        "BUERO_SECRET_KEY": secrets.token_urlsafe(32),
        "BUERO_BASE_URL": BASE_URL,
        "BUERO_VAR_DIR": str(workdir / "var"),
        "BUERO_SMTP_HOST": "127.0.0.1",
        "BUERO_SMTP_PORT": str(sink.port),
        "BUERO_MAIL_FROM": "termine@buero.example",
        "BUERO_LOG_LEVEL": "DEBUG",
        "BUERO_LOG_FORMAT": "json",
        "BUERO_WORKER_POLL_SECONDS": "0.2",
        # The first free slot may be tomorrow morning: open the call room that early.
        "BUERO_JOIN_BEFORE_MINUTES": str(3 * 24 * 60),
    })
    setup = Cluster(env, workdir)
    try:
        yield setup
    finally:
        for process in setup.processes:
            process.stop()


async def test_booking_and_call_across_two_instances_and_a_worker(
    database: str, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    async with cluster(database, smtp_sink, tmp_path) as processes:
        assert "migrated" in processes.run("migrate")
        processes.run("create-user", "--email", ADMIN[0], "--role", "admin",
                      stdin=ADMIN[1] + "\n")
        instance_a, base_a = await processes.serve("app-a")
        instance_b, base_b = await processes.serve("app-b")
        worker = processes.start("worker", "worker")
        async with Client("a", base_a) as http_a, Client("b", base_b) as http_b:
            secrets_seen = await story(processes, http_a, http_b, smtp_sink)
            for process in (instance_a, instance_b, worker):
                process.check_running()
        for process in processes.processes:
            process.stop()

        logs = {p.name: p.records() for p in (instance_a, instance_b, worker)}
        # Not vacuous: each log has lines, every request sent to an instance left a line with
        # its id there, and the mails' Message-IDs are in the worker's log alone.
        for name, records in logs.items():
            assert records, f"{name} wrote no log line"
        for name, client in (("app-a", http_a), ("app-b", http_b)):
            logged_ids = {record["request_id"] for _, record in logs[name]}
            assert set(client.request_ids) <= logged_ids, set(client.request_ids) - logged_ids
        message_ids = [str(m["Message-ID"]) for m in smtp_sink.snapshot()]
        worker_text = "\n".join(line for line, _ in logs["worker"])
        assert all(message_id in worker_text for message_id in message_ids), message_ids
        for name in ("app-a", "app-b"):
            assert not any("sent via SMTP" in record["msg"] for _, record in logs[name])

        forbidden = {
            "the citizen's e-mail": EMAIL, "its local part": EMAIL.split("@")[0],
            "the given name": GIVEN, "the family name": FAMILY,
            "the admin's password": ADMIN[1], "the clerk's password": CLERK[1],
            **secrets_seen,
        }
        # Loopback addresses in a line may only name a server, never a client's port.
        assert PG_URL is not None and REDIS_URL is not None
        servers = {httpx.URL(http_a.base).port, httpx.URL(http_b.base).port, smtp_sink.port,
                   make_url(PG_URL).port or 5432, urlsplit(REDIS_URL).port or 6379}
        for name, records in logs.items():
            for line, record in records:
                # The parsed record as well: JSON may escape what the raw line would show.
                text = (line + json.dumps(record, ensure_ascii=False)).lower()
                for what, value in forbidden.items():
                    assert value.lower() not in text, f"{what} in the {name} log: {line}"
                ports = {int(port) for port in LOOPBACK_PORT.findall(text)}
                assert ports <= servers, f"a client address in the {name} log: {line}"


async def story(processes: Cluster, http_a: Client, http_b: Client,
                sink: SmtpSink) -> dict[str, str]:
    """The citizen's and the clerk's way through both instances; returns the secrets handed
    out on the way (tokens), which no log line may contain."""
    admin_token = await login(http_a, *ADMIN)
    admin = {"Authorization": f"Bearer {admin_token}"}
    office_id, service_id = await set_up_office(http_a, admin)
    processes.run("create-user", "--email", CLERK[0], "--role", "clerk",
                  "--office", str(office_id), "--name", "Schalter 3", stdin=CLERK[1] + "\n")
    clerk_token = await login(http_b, *CLERK)
    clerk = {"Authorization": f"Bearer {clerk_token}"}

    # Booked on B; the separate worker sends the hold mail with the link.
    today = datetime.now(BERLIN).date()
    r = await http_b.get("/api/v1/availability", params={
        "service_id": service_id, "office_id": office_id,
        "from": today.isoformat(), "to": (today + timedelta(days=2)).isoformat()})
    assert r.status_code == 200, r.text
    start = r.json()["slots"][0]["start"]
    r = await http_b.post("/api/v1/appointments", json={
        "service_id": service_id, "office_id": office_id, "start": start, "locale": "de",
        "citizen": {"given_name": GIVEN, "family_name": FAMILY, "email": EMAIL}})
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "reserved"
    reference = r.json()["reference"]
    hold = await mail_to_citizen(sink, 1)
    assert reference in str(hold["Subject"])
    assert _ics(hold).vevent.status.value == "TENTATIVE"
    link = next(word for word in _text_part(hold).split() if word.startswith(f"{BASE_URL}/t/"))
    link_token = link.rsplit("/", 1)[1]

    # The link opened and confirmed on A; the confirmation also comes from the worker.
    page = await http_a.get(f"/t/{link_token}")
    assert page.status_code == 200 and reference in page.text
    citizen = {"Authorization": f"Bearer {link_token}"}
    r = await http_a.post("/api/v1/me/confirm", headers=citizen)
    assert r.status_code == 200 and r.json()["status"] == "confirmed", r.text
    confirmed = await mail_to_citizen(sink, 2)
    assert _ics(confirmed).vevent.status.value == "CONFIRMED"

    day = start[:10]
    call_token = await clerk_call_token(http_b, clerk, reference)
    await video_call(http_a.base, http_b.base, link_token, call_token, reference,
                     agenda_a=lambda: agenda(http_a, clerk, day),
                     agenda_b=lambda: agenda(http_b, clerk, day))

    # The clerk completes the request on A; B's agenda shows it, the worker mails the notice.
    r = await http_b.post(f"/api/v1/clerk/appointments/{reference}/verification",
                          headers=clerk, json=VERIFIED)
    assert r.status_code == 200, r.text
    r = await http_a.post(f"/api/v1/clerk/appointments/{reference}/complete", headers=clerk,
                          json={"items": [{"service_id": service_id, "quantity": 1}],
                                "payment": "invoice", "delivery": "email"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "completed"
    [item] = await agenda(http_b, clerk, day)
    assert item["status"] == "completed"
    notice = await mail_to_citizen(sink, 3)
    assert any(a.get_content_type() == "application/pdf" for a in notice.iter_attachments())
    r = await http_b.get("/api/v1/me", headers=citizen)
    assert r.status_code == 200 and r.json()["case"]["amount_cents"] == 1250, r.text
    ids = sink.message_ids()
    assert len(ids) == len(set(ids)), "no mail twice"
    return {"the link token": link_token, "the clerk's call token": call_token,
            "the admin's bearer token": admin_token, "the clerk's bearer token": clerk_token}


async def login(http: Client, email: str, password: str) -> str:
    r = await http.post("/api/v1/auth/token", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    assert isinstance(token, str)
    return token


async def set_up_office(http: Client, admin: dict[str, str]) -> tuple[int, int]:
    r = await http.post("/api/v1/admin/offices", headers=admin, json={
        "name": "Bürgerbüro Lindenhain", "timezone": "Europe/Berlin", "min_notice_minutes": 0,
        "horizon_days": 30, "authority": "Stadt Lindenhain",
        "address": "Rathausplatz 1\n99999 Lindenhain", "iban": "DE02120300000000202051",
        "bic": "BYLADEM1001", "bank_name": "Stadtkasse Lindenhain"})
    assert r.status_code == 201, r.text
    office_id = r.json()["id"]
    assert isinstance(office_id, int)
    r = await http.post("/api/v1/admin/services", headers=admin, json={
        "name": "Meldebescheinigung", "duration_minutes": 15, "fee_cents": 1250, "video": True,
        "office_ids": [office_id]})
    assert r.status_code == 201, r.text
    service_id = r.json()["id"]
    assert isinstance(service_id, int)
    r = await http.post("/api/v1/admin/schedules", headers=admin, json={
        "office_id": office_id, "service_ids": [service_id], "weekdays": list(range(7)),
        "start_time": "08:00", "end_time": "18:00", "capacity": 1,
        "valid_from": datetime.now(BERLIN).date().isoformat(), "valid_until": None})
    assert r.status_code == 201, r.text
    return office_id, service_id


async def mail_to_citizen(sink: SmtpSink, count: int) -> EmailMessage:
    """The ``count``-th mail (all go to the citizen in this story)."""
    await wait_for(lambda: len(sink.snapshot()) >= count, what=f"mail number {count}")
    message = sink.snapshot()[count - 1]
    assert message["To"].addresses[0].addr_spec == EMAIL
    return message


async def clerk_call_token(http: Client, clerk: dict[str, str], reference: str) -> str:
    r = await http.post(f"/api/v1/clerk/appointments/{reference}/call-token", headers=clerk)
    assert r.status_code == 200, r.text
    token = r.json()["token"]
    assert isinstance(token, str)
    return token


async def agenda(http: Client, clerk: dict[str, str], day: str) -> list[dict[str, Any]]:
    r = await http.get("/api/v1/clerk/appointments", params={"date": day}, headers=clerk)
    assert r.status_code == 200, r.text
    items = r.json()
    assert isinstance(items, list)
    return items


async def video_call(base_a: str, base_b: str, link_token: str, call_token: str,
                     reference: str, *, agenda_a: Agenda, agenda_b: Agenda) -> None:
    """The citizen on A waits, the clerk on B (whose agenda sees the waiting) admits; aiortc
    media flows both ways; A's agenda shows the call; the clerk ends it."""
    citizen = await Signal.open(base_a)
    welcome = await citizen.hello(link_token)
    assert welcome["role"] == "citizen" and welcome["reference"] == reference
    await citizen.expect("waiting")

    async def waiting_on_b() -> bool:
        [item] = await agenda_b()
        return bool(item["waiting"])

    assert await eventually(waiting_on_b)

    clerk = await Signal.open(base_b)
    welcome = await clerk.hello(call_token)
    assert welcome["role"] == "clerk"
    await clerk.expect("peer-waiting")
    await clerk.send({"type": "admit"})
    await clerk.expect("start", initiator=True)
    await citizen.expect("start", initiator=False)
    await call_and_see_each_other(citizen, clerk, welcome["ice_servers"])

    async def in_call_on_a() -> bool:
        [item] = await agenda_a()
        return item["status"] == "in_call" and item["waiting"] is False

    assert await eventually(in_call_on_a)

    await clerk.send({"type": "end"})
    await citizen.expect("ended")
    await citizen.closed_with(1000)
    await clerk.closed_with(1000)
    # Ending the call does not finish the request: it stays in the call until completed.
    [item] = await agenda_a()
    assert item["status"] == "in_call"
