"""Connections: every close code, timers, rate limit, dead and slow peers, sweep, serve()."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any

import pytest

from signaling import Grant, Hub, Limits, MemoryRoomStore
from signaling.protocol import MAX_FRAME_BYTES
from signaling.ratelimit import TokenBucket
from signaling.session import Turn
from signaling.store import Holding, Presence
from tests.signaling.conftest import Backend, HubFactory
from tests.signaling.helpers import Events, FakeConnection, Peer, Tokens, grant


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


async def joined_pair(hub: Hub, tokens: Tokens, room: str = "r", quiet: float = 0.05,
                      **window: Any) -> tuple[Peer, Peer]:
    """A citizen (token ``c-{room}``) and a clerk (``k-{room}``) in a running call; ``window``
    goes to ``grant`` (``closes=``)."""
    tokens.add(f"c-{room}", grant(room, "citizen", **window))
    tokens.add(f"k-{room}", grant(room, "clerk", **window))
    citizen, clerk = Peer(hub, quiet=quiet), Peer(hub, quiet=quiet)
    await citizen.hello(f"c-{room}")
    await citizen.expect("waiting")
    await clerk.hello(f"k-{room}")
    await clerk.expect("peer-waiting")
    await clerk.send({"type": "admit"})
    await clerk.expect("start")
    await citizen.expect("start")
    return citizen, clerk


# --- before hello ------------------------------------------------------------------------------


async def test_no_hello_in_time_is_4408(make_hub: HubFactory) -> None:
    hub = await make_hub(Tokens(), limits=Limits(hello_timeout=0.1))
    silent = Peer(hub)
    assert await silent.expect_closed(4408) == []
    await asyncio.wait_for(silent.session.teardown_task or asyncio.sleep(0), 1)
    assert hub.connections == 0


async def test_hello_in_time_stops_the_timer(make_hub: HubFactory) -> None:
    tokens = Tokens()
    tokens.add("t", grant("r", "citizen"))
    hub = await make_hub(tokens, limits=Limits(hello_timeout=0.1))
    peer = Peer(hub)
    silent = Peer(hub)  # attached after it: its timer runs out after the peer's would have
    await peer.hello("t")
    await peer.expect("waiting")
    await silent.expect_closed(4408)
    assert not peer.conn.closed.is_set()


@pytest.mark.parametrize("frame", [
    {"type": "admit"},
    {"type": "offer", "sdp": "v=0"},
    {"type": "ping"},
    {"type": "bye"},
    "not json",
    '{"type": "welcome"}',
    b"\x00\x01",
])
async def test_anything_but_hello_first_is_4400(
    make_hub: HubFactory, frame: dict[str, Any] | str | bytes
) -> None:
    tokens = Tokens()
    hub = await make_hub(tokens)
    peer = Peer(hub)
    await peer.send(frame)
    await peer.expect_closed(4400)
    assert tokens.seen == []  # the authorizer was never asked


async def test_second_hello_is_4400_and_tells_the_peer(make_hub: HubFactory, backend: Backend
                                                        ) -> None:
    tokens = Tokens()
    hub = await make_hub(tokens)
    citizen, clerk = await joined_pair(hub, tokens, quiet=backend.quiet)
    await citizen.send({"type": "hello", "token": "c-r"})
    await citizen.expect_closed(4400)
    await clerk.expect("peer-left")


@pytest.mark.parametrize(("frame", "code"), [
    ("{nope", 4400),
    ('{"type": "teleport"}', 4400),
    ('{"type": "offer", "sdp": 5}', 4400),
    ('{"type": "candidate", "candidate": "a=candidate:1"}', 4400),
    ('{"type": "bye", "please": true}', 4400),
    (b'{"type": "bye"}', 4400),
    ('{"type": "offer", "sdp": "' + "a" * MAX_FRAME_BYTES + '"}', 4413),
])
async def test_bad_frames_in_a_call_close_with_their_code(
    make_hub: HubFactory, backend: Backend, frame: str | bytes, code: int
) -> None:
    tokens = Tokens()
    hub = await make_hub(tokens)
    citizen, clerk = await joined_pair(hub, tokens, quiet=backend.quiet)
    await clerk.send(frame)
    await clerk.expect_closed(code)
    await citizen.expect("peer-left")
    await citizen.nothing()  # the bad frame was not relayed


async def test_frame_over_64_kib_before_hello_is_4413(make_hub: HubFactory) -> None:
    hub = await make_hub(Tokens())
    peer = Peer(hub)
    await peer.send("x" * (MAX_FRAME_BYTES + 1))
    await peer.expect_closed(4413)


async def test_frames_after_close_are_ignored(make_hub: HubFactory) -> None:
    tokens = Tokens()
    hub = await make_hub(tokens)
    peer = Peer(hub)
    await peer.send("garbage")
    await peer.send({"type": "hello", "token": "x"})
    await peer.expect_closed(4400)
    assert tokens.seen == []
    assert peer.conn.close_calls == 1
    assert peer.conn.sends_after_close == 0


# --- rate limit --------------------------------------------------------------------------------


def test_token_bucket() -> None:
    clock = Clock()
    bucket = TokenBucket(rate=50, burst=100, clock=clock)
    assert all(bucket.allow() for _ in range(100))
    assert not bucket.allow()
    clock.t += 0.1  # 5 tokens back
    assert [bucket.allow() for _ in range(6)] == [True] * 5 + [False]
    clock.t += 60  # refills only up to the burst
    assert sum(bucket.allow() for _ in range(150)) == 100
    with pytest.raises(ValueError):
        TokenBucket(rate=0, burst=1)


async def test_message_flood_is_4429(make_hub: HubFactory, backend: Backend) -> None:
    clock = Clock()
    tokens = Tokens()
    hub = await make_hub(tokens, monotonic=clock)
    citizen, clerk = await joined_pair(hub, tokens, quiet=backend.quiet)
    # hello and admit used 2 of the clerk's 100; 98 candidates pass in one burst ...
    for n in range(98):
        await clerk.send({"type": "candidate", "candidate": {"candidate": f"c{n}"}})
    for _ in range(98):
        await citizen.recv()
    assert not clerk.conn.closed.is_set()
    # ... and the sustained rate refills: 0.1 s later there are 5 more.
    clock.t += 0.1
    for _ in range(5):
        await clerk.send({"type": "ping"})
    await clerk.send({"type": "ping"})
    messages = await clerk.expect_closed(4429)
    assert messages == [{"type": "pong"}] * 5
    await citizen.expect("peer-left")


async def test_rate_limit_is_per_connection(make_hub: HubFactory) -> None:
    clock = Clock()
    tokens = Tokens()
    hub = await make_hub(tokens, monotonic=clock, limits=Limits(rate=1, burst=3))
    citizen, clerk = await joined_pair(hub, tokens)
    await citizen.send({"type": "ping"})  # citizen: hello + ping = 2 of 3
    await citizen.expect("pong")
    await clerk.send({"type": "ping"})  # clerk: hello, admit, ping = 3 of 3
    await clerk.expect("pong")
    await clerk.send({"type": "ping"})
    await clerk.expect_closed(4429)
    await citizen.expect("peer-left")
    await citizen.send({"type": "ping"})
    await citizen.expect("pong")


# --- the authorizer ----------------------------------------------------------------------------


async def test_a_failing_authorizer_closes_with_1011(make_hub: HubFactory) -> None:
    async def broken(token: str) -> Grant | None:
        raise RuntimeError("database down")

    hub = await make_hub(broken)
    peer = Peer(hub)
    await peer.send({"type": "hello", "token": "t"})
    await peer.expect_closed(1011)


async def test_a_hanging_authorizer_closes_with_1011(make_hub: HubFactory) -> None:
    async def hanging(token: str) -> Grant | None:
        await asyncio.Event().wait()
        return None

    hub = await make_hub(hanging, limits=Limits(authorize_timeout=0.1))
    peer = Peer(hub)
    await peer.send({"type": "hello", "token": "t"})
    await peer.expect_closed(1011)


async def test_socket_lost_while_authorizing_leaves_no_ghost(
    make_hub: HubFactory, backend: Backend
) -> None:
    gate = asyncio.Event()
    tokens = Tokens()
    tokens.add("t", grant("r", "citizen"))

    async def slow(token: str) -> Grant | None:
        await gate.wait()
        return await tokens(token)

    hub = await make_hub(slow)
    peer = Peer(hub, quiet=backend.quiet)
    feeding = asyncio.create_task(peer.send({"type": "hello", "token": "t"}))
    await asyncio.sleep(0.02)
    detaching = asyncio.create_task(peer.session.detach())
    await asyncio.sleep(0.02)
    gate.set()
    await asyncio.gather(feeding, detaching)
    assert not await hub.is_waiting("r")
    assert not (await hub.snapshot("r")).citizen
    assert hub.connections == 0


async def test_racing_connections_of_one_role_leave_exactly_one(
    make_hub: HubFactory, backend: Backend
) -> None:
    """Two reloads of the citizen page hit the hub at once: one wins, the other gets 4409."""
    gate = asyncio.Event()
    tokens = Tokens()
    tokens.add("t", grant("r", "citizen"))

    async def gated(token: str) -> Grant | None:
        await gate.wait()
        return await tokens(token)

    hub = await make_hub(gated)
    a, b = Peer(hub, quiet=backend.quiet), Peer(hub, quiet=backend.quiet)
    sends = asyncio.gather(a.send({"type": "hello", "token": "t"}),
                           b.send({"type": "hello", "token": "t"}))
    await asyncio.sleep(0.02)
    gate.set()
    await sends
    await asyncio.sleep(backend.quiet)
    closed = [p for p in (a, b) if p.conn.closed.is_set()]
    alive = [p for p in (a, b) if not p.conn.closed.is_set()]
    assert len(closed) == 1 and len(alive) == 1
    assert closed[0].conn.close_code == 4409
    assert alive[0].session.holder
    await hub.sweep()  # the store agrees: the survivor keeps its role
    await asyncio.sleep(backend.quiet)
    assert not alive[0].conn.closed.is_set()
    assert await hub.is_waiting("r")


# --- dead and slow peers -----------------------------------------------------------------------


async def test_a_stalled_peer_is_dropped_and_others_keep_going(make_hub: HubFactory) -> None:
    tokens = Tokens()
    hub = await make_hub(tokens, limits=Limits(send_timeout=0.2))
    tokens.add("stuck", grant("r1", "citizen"))
    stuck = Peer(hub, conn=FakeConnection(stall=True))
    await stuck.send({"type": "hello", "token": "stuck"})  # welcome never gets out
    citizen, clerk = await joined_pair(hub, tokens, room="r2")
    await clerk.send({"type": "offer", "sdp": "v=0"})
    assert (await citizen.recv())["type"] == "offer"
    await asyncio.wait_for(stuck.conn.closed.wait(), 2)
    assert stuck.conn.close_code == 1001
    for _ in range(100):
        if not await hub.is_waiting("r1"):
            break
        await asyncio.sleep(0.01)
    assert not await hub.is_waiting("r1")


async def test_a_peer_that_cannot_keep_up_is_dropped(make_hub: HubFactory) -> None:
    tokens = Tokens()
    hub = await make_hub(tokens, limits=Limits(send_timeout=0.3, outbox_size=5))
    citizen, clerk = await joined_pair(hub, tokens)
    citizen.conn.stall = True
    for n in range(10):
        await clerk.send({"type": "candidate", "candidate": {"candidate": f"c{n}"}})
    assert citizen.session.state == "closing"  # given up at once, closed after the timeout
    await asyncio.wait_for(citizen.conn.closed.wait(), 2)
    assert citizen.conn.close_code == 1013
    await clerk.expect("peer-left")


async def test_a_send_that_has_to_wait_keeps_the_order_and_blocks_no_one(
    make_hub: HubFactory,
) -> None:
    """Sends start in the caller; one that must wait finishes in a task while later messages
    queue behind it, and the sender's own messages are handled meanwhile."""
    tokens = Tokens()
    hub = await make_hub(tokens)
    citizen, clerk = await joined_pair(hub, tokens)
    gate = asyncio.Event()
    send = citizen.conn.send

    async def slow_first(message: dict[str, Any] | str) -> None:
        if not gate.is_set():
            await gate.wait()  # a full TCP window, once
        await send(message)

    citizen.conn.send = slow_first  # type: ignore[method-assign]
    for n in range(3):
        await clerk.send({"type": "candidate", "candidate": {"candidate": f"c{n}"}})
    await clerk.send({"type": "ping"})
    await clerk.expect("pong")  # the clerk's messages were handled while the citizen's waited
    await citizen.nothing()
    gate.set()
    for n in range(3):
        assert (await citizen.expect("candidate"))["candidate"]["candidate"] == f"c{n}"
    await clerk.send({"type": "candidate", "candidate": {"candidate": "c3"}})
    assert (await citizen.expect("candidate"))["candidate"]["candidate"] == "c3"


