"""Calls survive their backing services, with real parts: two app instances (uvicorn), a Redis
of the test's own that is killed and started again empty, aiortc peers whose media must keep
flowing, and an instance process killed with SIGKILL during a call.

Figures are printed (``-s`` shows them): calls ended, frames during the outage, time to
recover, time until the other side hears ``peer-left``.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from app.calls import hub_of
from app.cli import migrate
from app.main import create_app
from app.settings import Settings
from tests.calls.conftest import CallSite, seed_site, serve_site, two_instances
from tests.calls.peers import BLUE, RED, MediaPeer, Signal, call, eventually
from tests.calls.test_close_codes import Room
from tests.calls.test_revocation import checking
from tests.conftest import free_port, live_server
from tests.services import OwnPostgres, OwnRedis, own_postgres, own_redis

pytestmark = [pytest.mark.redis,
              pytest.mark.xdist_group("call-faults")]

__all__ = ["own_postgres", "own_redis"]  # the fixtures

SCRIPT = Path(sys.executable).with_name("buergerbuero")
CALLS = 3
OUTAGE_SECONDS = 5.0


class Call:
    def __init__(self, reference: str, citizen: Signal, clerk: Signal,
                 citizen_peer: MediaPeer, clerk_peer: MediaPeer) -> None:
        self.reference = reference
        self.citizen, self.clerk = citizen, clerk
        self.citizen_peer, self.clerk_peer = citizen_peer, clerk_peer

    def frames(self) -> tuple[int, int]:
        return self.citizen_peer.received, self.clerk_peer.received

    async def close(self) -> None:
        for peer in (self.citizen_peer, self.clerk_peer):
            await peer.close()
        for signal in (self.citizen, self.clerk):
            await signal.close()


async def open_call(site: CallSite, citizen_base: str) -> Call:
    """A citizen on ``citizen_base``, the clerk on the site's instance, admitted, media up."""
    room = await Room.open(site, citizen_base=citizen_base)
    servers = room.welcome["ice_servers"]
    opened = Call(room.reference, room.citizen, room.clerk, MediaPeer(servers, RED),
                  MediaPeer(servers, BLUE))
    await call(room.citizen, room.clerk, opened.citizen_peer, opened.clerk_peer)
    return opened


async def test_a_redis_outage_ends_no_call(settings: Settings, own_redis: OwnRedis) -> None:
    """Redis is killed for 5 s during three calls (citizens on A, clerks on B) and comes back
    empty: no socket closes, video keeps arriving on both sides throughout, both sides are told
    "interrupted" and then "restored", admissions hold, and signalling works afterwards."""
    redis = own_redis
    async with two_instances(settings, redis.url) as two:
        site = await seed_site(two.app_b, two.base_b, two.http_b)
        calls = [await open_call(site, two.base_a) for _ in range(CALLS)]
        try:
            before = [c.frames() for c in calls]
            redis.kill()
            down_at = time.monotonic()
            for c in calls:  # each instance notices at its next sweep (every 3 s)
                await c.citizen.expect("interrupted")
                await c.clerk.expect("interrupted")
            await asyncio.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - down_at)))
            during = [c.frames() for c in calls]
            redis.start()
            up_at = time.monotonic()
            for c in calls:
                await c.citizen.expect("restored")
                await c.clerk.expect("restored")
            recovered = time.monotonic() - up_at
            after = [c.frames() for c in calls]
            for b, d, a in zip(before, during, after, strict=True):
                assert d[0] > b[0] + 30 and d[1] > b[1] + 30, (b, d)  # ~30 fps flowed on
                assert a[0] >= d[0] and a[1] >= d[1]
            for c in calls:
                snapshot = await hub_of(site.state).snapshot(c.reference)
                assert snapshot.admitted and snapshot.citizen and snapshot.clerk, snapshot
                assert c.citizen_peer.pc.connectionState == "connected"
                await c.clerk.send({"type": "candidate", "candidate": None})
                assert await c.citizen.expect("candidate") == {"type": "candidate",
                                                                "candidate": None}
            ended = sum(1 for c in calls
                        if c.citizen.ws.close_code is not None
                        or c.clerk.ws.close_code is not None)
            assert ended == 0
            print(f"\nRedis outage of {OUTAGE_SECONDS:.0f} s during {CALLS} calls: "
                  f"{ended} calls ended; frames received during the outage per call "
                  f"{[d[0] - b[0] for b, d in zip(before, during, strict=True)]}; "
                  f"signalling restored {recovered:.1f} s after Redis came back")
        finally:
            for c in calls:
                await c.close()


