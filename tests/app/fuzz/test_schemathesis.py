"""Property-based fuzzing of the HTTP API with schemathesis, over every operation of
``/api/v1/openapi.json``: no answer may be a server error (5xx), and every answer with a
documented status must match its documented schema.

The app runs in a real uvicorn (in a thread, so schemathesis's blocking client can call it)
against the test's database, SQLite and Postgres. An admin token and a citizen link token are
seeded, so the authenticated operations get past authentication most of the time; a tenth of
the cases keep whatever schemathesis generated for ``Authorization``.

Budget: ``BUERO_FUZZ_EXAMPLES`` examples per operation (default 8), derandomised (the same
cases every run), no shrinking. A larger budget: ``BUERO_FUZZ_EXAMPLES=200 pytest tests/app/fuzz``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
import schemathesis
import uvicorn
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import response_schema_conformance

from app.db import Database
from app.main import create_app
from app.settings import Settings
from booking.links import LinkKeys
from booking.models import Appointment, Office, Schedule, ScheduleService, Service, ServiceOffice
from core.audit import Actor
from core.types import utcnow
from staff.service import create_user
from tests.conftest import bound_socket

EXAMPLES = int(os.environ.get("BUERO_FUZZ_EXAMPLES", "8"))
ADMIN = "fuzz.admin@stadt.example"
PASSWORD = "Fuzz-Kerzen-am-Adventskranz-42"


async def _seed(settings_: Settings) -> str:
    """Office, service, schedule, admin and one confirmed appointment; returns its link token."""
    db = Database(settings_.database_url)
    links = LinkKeys(settings_.resolved_secret_key())
    nonce = links.new_nonce()
    token = links.token_for(nonce)
    start = utcnow().replace(microsecond=0) + dt.timedelta(days=2)
    try:
        async with db.transaction(write=True) as session:
            office = Office(name="Bürgerbüro Fuzz", authority="Stadt Fuzz", address="Markt 1",
                            iban="DE02120300000000202051", bic="BYLADEM1001")
            service = Service(name="Meldebescheinigung", duration_minutes=15, fee_cents=1000)
            session.add_all([office, service])
            await session.flush()
            assert office.id is not None and service.id is not None
            session.add(ServiceOffice(service_id=service.id, office_id=office.id))
            schedule = Schedule(office_id=office.id, start_time=dt.time(8),
                                end_time=dt.time(16), capacity=2, valid_from=dt.date(2020, 1, 1),
                                weekdays="0,1,2,3,4,5,6")
            session.add(schedule)
            await session.flush()
            assert schedule.id is not None
            session.add(ScheduleService(schedule_id=schedule.id, service_id=service.id))
            session.add(Appointment(
                reference="F-" + secrets.token_hex(4).upper(), office_id=office.id,
                service_id=service.id, start_at=start, end_at=start + dt.timedelta(minutes=15),
                status="confirmed", given_name="Erika", family_name="Mustermann",
                email="erika@example.org", email_norm="erika@example.org", link_nonce=nonce,
                token_hash=links.hash_token(token),
                link_expires_at=start + dt.timedelta(days=30), ics_uid=secrets.token_hex(8),
            ))
            await create_user(session, email=ADMIN, password=PASSWORD, role="admin",
                              office_ids=[office.id], actor=Actor.system())
    finally:
        await db.dispose()
    return token


@pytest.fixture
def served(settings_factory: Callable[..., Settings]) -> Iterator[str]:
    """A real uvicorn on loopback in its own thread and event loop; yields the base URL."""
    sock = bound_socket()
    port = sock.getsockname()[1]
    app_settings = settings_factory(base_url=f"http://127.0.0.1:{port}")
    server = uvicorn.Server(uvicorn.Config(create_app(app_settings), host="127.0.0.1",
                                           port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="fuzz-uvicorn",
                              daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        sock.close()


def _auth(operation: Any) -> str | None:
    """Which token an operation needs: "citizenLink", "staffToken" or None."""
    for requirement in operation.definition.raw.get("security", []):
        for name in requirement:
            if name in ("citizenLink", "staffToken"):
                return str(name)
    return None


def fuzz_operation(operation: Any, base: str, http: requests.Session,
                   token: str | None) -> str | None:
    """Run one operation's examples; the failure report, or None."""

    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    def run(case: Any) -> None:
        headers = dict(case.headers or {})
        # Mostly the seeded token; now and then what schemathesis made up.
        if token is not None and secrets.randbelow(10) != 0:
            headers["Authorization"] = f"Bearer {token}"
        case.headers = headers
        response = case.call(base_url=base, session=http, timeout=30)
        case.validate_response(response, checks=[not_a_server_error,
                                                 response_schema_conformance])

    try:
        run()
    except (Exception, BaseExceptionGroup) as exc:  # reported together by the caller
        return f"{operation.label}: {exc}"
    return None


def test_every_operation_survives_fuzzing(
    served: str, settings_factory: Callable[..., Settings],
) -> None:
    citizen_token = asyncio.run(_seed(settings_factory()))
    login = requests.post(f"{served}/api/v1/auth/token", timeout=10,
                          json={"email": ADMIN, "password": PASSWORD})
    assert login.status_code == 200, login.text
    tokens = {"staffToken": login.json()["access_token"], "citizenLink": citizen_token}

    schema = schemathesis.openapi.from_url(f"{served}/api/v1/openapi.json")
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result
        operations.append(result.ok())
    assert len(operations) > 40, "the schema lists the whole API"
    http = requests.Session()
    failures = []
    for operation in operations:
        scheme = _auth(operation)
        failure = fuzz_operation(operation, served, http,
                                 tokens[scheme] if scheme is not None else None)
        if failure is not None:
            failures.append(failure)
    assert failures == [], "\n\n".join(failures)
