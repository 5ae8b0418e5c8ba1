"""Booking race for a one-place slot and, on Postgres, bookings per second of distinct slots."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections import Counter
from typing import Any

import httpx

from bench.common import Figure, Report, Seed, bench_env, serve
from bench.http_load import post_all

RACERS = 1000
THROUGHPUT_BOOKINGS = 1000
THROUGHPUT_CONCURRENCY = 50


def _body(seed: Seed, start: dt.datetime, number: int) -> dict[str, Any]:
    return {
        "service_id": seed.single_service_id, "office_id": seed.single_office_id,
        "start": start.isoformat(), "locale": "de",
        "citizen": {"given_name": "Max", "family_name": f"Racer{number}",
                    "email": f"racer{number}-{start.timestamp():.0f}@example.org"},
    }


async def _post(client: httpx.AsyncClient, body: dict[str, Any]) -> int:
    try:
        response = await client.post("/api/v1/appointments", json=body)
    except httpx.HTTPError:
        return -1  # connection-level failure
    return response.status_code


async def race(base_url: str, seed: Seed) -> Counter[int]:
    limits = httpx.Limits(max_connections=RACERS, max_keepalive_connections=RACERS)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=120) as client:
        gate = asyncio.Event()

        async def one(number: int) -> int:
            await gate.wait()
            return await _post(client, _body(seed, seed.race_start, number))

        tasks = [asyncio.create_task(one(n)) for n in range(RACERS)]
        await asyncio.sleep(0.1)
        gate.set()
        return Counter(await asyncio.gather(*tasks))


async def book_distinct(base_url: str, seed: Seed) -> tuple[float, Counter[int]]:
    """Bookings of distinct slots at THROUGHPUT_CONCURRENCY connections, with a lean client
    (bench/http_load.py) so that the load generator does not take the server's CPU."""
    host, port = base_url.removeprefix("http://").rsplit(":", 1)
    path = "/api/v1/appointments"
    # Warm the connections' code paths and the statement caches outside the clock.
    warm = [json.dumps(_body(seed, start, 900_000 + n)).encode()
            for n, start in enumerate(seed.free_starts[-THROUGHPUT_CONCURRENCY:])]
    await post_all(host, int(port), path, warm, THROUGHPUT_CONCURRENCY)
    bodies = [json.dumps(_body(seed, start, 100_000 + n)).encode()
              for n, start in enumerate(seed.free_starts[:THROUGHPUT_BOOKINGS])]
    seconds, statuses = await post_all(host, int(port), path, bodies, THROUGHPUT_CONCURRENCY)
    return len(bodies) / seconds, statuses


async def run(report: Report, database_url: str, seed: Seed, label: str, *,
              throughput: bool = False) -> None:
    with serve("app", bench_env(database_url)) as server:
        statuses = await race(server.base_url, seed)
        created = statuses.get(201, 0)
        server_errors = sum(n for code, n in statuses.items() if code >= 500 or code < 0)
        summary = " ".join(f"{code}x{n}" for code, n in sorted(statuses.items()))
        report.add(Figure(f"booking race 201s [{label}]", created, "bookings",
                          target="== 1, no 5xx", passed=created == 1 and server_errors == 0,
                          note=f"{RACERS} racers: {summary}"))
        if throughput:
            rate, codes = await book_distinct(server.base_url, seed)
            ok = codes.get(201, 0) == THROUGHPUT_BOOKINGS
            summary = " ".join(f"{code}x{n}" for code, n in sorted(codes.items()))
            report.add(Figure(f"bookings/s distinct slots [{label}]", rate, "/s",
                              target=">= 300 /s", passed=ok and rate >= 300,
                              note=f"{THROUGHPUT_BOOKINGS} at {THROUGHPUT_CONCURRENCY} "
                                   f"concurrent: {summary}"))

