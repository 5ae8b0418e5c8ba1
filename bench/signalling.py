"""Signalling relay through /ws/call against a bare pair-forwarding WebSocket ceiling.

Each room is one citizen and one clerk. After ``start`` the clerk sends a candidate-sized
message, the citizen answers with one, and the clerk times the round trip
(A → server → B → server → A). All rooms run at once; each does ROUND_TRIPS in a row per
round, and rounds alternate between the app and the ceiling (both servers run side by side).
Memory: RSS growth of the server process ÷ connected sockets, read from /proc.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import statistics
import time
from dataclasses import dataclass
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

from bench.common import SECRET_KEY, Figure, Report, Seed, Server, bench_env, percentile, serve

ROUND_TRIPS = 10  # per room and round
ROUNDS = 4
CANDIDATE = {
    "candidate": "candidate:842163049 1 udp 1677729535 203.0.113.7 46154 typ srflx raddr "
                 "10.0.0.2 rport 46154 generation 0 ufrag sXhP network-id 1 network-cost 10",
    "sdpMid": "0",
    "sdpMLineIndex": 0,
}
FRAME = json.dumps({"type": "candidate", "candidate": CANDIDATE})


@dataclass
class Room:
    reference: str
    citizen_token: str
    clerk_token: str = ""


async def seed_rooms(url: str, seed: Seed, rooms: int, prefix: str = "C") -> list[Room]:
    """Confirmed appointments inside their join window (start in 5 minutes)."""
    import app.all_models  # noqa: F401  (registers every table)
    from app.db import Database
    from booking.links import LinkKeys
    from booking.models import Appointment, AppointmentStatus

    links = LinkKeys(SECRET_KEY.encode())
    now = dt.datetime.now(dt.UTC)
    start = now + dt.timedelta(minutes=5)
    result: list[Room] = []
    db = Database(url)
    try:
        async with db.transaction(write=True) as session:
            for number in range(rooms):
                nonce = links.new_nonce()
                token = links.token_for(nonce)
                reference = f"{prefix}{number:07d}"
                session.add(Appointment(
                    reference=reference, office_id=seed.office_id, service_id=seed.service_id,
                    start_at=start, end_at=start + dt.timedelta(minutes=15),
                    status=AppointmentStatus.confirmed, given_name="Erika",
                    family_name="Mustermann", email=f"{prefix}{number}@example.org",
                    email_norm=f"{prefix}{number}@example.org", link_nonce=nonce,
                    token_hash=links.hash_token(token),
                    link_expires_at=start + dt.timedelta(days=30),
                    ics_uid=f"{prefix}{number}@bench",
                    created_at=now, updated_at=now, confirmed_at=now,
                ))
                result.append(Room(reference, token))
    finally:
        await db.dispose()
    return result


async def issue_clerk_tokens(base_url: str, rooms: list[Room]) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        login = await client.post("/api/v1/auth/token", json={
            "email": "bench-admin@example.org", "password": "bench-admin-password-1"})
        login.raise_for_status()
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        gate = asyncio.Semaphore(20)

        async def one(room: Room) -> None:
            async with gate:
                response = await client.post(
                    f"/api/v1/clerk/appointments/{room.reference}/call-token", headers=headers)
                response.raise_for_status()
                room.clerk_token = response.json()["token"]

        await asyncio.gather(*(one(room) for room in rooms))


WAIT_SECONDS = 60.0


class StepTimeout(RuntimeError):
    """A protocol step did not arrive in time (a lost message, or a server far behind)."""


async def _until(ws: ClientConnection, kind: str) -> dict[str, Any]:
    try:
        async with asyncio.timeout(WAIT_SECONDS):
            while True:
                message: dict[str, Any] = json.loads(await ws.recv())
                if message.get("type") == kind:
                    return message
                if message.get("type") == "error":
                    raise RuntimeError(f"server error {message}")
    except TimeoutError:
        raise StepTimeout(f"no {kind!r} within {WAIT_SECONDS:.0f} s") from None


async def _open(url: str) -> ClientConnection:
    return await connect(url, max_size=2**16, open_timeout=120, ping_interval=None)


async def join_app(url: str, room: Room,
                   clerk_url: str | None = None) -> tuple[ClientConnection, ClientConnection]:
    """Citizen on ``url``, clerk on ``clerk_url`` (another instance) or the same one."""
    citizen = await _open(url)
    await citizen.send(json.dumps({"type": "hello", "token": room.citizen_token}))
    await _until(citizen, "waiting")
    clerk = await _open(clerk_url or url)
    await clerk.send(json.dumps({"type": "hello", "token": room.clerk_token}))
    await _until(clerk, "peer-waiting")
    await clerk.send(json.dumps({"type": "admit"}))
    await _until(clerk, "start")
    await _until(citizen, "start")
    return clerk, citizen


async def join_ceiling(url: str, room: Room) -> tuple[ClientConnection, ClientConnection]:
    a = await _open(url)
    b = await _open(url)
    await a.send(room.reference)
    await b.send(room.reference)
    return a, b


async def relay(a: ClientConnection, b: ClientConnection) -> list[float]:
    timings: list[float] = []
    async with asyncio.timeout(WAIT_SECONDS):
        for _ in range(ROUND_TRIPS):
            began = time.perf_counter()
            await a.send(FRAME)
            await b.recv()
            await b.send(FRAME)
            await a.recv()
            timings.append((time.perf_counter() - began) * 1000)
    return timings


Pair = tuple[ClientConnection, ClientConnection]


async def connect_all(server: Server, rooms: list[Room], *,
                      ceiling: bool) -> tuple[list[Pair], float]:
    """Every room's two sockets, and KiB of server RSS per connected socket."""
    url = server.ws_url
    before = server.rss_kib()
    gate = asyncio.Semaphore(50)  # connection setup in waves; the relay itself runs all at once

    async def join(room: Room) -> tuple[ClientConnection, ClientConnection]:
        async with gate:
            return await (join_ceiling(url, room) if ceiling else join_app(url, room))

    pairs = await asyncio.gather(*(join(room) for room in rooms))
    await asyncio.sleep(1)
    return pairs, (server.rss_kib() - before) / (2 * len(pairs))