async def test_transport_lost_tells_the_peer(make_hub: HubFactory, backend: Backend) -> None:
    tokens, events = Tokens(), Events()
    hub = await make_hub(tokens, on_event=events)
    citizen, clerk = await joined_pair(hub, tokens, quiet=backend.quiet)
    await clerk.leave_transport()
    await citizen.expect("peer-left")
    assert events.items[-1] == ("REF-r", "left", "clerk")
    await citizen.send({"type": "offer", "sdp": "v=0"})
    await citizen.nothing()


# --- sweep -------------------------------------------------------------------------------------


async def test_sweep_backstops_the_hello_timer(make_hub: HubFactory) -> None:
    clock = Clock()
    hub = await make_hub(Tokens(), monotonic=clock, limits=Limits(hello_timeout=5))
    peer = Peer(hub)
    await hub.sweep()
    assert not peer.conn.closed.is_set()
    clock.t += 6
    await hub.sweep()
    await peer.expect_closed(4408)


async def test_sweep_closes_idle_connections_when_configured(make_hub: HubFactory) -> None:
    clock = Clock()
    tokens = Tokens()
    hub = await make_hub(tokens, monotonic=clock, limits=Limits(idle_timeout=30))
    citizen, clerk = await joined_pair(hub, tokens)
    clock.t += 20
    await citizen.send({"type": "ping"})  # a keepalive
    await citizen.expect("pong")
    clock.t += 15
    await hub.sweep()
    await clerk.expect_closed(1001, timeout=2)
    assert not citizen.conn.closed.is_set()
    await citizen.expect("peer-left")


