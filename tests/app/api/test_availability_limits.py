"""``GET /api/v1/availability`` cannot be made to compute on demand: unknown or repeated
parameters are refused, one question has one cache key however it is written, and fresh
computations are limited per client (kept answers are not)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from app.main import create_app
from app.settings import Settings
from tests.app.api.conftest import DAY
from tests.app.api.test_availability_cache import cache, query
from tests.booking.factories import World
from tests.conftest import running

URL = "/api/v1/availability"


@pytest.fixture
async def limited(settings_factory: Callable[..., Settings]) -> AsyncIterator[Starlette]:
    application = create_app(settings_factory(availability_cache_seconds=600,
                                              rate_limits_enabled=True,
                                              rate_limit_availability="3/minute"))
    async with running(application):
        yield application


def client_of(app: Starlette, host: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(host, 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


def window(days: int) -> dict[str, str]:
    return {"from": DAY.isoformat(), "to": (DAY + timedelta(days=days)).isoformat()}


async def test_unknown_and_repeated_parameters_are_refused(limited: Starlette,
                                                           seeded: World) -> None:
    async with client_of(limited, "192.0.2.1") as client:
        for extra in ({"x": "1"}, {"cachebuster": "93842"}, {"Service_id": "1"}):
            r = await client.get(URL, params={**query(seeded), **extra})
            assert r.status_code == 422, r.text
            assert r.json()["error"]["code"] == "validation_error"
        r = await client.get(URL + "?" + "&".join(
            f"{k}={v}" for k, v in query(seeded).items()) + f"&service_id={seeded.service_id}")
        assert r.status_code == 422
    assert cache(limited).misses == 0  # nothing was computed
    # The language of messages, taken by every operation, is no new question.
    async with client_of(limited, "192.0.2.1") as client:
        assert (await client.get(URL, params=query(seeded))).status_code == 200
        r = await client.get(URL, params={**query(seeded), "lang": "en"})
        assert r.status_code == 200 and cache(limited).misses == 1


async def test_one_question_one_key(limited: Starlette, seeded: World) -> None:
    q: dict[str, Any] = query(seeded)
    orders = [
        ["service_id", "office_id", "from", "to"],
        ["to", "from", "office_id", "service_id"],
        ["office_id", "to", "service_id", "from"],
    ]
    async with client_of(limited, "192.0.2.2") as client:
        etags = set()
        for order in orders:
            r = await client.get(URL + "?" + "&".join(f"{k}={q[k]}" for k in order))
            assert r.status_code == 200, r.text
            etags.add(r.headers["etag"])
    assert len(etags) == 1 and cache(limited).misses == 1


async def test_fresh_computations_are_limited_per_client(limited: Starlette,
                                                         seeded: World) -> None:
    async with client_of(limited, "198.51.100.1") as one, \
            client_of(limited, "198.51.100.2") as two:
        codes = [(await one.get(URL, params={**query(seeded), **window(d)})).status_code
                 for d in (1, 2, 3, 4)]
        assert codes == [200, 200, 200, 429], codes
        # Kept answers are served however often they are asked for.
        for _ in range(5):
            assert (await one.get(URL, params={**query(seeded), **window(1)})).status_code == 200
        # Another client computes its own.
        r = await two.get(URL, params={**query(seeded), **window(5)})
        assert r.status_code == 200
