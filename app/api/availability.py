"""The availability cache over HTTP, between instances, and in the app's lifespan.

The cache itself (what is kept, when it is dropped) is ``booking/availability_cache.py``; this
module serves a kept answer as a response (200, or 304 for a matching ``If-None-Match``), tells
the other instances of each change over Redis pub/sub, and starts and stops the cache with the
app.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from app.api import waitlist
from app.context import AppContext
from booking import availability_changes
from booking.availability_cache import CHANNEL, SUBSCRIBE_TIMEOUT_SECONDS, Answer, AvailabilityCache
from booking.availability_changes import Offices
from core.outage import REDIS, Outage, OutageLog, outage_of
from signaling.pubsub import PubSubReader, text

log = logging.getLogger("buergerbuero.availability")

EXTRAS_KEY = "availability_cache"


class AnswerResponse(Response):
    """A kept answer as a response: its headers were built with it, nothing is re-encoded."""

    def __init__(self, answer: Answer, *, not_modified: bool = False) -> None:
        self.status_code = 304 if not_modified else 200
        self.body = b"" if not_modified else answer.body
        self.background = None
        # A copy: middleware adds to the list of each response.
        self.raw_headers = list(answer.not_modified_headers if not_modified else answer.headers)


def respond(answer: Answer, request: Request) -> Response:
    """200 with the body, or 304 when the client's ``If-None-Match`` names this answer."""
    for name, value in request.scope["headers"]:
        if name == b"if-none-match" and _matches(value.decode("latin-1"), answer.etag):
            return AnswerResponse(answer, not_modified=True)
    return AnswerResponse(answer)


def _matches(if_none_match: str, etag: str) -> bool:
    if if_none_match.strip() == "*":
        return True
    # Weak comparison (RFC 9110 §13.1.2): a W/ prefix does not matter here.
    return any(tag.strip().removeprefix("W/") == etag for tag in if_none_match.split(","))



class RedisInvalidation:
    """Tells other instances which offices changed, and hears what they tell (Redis pub/sub)."""

    def __init__(self, redis: Any, cache: AvailabilityCache, prefix: str = "buero:") -> None:
        self.redis = redis
        self.channel = prefix + CHANNEL
        self.cache = cache
        self.origin = uuid.uuid4().hex
        self._reader: PubSubReader | None = None
        self._sending: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._subscribed: asyncio.Future[None] | None = None
        self._outages = OutageLog(log)  # one line per outage, not one per booking

    async def start(self) -> None:
        """Subscribe, and return once Redis confirmed it: no change announced later is missed."""
        self._loop = asyncio.get_running_loop()
        self._subscribed = self._loop.create_future()
        self._reader = PubSubReader(self.redis.pubsub(), self._handle,
                                    name="availability-invalidation")
        await self._reader.pubsub.subscribe(self.channel)
        self._reader.start()
        async with asyncio.timeout(SUBSCRIBE_TIMEOUT_SECONDS):
            await asyncio.shield(self._subscribed)

    def publish(self, offices: Offices) -> None:
        """Send after a local commit (called from the commit listener, so it must not block)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is None or loop is not self._loop:
            return  # a commit outside this app's loop (a script): only the age bound helps
        message = json.dumps({"origin": self.origin,
                              "offices": None if offices is None else sorted(offices)})
        task = loop.create_task(self._send(message))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(self, message: str) -> None:
        try:
            await self.redis.publish(self.channel, message)
        except Exception as exc:
            self._outages.failed(outage_of(exc) or Outage(REDIS, type(exc).__name__),
                                 "publishing an availability change")
        else:
            self._outages.succeeded()

    def _handle(self, message: dict[str, Any]) -> None:
        kind = text(message.get("type"))
        if kind == "subscribe":
            # (Re)subscribed: whatever was published while we were not is lost; start afresh.
            self.cache.invalidate(None)
            if self._subscribed is not None and not self._subscribed.done():
                self._subscribed.set_result(None)
        elif kind == "message":
            try:
                data = json.loads(message["data"])
                origin, offices = data["origin"], data["offices"]
                changed = None if offices is None else frozenset(int(o) for o in offices)
            except (ValueError, KeyError, TypeError):
                log.warning("ignoring a malformed availability change message")
                self.cache.invalidate(None)
                return
            if origin != self.origin:
                self.cache.invalidate(changed)

    async def close(self) -> None:
        if self._sending:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(2):
                    await asyncio.gather(*self._sending, return_exceptions=True)
        if self._reader is not None:
            await self._reader.close()
            self._reader = None


@dataclass
class _Installed:
    cache: AvailabilityCache
    bus: RedisInvalidation | None
    unsubscribe: Callable[[], None]


async def start(state: AppContext) -> AvailabilityCache:
    """Lifespan start, after the Redis client exists (``app.calls.start_calls``)."""
    cache = AvailabilityCache(state.settings.availability_cache_seconds)
    redis = state.extras.get("redis")
    bus = (RedisInvalidation(redis, cache, state.settings.redis_prefix)
           if redis is not None and cache.enabled else None)

    def changed(offices: Offices) -> None:
        cache.invalidate(offices)
        if bus is not None:
            bus.publish(offices)

    unsubscribe = availability_changes.subscribe(state.db.engine.url, changed)
    if bus is not None:
        try:
            await bus.start()
        except BaseException:
            unsubscribe()
            await bus.close()
            raise
    state.extras[EXTRAS_KEY] = _Installed(cache, bus, unsubscribe)
    waitlist.start_trigger(state)  # its offers follow the same changes
    return cache


async def stop(state: AppContext) -> None:
    await waitlist.stop_trigger(state)
    installed = state.extras.pop(EXTRAS_KEY, None)
    if isinstance(installed, _Installed):
        installed.unsubscribe()
        if installed.bus is not None:
            await installed.bus.close()


def cache_of(state: AppContext) -> AvailabilityCache:
    installed = state.extras.get(EXTRAS_KEY)
    if not isinstance(installed, _Installed):
        raise RuntimeError("the availability cache is not running")
    return installed.cache