async def test_sweep_drops_a_connection_that_lost_its_role(make_hub: HubFactory) -> None:
    tokens = Tokens()
    hub = await make_hub(tokens)
    citizen, clerk = await joined_pair(hub, tokens)
    # As if the replacement's message had been lost on the bus.
    assert await hub.store.leave("r", "citizen", citizen.session.id)
    await hub.store.join("r", "citizen", "elsewhere", grant("r", "citizen").closes_at)
    await hub.sweep()
    await citizen.expect_closed(4409)
    await clerk.nothing()  # the clerk's call is with the newer connection: no peer-left


class CountingStore(MemoryRoomStore):
    """Counts the lease refreshes, so a test can wait for the hub's loop to have run."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.refreshes = 0

    async def refresh(self, holders: Sequence[Holding]) -> list[Presence]:
        self.refreshes += 1
        return await super().refresh(holders)


async def swept(store: CountingStore) -> None:
    """Wait until the hub's maintenance loop has refreshed the leases once more."""
    seen = store.refreshes
    async with asyncio.timeout(2):
        while store.refreshes == seen:
            await asyncio.sleep(0.01)


async def test_sweep_keeps_presence_alive() -> None:
    """Leases expire unless the hub's maintenance loop refreshes them. The store's clock is
    moved forward; only the loop's short interval passes on the wall clock."""
    clock = Clock()
    tokens = Tokens()
    store = CountingStore(lease_seconds=30, clock=clock)
    hub = Hub(tokens, store=store, limits=Limits(sweep_interval=0.01))
    async with hub:
        tokens.add("t", grant("r", "citizen"))
        peer = Peer(hub)
        await peer.hello("t")
        for _ in range(4):  # 80 s in all, well past the 30 s lease
            clock.t += 20
            await swept(store)
            assert await hub.is_waiting("r")
    unswept_store = CountingStore(lease_seconds=30, clock=clock)
    unswept = Hub(tokens, store=unswept_store, limits=Limits(sweep_interval=60))
    async with unswept:
        peer = Peer(unswept)
        await peer.hello("t")
        clock.t += 29
        assert await unswept.is_waiting("r")
        clock.t += 2
        assert not await unswept.is_waiting("r")
        assert unswept_store.refreshes == 0