async def relay_all(pairs: list[tuple[ClientConnection, ClientConnection]]) -> list[float]:
    results = await asyncio.gather(*(relay(a, b) for a, b in pairs))
    return [t for room in results for t in room]


async def run(report: Report, database_url: str, seed: Seed, rooms_count: int) -> None:
    rooms = await seed_rooms(database_url, seed, rooms_count)
    app_rtt: list[float] = []
    ceiling_rtt: list[float] = []
    with serve("app", bench_env(database_url)) as server, serve("ws-ceiling") as ceiling_server:
        await issue_clerk_tokens(server.base_url, rooms)
        app_pairs, app_kib = await connect_all(server, rooms, ceiling=False)
        ceiling_pairs, ceiling_kib = await connect_all(ceiling_server, rooms, ceiling=True)
        # Alternating rounds (ABBA...) so that drift on a shared machine hits both sides alike.
        for round_ in range(ROUNDS):
            order = [(app_pairs, app_rtt), (ceiling_pairs, ceiling_rtt)]
            for pairs, sink in order if round_ % 2 == 0 else reversed(order):
                sink.extend(await relay_all(pairs))
        await asyncio.gather(*(ws.close() for pairs in (app_pairs, ceiling_pairs)
                               for pair in pairs for ws in pair))
    p50, c50 = statistics.median(app_rtt), statistics.median(ceiling_rtt)
    p99, c99 = percentile(app_rtt, 99), percentile(ceiling_rtt, 99)
    label = f"{rooms_count} rooms"
    report.add(Figure(f"relay round trip p50 [{label}]", p50, "ms", ceiling=c50,
                      ratio=p50 / c50, target="<= 1.5 x", passed=p50 / c50 <= 1.5,
                      note=f"{len(app_rtt)} round trips, {ROUNDS} alternating rounds"))
    report.add(Figure(f"relay round trip p99 [{label}]", p99, "ms", ceiling=c99,
                      ratio=p99 / c99, target="(reported)", passed=None))
    report.add(Figure(f"memory per socket [{label}]", app_kib, "KiB", ceiling=ceiling_kib,
                      ratio=app_kib / ceiling_kib if ceiling_kib > 0 else None,
                      target="<= 64 KiB", passed=app_kib <= 64))
