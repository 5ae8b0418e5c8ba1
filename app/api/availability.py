"""The availability cache over HTTP, and its place in the app's lifespan.

The cache itself (what is kept, when it is dropped, how instances tell each other) is
``booking/availability_cache.py``; this module serves a kept answer as a response (200, or 304
for a matching ``If-None-Match``) and starts and stops the cache with the app.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from app.context import AppContext
from booking import availability_changes
from booking.availability_cache import Answer, AvailabilityCache, RedisInvalidation
from booking.availability_changes import Offices

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



@dataclass
class _Installed:
    cache: AvailabilityCache
    bus: RedisInvalidation | None
    unsubscribe: Callable[[], None]


async def start(state: AppContext) -> AvailabilityCache:
    """Lifespan start, after the Redis client exists (``app.calls.start_calls``)."""
    cache = AvailabilityCache(state.settings.availability_cache_seconds)
    redis = state.extras.get("redis")
    bus = RedisInvalidation(redis, cache) if redis is not None and cache.enabled else None

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
    return cache


async def stop(state: AppContext) -> None:
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