async def test_maintenance_loop_closes_idle_connections() -> None:
    tokens = Tokens()
    tokens.add("t", grant("r", "citizen"))
    clock = Clock()
    store = CountingStore()
    async with Hub(tokens, store=store, monotonic=clock,
                   limits=Limits(sweep_interval=0.01, idle_timeout=30)) as hub:
        peer = Peer(hub)
        await peer.hello("t")
        clock.t += 29
        await swept(store)  # not idle long enough yet
        assert not peer.conn.closed.is_set()
        clock.t += 2
        await peer.expect_closed(1001, timeout=2)


# --- serve() and shutdown ----------------------------------------------------------------------


class Socket:
    """A transport fed by the test: ``receive()`` as the endpoint would call it."""

    def __init__(self) -> None:
        self.conn = FakeConnection()
        self.frames: asyncio.Queue[str | bytes | None] = asyncio.Queue()

    async def receive(self) -> str | bytes | None:
        return await self.frames.get()

    def push(self, message: dict[str, Any] | None) -> None:
        self.frames.put_nowait(None if message is None else json.dumps(message))

    async def recv(self) -> dict[str, Any]:
        return await asyncio.wait_for(self.conn.inbox.get(), 3)


async def test_serve_runs_a_call_to_its_end() -> None:
    tokens, events = Tokens(), Events()
    tokens.add("c", grant("r", "citizen"))
    tokens.add("k", grant("r", "clerk"))
    async with Hub(tokens, on_event=events) as hub:
        cit, clk = Socket(), Socket()
        serving = [asyncio.create_task(hub.serve(s.conn, s.receive)) for s in (cit, clk)]
        cit.push({"type": "hello", "token": "c"})
        assert (await cit.recv())["type"] == "welcome"
        assert (await cit.recv())["type"] == "waiting"
        clk.push({"type": "hello", "token": "k"})
        assert (await clk.recv())["type"] == "welcome"
        assert (await clk.recv())["type"] == "peer-waiting"
        clk.push({"type": "admit"})
        assert await clk.recv() == {"type": "start", "initiator": True}
        assert await cit.recv() == {"type": "start", "initiator": False}
        clk.push({"type": "offer", "sdp": "v=0"})
        assert await cit.recv() == {"type": "offer", "sdp": "v=0"}
        cit.push(None)  # the citizen's socket is gone
        await asyncio.wait_for(serving[0], 2)
        assert await clk.recv() == {"type": "peer-left"}
        clk.push({"type": "end"})  # the server closes: serve returns without another frame
        await asyncio.wait_for(serving[1], 2)
        assert clk.conn.close_code == 1000
        assert hub.connections == 0
        assert [e for _, e, _ in events.items] == [
            "joined", "joined", "admitted", "connected", "left", "ended"]


