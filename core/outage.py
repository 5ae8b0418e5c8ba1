"""Outages of the services behind the app (the database, Redis), told apart from bugs, and
logged once per burst instead of once per failure.

``outage_of(exc)`` names the service an exception says cannot be reached right now: a refused
or lost connection, a server shutting down or starting up, a timeout, too many clients, SQLite
busy. Anything else is ``None`` and stays what it is (a bug: a 500 with its traceback). The
exception, its causes and the driver's original error are looked at; a bare ``OSError`` counts
when it was raised inside a database or Redis client.

``OutageLog`` keeps the log readable while a service is away: the first failure of a burst logs
one warning (what failed and why, no traceback: a driver's message may quote SQL parameters),
later ones are only counted, and the first success after ``quiet_seconds`` without a failure
closes the burst with one line saying how long it lasted and how many failures it had.

``OutageGuard`` is the pure ASGI middleware that answers an outage during an HTTP request (the
app says how: its 503) instead of letting the exception reach the server, which would drop the
client's keep-alive connection.
"""

from __future__ import annotations

import logging
import socket
import sqlite3
import time
import traceback
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from limits.errors import StorageError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

DATABASE = "database"
REDIS = "redis"

# ASGI, spelled as Starlette spells it (the kernel imports no web framework).
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# SQLSTATE classes of PostgreSQL that mean "not now": connection exception, insufficient
# resources (too many clients), operator intervention (shutdown, starting up, cancelled).
_RETRYABLE_SQLSTATE = ("08", "53", "57")
_SQLITE_BUSY = ("locked", "busy", "unable to open")
# Client libraries whose bare socket errors mean their service is away.
_CLIENTS = {"sqlalchemy": DATABASE, "asyncpg": DATABASE, "aiosqlite": DATABASE,
            "redis": REDIS, "coredis": REDIS, "limits": REDIS}


class Outage(NamedTuple):
    service: str  # DATABASE or REDIS
    reason: str  # the failing exception's type name, e.g. "ConnectionRefusedError"


def outage_of(exc: BaseException) -> Outage | None:
    """The service ``exc`` says is away, named by the first error of the chain that tells; the
    reason is the innermost one that does (the driver's, not its wrapper's)."""
    found = [(error, service) for error in _chain(exc)
             if (service := _service(error)) is not None]
    if not found:
        return None
    return Outage(found[0][1], type(found[-1][0]).__name__)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo and len(seen) < 20:
        error = todo.pop(0)
        if id(error) in seen:
            continue
        seen.add(id(error))
        yield error
        for linked in (getattr(error, "orig", None), getattr(error, "storage_error", None),
                       error.__cause__, error.__context__):
            if isinstance(linked, BaseException):
                todo.append(linked)


def _service(error: BaseException) -> str | None:
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return DATABASE
    if isinstance(error, PoolTimeout):  # no pooled connection came free in time
        return DATABASE
    sqlstate = getattr(error, "sqlstate", None)
    if isinstance(sqlstate, str) and sqlstate[:2] in _RETRYABLE_SQLSTATE:
        return DATABASE
    if isinstance(error, sqlite3.OperationalError) and any(
            word in str(error) for word in _SQLITE_BUSY):
        return DATABASE
    if isinstance(error, (RedisConnectionError, RedisTimeoutError, StorageError)):
        return REDIS
    if isinstance(error, (ConnectionError, TimeoutError, socket.gaierror)):
        return _raised_by_client(error)
    return None


def _raised_by_client(error: BaseException) -> str | None:
    for frame, _ in traceback.walk_tb(error.__traceback__):
        package = str(frame.f_globals.get("__name__", "")).split(".")[0]
        if package in _CLIENTS:
            return _CLIENTS[package]
    return None


@dataclass
class _Burst:
    since: float
    last: float
    failures: int


class OutageLog:
    """One warning per burst of failures of a service, and one line when it is back."""

    def __init__(self, logger: logging.Logger, *, quiet_seconds: float = 2.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.logger = logger
        self.quiet_seconds = quiet_seconds
        self._clock = clock
        self._bursts: dict[str, _Burst] = {}

    def failed(self, outage: Outage, what: str) -> None:
        """``what`` failed (e.g. ``POST /api/v1/appointments``) because of ``outage``."""
        now = self._clock()
        burst = self._bursts.get(outage.service)
        if burst is not None:
            burst.failures += 1
            burst.last = now
            return
        self._bursts[outage.service] = _Burst(now, now, 1)
        self.logger.warning("%s unreachable (%s) during %s; further failures are counted until "
                            "it answers again", outage.service, outage.reason, what)

    def record(self, exc: BaseException, what: str) -> bool:
        """Count ``exc`` if it is an outage; False for anything else (the caller logs that)."""
        outage = outage_of(exc)
        if outage is not None:
            self.failed(outage, what)
        return outage is not None

    def succeeded(self) -> None:
        """Something worked: bursts without a failure for ``quiet_seconds`` are over."""
        if not self._bursts:
            return
        now = self._clock()
        for service, burst in list(self._bursts.items()):
            if now - burst.last >= self.quiet_seconds:
                del self._bursts[service]
                self.logger.warning("%s reachable again: %d failure(s) over %.1f s", service,
                                    burst.failures, burst.last - burst.since)

    @property
    def ongoing(self) -> list[str]:
        return sorted(self._bursts)


class OutageGuard:
    """An outage during an HTTP request is answered with ``answer(scope, receive)`` and logged
    once per burst (``describe(scope)`` names the request in the log line, e.g. without link
    tokens). A failure after the response started can no longer be answered and goes on."""

    def __init__(self, app: ASGIApp, *, answer: Callable[[Scope, Receive], ASGIApp],
                 describe: Callable[[Scope], str], logger: logging.Logger) -> None:
        self.app = app
        self.answer = answer
        self.describe = describe
        self.outages = OutageLog(logger)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as exc:
            if started or not self.outages.record(exc, self.describe(scope)):
                raise
            await self.answer(scope, receive)(scope, receive, send)
            return
        self.outages.succeeded()
