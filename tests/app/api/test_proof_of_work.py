"""The proof of work before a booking (``core/proof_of_work.py``, ``app/api/proof.py``): a solved
challenge books; a missing, wrong, forged, expired or replayed one is refused with its own code
and a message in the request's language; a staff bearer token books without one; challenges
set no cookie; with Redis, a solution used on one instance is refused on another."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import AsyncIterator, Callable
from datetime import datetime, time, timedelta
from typing import Any

import httpx
import pytest
from altcha.v1 import solve_challenge
from starlette.applications import Starlette

from app.db import Database
from app.main import create_app
from app.settings import Settings
from core.types import Clock
from tests.app.admin.conftest import quick_hashes as quick_hashes
from tests.app.api.conftest import DAY
from tests.app.pages.helpers import csrf_of, details_form
from tests.booking.factories import BERLIN, World, appointments
from tests.conftest import REDIS_URL, SHARED_REDIS, require, running
from tests.staff.helpers import CLERK_EMAIL, add_user, bearer, token_for

HARD = 2_000  # small: these tests solve in Python


@pytest.fixture
def guarded(settings_factory: Callable[..., Settings]) -> Callable[..., Starlette]:
    return lambda **extra: create_app(settings_factory(
        proof_of_work=True, proof_of_work_max_number=HARD, **extra))


@pytest.fixture
async def client(guarded: Callable[..., Starlette]) -> AsyncIterator[httpx.AsyncClient]:
    app = guarded()
    async with running(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as c:
        c.app = app  # type: ignore[attr-defined]
        yield c


async def solved(client: httpx.AsyncClient, *, number: int | None = None) -> str:
    """A challenge of the server, solved by the altcha library (its Python solver), encoded as
    the browser sends it; ``number`` replaces the solution (a wrong one)."""
    r = await client.get("/api/v1/challenge")
    assert r.status_code == 200, r.text
    challenge = r.json()
    solution = solve_challenge(challenge["challenge"], challenge["salt"], "SHA-256",
                               challenge["maxNumber"])
    assert solution is not None
    payload = {"algorithm": challenge["algorithm"], "challenge": challenge["challenge"],
               "number": solution.number if number is None else number,
               "salt": challenge["salt"], "signature": challenge["signature"]}
    return base64.b64encode(json.dumps(payload).encode()).decode()


def body(w: World, hour: int, altcha: str | None, email: str = "erika@example.com",
         ) -> dict[str, Any]:
    data: dict[str, Any] = {
        "service_id": w.service_id, "office_id": w.office_id,
        "start": datetime.combine(DAY, time(hour), tzinfo=BERLIN).isoformat(),
        "citizen": {"given_name": "Erika", "family_name": "Mustermann", "email": email}}
    if altcha is not None:
        data["altcha"] = altcha
    return data


def error(r: httpx.Response) -> tuple[int, str, str]:
    return r.status_code, r.json()["error"]["code"], r.json()["error"]["message"]


async def test_the_challenge_is_signed_and_sets_no_cookie(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/challenge")
    assert r.status_code == 200 and "set-cookie" not in r.headers
    assert r.headers["cache-control"] == "no-store"
    challenge = r.json()
    assert challenge["algorithm"] == "SHA-256" and challenge["maxNumber"] == HARD
    assert len(challenge["challenge"]) == 64 and len(challenge["signature"]) == 64
    assert "expires=" in challenge["salt"]
    assert (await client.get("/api/v1/challenge")).json()["salt"] != challenge["salt"]


async def test_a_solved_challenge_books(client: httpx.AsyncClient, seeded: World) -> None:
    r = await client.post("/api/v1/appointments", json=body(seeded, 9, await solved(client)))
    assert r.status_code == 201, r.text


@pytest.mark.parametrize("altcha, code", [
    (None, "proof_required"),
    ("", "proof_required"),
    ("not base64!", "proof_invalid"),
    (base64.b64encode(b"[1, 2]").decode(), "proof_invalid"),
    (base64.b64encode(b'{"algorithm": "SHA-256"}').decode(), "proof_invalid"),
])
async def test_missing_or_malformed_is_refused(
    client: httpx.AsyncClient, seeded: World, altcha: str | None, code: str
) -> None:
    r = await client.post("/api/v1/appointments", json=body(seeded, 9, altcha))
    assert r.status_code == 422 and r.json()["error"]["code"] == code, r.text
    assert "Prüfung" in r.json()["error"]["message"]


async def test_a_wrong_number_or_a_forged_challenge_is_refused(
    client: httpx.AsyncClient, seeded: World
) -> None:
    good = await solved(client)
    payload = json.loads(base64.b64decode(good))
    wrong = await solved(client, number=(payload["number"] + 1) % (HARD + 1))
    r = await client.post("/api/v1/appointments", json=body(seeded, 9, wrong))
    assert error(r) == (422, "proof_invalid", "Die automatische Prüfung gegen Missbrauch ist "
                        "fehlgeschlagen. Bitte versuchen Sie es erneut.")
    # An easier puzzle of the client's own making: the signature does not match it.
    forged = {**payload, "salt": "00&", "number": 1}
    forged["challenge"] = hashlib.sha256(b"00&1").hexdigest()
    r = await client.post("/api/v1/appointments", json=body(
        seeded, 9, base64.b64encode(json.dumps(forged).encode()).decode()))
    assert error(r)[:2] == (422, "proof_invalid")
    r = await client.post("/api/v1/appointments?lang=en", json=body(seeded, 9, wrong))
    assert error(r)[2] == "The automatic check against misuse failed. Please try again."
    r = await client.post("/api/v1/appointments", json=body(seeded, 9, good))
    assert r.status_code == 201, r.text  # the refusals used nothing up


async def test_an_expired_solution_is_refused(client: httpx.AsyncClient, seeded: World) -> None:
    altcha = await solved(client)
    Clock.shift(timedelta(seconds=601))  # the product's clock, past the 600 s lifetime
    try:
        r = await client.post("/api/v1/appointments", json=body(seeded, 9, altcha))
    finally:
        Clock.shift(timedelta(0))
    assert error(r) == (422, "proof_expired", "Die automatische Prüfung gegen Missbrauch ist "
                        "abgelaufen. Bitte versuchen Sie es erneut.")


async def test_a_solution_books_once(client: httpx.AsyncClient, seeded: World) -> None:
    altcha = await solved(client)
    assert (await client.post("/api/v1/appointments",
                              json=body(seeded, 9, altcha))).status_code == 201
    r = await client.post("/api/v1/appointments",
                          json=body(seeded, 10, altcha, email="max@example.com"))
    assert error(r) == (409, "proof_reused", "Die automatische Prüfung gegen Missbrauch wurde "
                        "bereits verwendet. Bitte versuchen Sie es erneut.")


async def test_a_staff_token_books_without_one(client: httpx.AsyncClient,
                                               seeded: World) -> None:
    app: Starlette = client.app  # type: ignore[attr-defined]
    await add_user(app, CLERK_EMAIL, "clerk")
    headers = bearer(await token_for(client, CLERK_EMAIL))
    r = await client.post("/api/v1/appointments", headers=headers, json=body(seeded, 9, None))
    assert r.status_code == 201, r.text
    r = await client.post("/api/v1/appointments", headers=bearer("not-a-token"),
                          json=body(seeded, 10, None, email="max@example.com"))
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"


async def test_switched_off_no_proof_is_needed(
    settings_factory: Callable[..., Settings], seeded: World
) -> None:
    app = create_app(settings_factory())  # the tests' default: off
    async with running(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as plain:
        r = await plain.post("/api/v1/appointments", json=body(seeded, 9, None))
        assert r.status_code == 201, r.text


async def test_the_booking_form_needs_the_check(client: httpx.AsyncClient, db: Database,
                                                seeded: World) -> None:
    day = DAY.isoformat()
    slot = datetime.combine(DAY, time(9), tzinfo=BERLIN).isoformat()
    page = await client.get("/book", params={"service": seeded.service_id, "day": day,
                                             "slot": slot})
    assert page.status_code == 200 and 'name="altcha"' in page.text
    assert "data-proof-of-work" in page.text and "/static/js/proof-of-work.js" in page.text
    data = details_form(csrf_of(page.text), seeded.service_id, day, slot)
    r = await client.post("/book", data=data)
    assert r.status_code == 422 and "automatische Prüfung abgeschlossen hat" in r.text
    r = await client.post("/book", data={**data, "altcha": await solved(client)})
    assert r.status_code == 303 and r.headers["location"] == "/book/done"
    assert [a.start_at for a in await appointments(db)] == [
        datetime.combine(DAY, time(9), tzinfo=BERLIN)]


@SHARED_REDIS
async def test_with_redis_a_solution_used_on_one_instance_is_refused_on_another(
    guarded: Callable[..., Starlette], seeded: World
) -> None:
    require(REDIS_URL is not None, "Redis (BUERO_TEST_REDIS_URL)")
    one, two = guarded(redis_url=REDIS_URL), guarded(redis_url=REDIS_URL)
    async with running(one), running(two), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=one), base_url="http://testserver"
    ) as first, httpx.AsyncClient(
        transport=httpx.ASGITransport(app=two), base_url="http://testserver"
    ) as second:
        altcha = await solved(first)
        r = await first.post("/api/v1/appointments", json=body(seeded, 9, altcha))
        assert r.status_code == 201, r.text
        r = await second.post("/api/v1/appointments",
                              json=body(seeded, 10, altcha, email="max@example.com"))
        assert error(r)[:2] == (409, "proof_reused")