async def test_serve_returns_when_the_server_closes() -> None:
    async with Hub(Tokens(), limits=Limits(hello_timeout=0.1)) as hub:
        sock = Socket()
        await asyncio.wait_for(hub.serve(sock.conn, sock.receive), 2)
        assert sock.conn.close_code == 4408
        assert hub.connections == 0


async def test_serve_detaches_when_receive_fails() -> None:
    tokens = Tokens()
    tokens.add("c", grant("r", "citizen"))
    async with Hub(tokens) as hub:
        sock = Socket()
        calls = 0

        async def receive() -> str | bytes | None:
            nonlocal calls
            calls += 1
            if calls == 1:
                return json.dumps({"type": "hello", "token": "c"})
            raise ConnectionResetError

        with pytest.raises(ConnectionResetError):
            await hub.serve(sock.conn, receive)
        assert hub.connections == 0
        assert not await hub.is_waiting("r")


async def test_shutdown_closes_everyone_with_1001() -> None:
    tokens = Tokens()
    hub = Hub(tokens)
    await hub.start()
    citizen, clerk = await joined_pair(hub, tokens)
    fresh = Peer(hub)
    await hub.aclose()
    for peer in (citizen, clerk, fresh):
        assert peer.conn.close_code == 1001
    assert hub.connections == 0
    with pytest.raises(RuntimeError):
        hub.attach(FakeConnection())


