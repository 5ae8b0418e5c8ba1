"""The video call wired into the app: the signalling hub with its authorizer, event sink and ICE
servers, built in the lifespan.

The hub (``signaling.Hub``) knows nothing about appointments. Here a ``hello`` token becomes a
``Grant``: a citizen's link token for a confirmed (or running) appointment, or a clerk's call
token from ``POST /api/v1/clerk/appointments/{reference}/call-token``. The room is the
appointment's reference; the join window opens ``join_before_minutes`` before the start and
closes ``join_after_minutes`` after the end. Unknown, expired or revoked tokens close with 4401;
a valid token for an appointment that cannot be called (reserved, cancelled, completed, another
office) closes with 4403 — the same code as outside the window, so nothing helps guessing.

One instance: the room store and the bus are in memory. With ``BUERO_REDIS_URL`` they live in
Redis, and a citizen on one instance meets a clerk on another.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis

from app.context import AppContext
from app.metrics import metrics_of
from app.settings import Settings
from booking.models import Appointment
from booking.service import find_by_token
from calls.echo import ConnectionTests, EchoConfig
from calls.service import (
    CALLABLE,
    StaffRef,
    find_call_token,
    join_window,
    may_join_as_clerk,
    record_call_event,
)
from core.errors import Unauthorized
from core.types import utcnow
from signaling import (
    CloseCode,
    Event,
    Grant,
    Hub,
    IceConfig,
    Limits,
    ProtocolError,
    RedisBus,
    RedisRoomStore,
    Role,
)

log = logging.getLogger("buergerbuero.calls")

# How many rooms' clerks an instance remembers for the audit trail (the newest win).
_CLERK_MEMORY = 4096


def ice_config(settings: Settings) -> IceConfig:
    return IceConfig(
        stun_urls=settings.stun_list(),
        turn_urls=settings.turn_list(),
        secret=settings.turn_secret,
        ttl_seconds=settings.turn_ttl_seconds,
    )


class CallGate:
    """The hub's authorizer and event sink, over the app's database."""

    def __init__(self, state: AppContext) -> None:
        self.state = state
        # The clerk's staff user per room, for the audit trail: the hub reports events by
        # reference and role only. Events of the clerk's connection are reported by the
        # instance that holds it, which is the one that authorized it.
        self._clerks: OrderedDict[str, StaffRef] = OrderedDict()

    async def authorize(self, token: str) -> Grant | None:
        """``None`` (4401) for a token we do not know; ``ProtocolError(4403)`` for a valid token
        that may not join (now); a ``Grant`` otherwise (the hub checks the window)."""
        now = utcnow()
        state = self.state
        staff: StaffRef | None = None
        appointment: Appointment
        role: Role
        async with state.db.transaction() as session:
            # A link token is exactly 43 URL-safe characters (and may start with anything); a
            # call token is longer, with its prefix.
            if state.links.looks_like_token(token):
                try:
                    appointment = await find_by_token(session, state.links, token, now)
                except Unauthorized:
                    return None
                role = "citizen"
            else:
                found = await find_call_token(session, state.secret_key, token, now)
                if found is None:
                    return None
                appointment, user = found
                if not await may_join_as_clerk(session, user, appointment.office_id):
                    raise ProtocolError(CloseCode.FORBIDDEN, "not one of the clerk's offices")
                staff, role = StaffRef.of(user), "clerk"
        if appointment.status not in CALLABLE:
            raise ProtocolError(CloseCode.FORBIDDEN, f"appointment is {appointment.status}")
        settings = state.settings
        window = join_window(appointment, settings.join_before_minutes,
                             settings.join_after_minutes)
        if staff is not None:
            self._remember(appointment.reference, staff)
        return Grant(room=appointment.reference, role=role, reference=appointment.reference,
                     opens_at=window.opens_at, closes_at=window.closes_at)

    async def on_event(self, reference: str, event: Event, role: Role) -> None:
        metrics_of(self.state).call_event(reference, event, role)
        staff = self._clerks.get(reference) if role == "clerk" else None
        async with self.state.db.transaction(write=True) as session:
            known = await record_call_event(session, reference, event, role, staff=staff,
                                            now=utcnow())
        if not known:
            log.warning("call event %s for an unknown appointment", event)

    def _remember(self, reference: str, staff: StaffRef) -> None:
        self._clerks[reference] = staff
        self._clerks.move_to_end(reference)
        while len(self._clerks) > _CLERK_MEMORY:
            self._clerks.popitem(last=False)


def build_hub(state: AppContext, redis: Redis[bytes] | None) -> Hub:
    settings = state.settings
    gate = CallGate(state)
    return Hub(
        gate.authorize,
        store=RedisRoomStore(redis) if redis is not None else None,
        bus=RedisBus(redis) if redis is not None else None,
        on_event=gate.on_event,
        ice_servers=ice_config(settings),
        limits=Limits(hello_timeout=settings.call_hello_timeout_seconds),
    )


def echo_config(settings: Settings) -> EchoConfig:
    return EchoConfig(
        max_concurrent=settings.connection_test_max_concurrent,
        seconds=settings.connection_test_seconds,
        stun_urls=tuple(settings.stun_list()), turn_urls=tuple(settings.turn_list()),
        turn_secret=settings.turn_secret, turn_ttl_seconds=settings.turn_ttl_seconds,
    )


async def start_calls(state: AppContext) -> None:
    """Lifespan start: the Redis client (when configured), the hub, the connection tests."""
    settings = state.settings
    redis: Redis[bytes] | None = None
    try:
        if settings.redis_url:
            # A blocking pool: under a burst (many rooms closing at once) a command waits for a
            # free connection instead of failing with "Too many connections".
            pool: BlockingConnectionPool[Any] = BlockingConnectionPool.from_url(
                settings.redis_url, max_connections=200, timeout=20
            )
            redis = Redis.from_pool(pool)  # type: ignore[attr-defined]  # stubs predate it
            state.extras["redis"] = redis
        hub = build_hub(state, redis)
        state.extras["hub"] = hub
        await hub.start()
        state.extras["connection_tests"] = ConnectionTests(echo_config(settings), redis)
    except BaseException:
        await stop_calls(state)  # e.g. Redis unreachable: leave no connection behind
        raise


async def stop_calls(state: AppContext) -> None:
    """Lifespan end: close calls (clients reconnect to another instance), tests, Redis."""
    tests = state.extras.pop("connection_tests", None)
    if isinstance(tests, ConnectionTests):
        await tests.aclose()
    hub = state.extras.pop("hub", None)
    if isinstance(hub, Hub):
        await hub.aclose()
    # Any: the redis-py stubs in use predate Redis.aclose().
    redis: Any = state.extras.pop("redis", None)
    if redis is not None:
        await redis.aclose()


def hub_of(state: AppContext) -> Hub:
    hub = state.extras.get("hub")
    if not isinstance(hub, Hub):
        raise RuntimeError("the call hub is not running")
    return hub