async def instance_process(settings: Settings, redis_url: str, workdir: Path
                           ) -> tuple[subprocess.Popen[bytes], str]:
    """``buergerbuero serve --no-worker`` as its own process, on the test's database."""
    port = free_port()
    env = {
        **os.environ,
        "BUERO_ENV": "test", "BUERO_DATABASE_URL": settings.database_url,
        "BUERO_SECRET_KEY": settings.secret_key or "", "BUERO_REDIS_URL": redis_url,
        "BUERO_REDIS_PREFIX": settings.redis_prefix,  # one installation with the in-process app
        "BUERO_VAR_DIR": str(workdir), "BUERO_RATE_LIMITS_ENABLED": "false",
        "BUERO_BASE_URL": "http://testserver",
    }
    log = (workdir / "instance.log").open("wb")
    popen = subprocess.Popen(
        [str(SCRIPT), "serve", "--no-worker", "--host", "127.0.0.1", "--port", str(port)],
        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=workdir)
    log.close()
    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=base, timeout=5) as http:

        async def ready() -> bool:
            assert popen.poll() is None, (workdir / "instance.log").read_text()
            try:
                return (await http.get("/readyz")).status_code == 200
            except httpx.TransportError:
                return False

        await eventually(ready, timeout=60)
    return popen, base


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_a_killed_instance_is_peer_left_within_15_s(
    settings: Settings, tmp_path: Path, own_redis: OwnRedis
) -> None:
    """The citizen's instance is killed (SIGKILL: nothing is torn down); the clerk on the
    other instance hears peer-left within 15 s and the agenda stops showing the citizen."""
    workdir = tmp_path / "instance-a"
    workdir.mkdir()
    redis = own_redis
    # A new database that instance A migrates as it starts (``serve`` migrates first).
    shared = settings.model_copy(update={
        "redis_url": redis.url, "database_url": f"sqlite+aiosqlite:///{workdir}/buero.db"})
    popen, base_a = await instance_process(shared, redis.url, workdir)
    app_b = create_app(shared)
    async with live_server(app_b) as base_b, httpx.AsyncClient(base_url=base_b,
                                                               timeout=30) as http_b:
        site = await seed_site(app_b, base_b, http_b)
        try:
            reference, token = await site.appointment()
            citizen = await Signal.open(base_a)
            await citizen.hello(token)
            await citizen.expect("waiting")
            clerk_token = await site.call_token(reference)
            clerk = await Signal.open(base_b)
            await clerk.hello(clerk_token)
            await clerk.expect("peer-waiting")
            await clerk.send({"type": "admit"})
            await clerk.expect("start", initiator=True)
            await citizen.expect("start", initiator=False)
            popen.kill()
            popen.wait(10)
            killed_at = time.monotonic()
            await clerk.expect("peer-left", timeout=15)
            heard = time.monotonic() - killed_at
            assert not (await hub_of(site.state).snapshot(reference)).citizen

            async def recorded() -> bool:
                return ("left", "citizen", None) in await site.events(reference)

            assert await eventually(recorded)
            print(f"\ninstance killed during a call: the clerk heard peer-left after "
                  f"{heard:.1f} s")
            await clerk.close()
        finally:
            if popen.poll() is None:
                popen.kill()
                popen.wait(10)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # replaced by its own cluster
async def test_a_database_outage_ends_no_call(settings: Settings, own_postgres: OwnPostgres,
                                              caplog: pytest.LogCaptureFixture) -> None:
    """PostgreSQL stops during a call: the call relays on, the periodic token check keeps it
    (instead of closing it), a new connection is asked to try again (1013, not final), and the
    log has one line for the outage, not a traceback per try."""
    url = own_postgres.url
    await asyncio.to_thread(migrate, url)
    async with serve_site(settings.model_copy(update={"database_url": url})) as site:
        hub = checking(hub_of(site.state))
        room = await Room.open(site)
        _, late_token = await site.appointment()
        await asyncio.to_thread(own_postgres.stop)
        try:
            await hub.sweep()  # the token check fails: the calls stay
            await room.still_works()
            late = await Signal.open(site.base)
            await late.send({"type": "hello", "token": late_token})
            assert await late.closed_with(1013) == []
            await hub.sweep()
        finally:
            await asyncio.to_thread(own_postgres.start)
        await room.still_works()
        late = await Signal.open(site.base)
        await late.hello(late_token)
        await late.expect("waiting")
        await late.close()
    warnings = [r for r in caplog.records if r.name == "buergerbuero.calls"
                and r.levelname == "WARNING"]
    assert len(warnings) <= 2 and all(r.exc_info is None for r in warnings), warnings