async def test_attach_needs_a_started_hub() -> None:
    with pytest.raises(RuntimeError):
        Hub(Tokens()).attach(FakeConnection())


async def test_cancelling_serve_leaves_the_room() -> None:
    """The server cancels the endpoint task (shutdown, client gone mid-read)."""
    tokens = Tokens()
    tokens.add("c", grant("r", "citizen"))
    async with Hub(tokens) as hub:
        sock = Socket()
        sock.push({"type": "hello", "token": "c"})
        task = asyncio.create_task(hub.serve(sock.conn, sock.receive))
        assert (await sock.recv())["type"] == "welcome"
        assert (await sock.recv())["type"] == "waiting"
        assert await hub.is_waiting("r")
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert hub.connections == 0
        assert not await hub.is_waiting("r")


# --- the per-session turn (the lock of messages and teardown) ---------------------------------


async def test_turn_is_exclusive_and_handed_over_in_order() -> None:
    turn = Turn()
    assert turn.take() and turn.locked()
    assert not turn.take()  # held: a second taker must wait
    order: list[str] = []

    async def waiter(name: str) -> None:
        async with turn:
            order.append(name)
            await asyncio.sleep(0)
            order.append(name + " done")

    first = asyncio.create_task(waiter("a"))
    second = asyncio.create_task(waiter("b"))
    await asyncio.sleep(0.01)
    assert order == []  # both wait for the holder
    turn.release()
    await asyncio.gather(first, second)
    assert order == ["a", "a done", "b", "b done"]
    assert not turn.locked()
    assert turn.take()


async def test_turn_waiter_cancelled_while_waiting_is_skipped() -> None:
    turn = Turn()
    assert turn.take()
    cancelled = asyncio.create_task(turn.acquire())
    later = asyncio.create_task(turn.acquire())
    await asyncio.sleep(0)
    cancelled.cancel()
    turn.release()  # before the cancelled waiter ran again
    await asyncio.gather(cancelled, return_exceptions=True)
    assert cancelled.cancelled()
    await asyncio.wait_for(later, 1)  # the turn went past the cancelled waiter
    assert turn.locked()
    turn.release()
    assert not turn.locked()


async def test_turn_handed_to_a_waiter_cancelled_before_it_ran_is_passed_on() -> None:
    turn = Turn()
    assert turn.take()
    doomed = asyncio.create_task(turn.acquire())
    later = asyncio.create_task(turn.acquire())
    await asyncio.sleep(0)
    turn.release()  # handed to doomed ...
    doomed.cancel()  # ... which is cancelled before it runs
    await asyncio.gather(doomed, return_exceptions=True)
    assert doomed.cancelled()
    await asyncio.wait_for(later, 1)
    turn.release()
    assert not turn.locked()


async def test_a_frame_waits_for_the_teardown_in_progress(make_hub: HubFactory) -> None:
    tokens = Tokens()
    hub = await make_hub(tokens)
    citizen, clerk = await joined_pair(hub, tokens)
    await citizen.session.lock.acquire()  # as the teardown holds it
    task = asyncio.create_task(citizen.send({"type": "candidate", "candidate": None}))
    await asyncio.sleep(0.05)
    assert not task.done()  # the frame waits its turn
    citizen.session.state = "closed"
    citizen.session.lock.release()
    await asyncio.wait_for(task, 1)
    await clerk.nothing()  # handled after the teardown: dropped, not relayed
    # The rest of the teardown this test stood in for: the transport goes (else the hub's
    # close would wait its whole grace period for a socket nobody closes).
    await citizen.leave_transport()
    assert hub.connections == 1
