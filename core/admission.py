"""Admission control: when a process is overloaded, people's pages go first.

At 07:00, when a town releases its appointments, thousands of scripts poll the availability API
and post bookings as fast as they are answered. One event loop then serves every ready request
in turn, and a person's page waits behind all of them at every ``await`` (each database round
trip puts it at the back of the queue again): seconds per page, on any number of cores, as long
as the scripts can send more than the process can answer.

``AdmissionGate`` lets at most ``max_active`` HTTP requests of a process be worked on at once.
The others wait, parked at no cost, and a freed place goes to the most urgent waiter:

1. ``STAFF``: the clerks' and admins' pages and APIs (``/staff``, ``/admin``, ``/api/v1/clerk``,
   ``/api/v1/admin``, ``/api/v1/auth``, ``/api/v1/platform``, ``/api/v1/integration``): the
   office keeps working during a rush.
2. ``PAGE``: every other page (the booking pages are rendered on the server: a person's browser
   never calls the JSON API to book).
3. ``API``: the public JSON API (``/api/...``), where the scripts are.

A few at once (4 by default) are enough to overlap one request's database round trips with
another's work; with many more, every step of every request waits behind the steps of all the
others (measured in the rush bench: a person's p99 about 0.5 s with 4, 1 s with 20).

Within a class it is first come, first served. A waiting request of the ``API`` class is
refused with ``503`` and ``Retry-After`` when ``max_waiting`` of them already wait (the
scripts' queue does not grow without bound); pages and staff requests always wait for their
turn. Streams (WebSockets, the server-sent events under ``.../events``), uploads (a
``multipart/form-data`` body, which a phone may send slowly), health checks, metrics and static
files pass untouched: they are cheap or long-lived, and one holding a place would keep it from
everybody else.

Nothing changes while the process keeps up: a request finds a free place and goes on at once.
``max_active`` of 0 turns the gate off.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from enum import IntEnum

from core.outage import ASGIApp, Receive, Scope, Send


class Priority(IntEnum):
    STAFF = 0
    PAGE = 1
    API = 2


STAFF_PREFIXES = ("/staff", "/admin", "/api/v1/clerk", "/api/v1/admin", "/api/v1/auth",
                  "/api/v1/platform", "/api/v1/integration")
PASSING = ("/healthz", "/readyz", "/metrics", "/static/", "/favicon.ico")


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + "/") or (
        prefix.endswith("/") and path.startswith(prefix))


def priority_of(scope: Scope) -> Priority | None:
    """The request's class; None for what passes the gate untouched."""
    if scope["type"] != "http":
        return None
    path: str = scope["path"]
    root = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root):] or "/"
    if path.endswith("/events") or any(_under(path, p) for p in PASSING) or _upload(scope):
        return None
    if any(_under(path, p) for p in STAFF_PREFIXES):
        return Priority.STAFF
    if _under(path, "/api"):
        return Priority.API
    return Priority.PAGE


def _upload(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            return bytes(value).lower().startswith(b"multipart/form-data")
    return False


class AdmissionGate:
    """The ASGI middleware; ``refuse(scope, receive)`` answers a request turned away."""

    def __init__(self, app: ASGIApp, *, max_active: int, max_waiting: int,
                 refuse: Callable[[Scope, Receive], ASGIApp],
                 classify: Callable[[Scope], Priority | None] = priority_of) -> None:
        self.app = app
        self.max_active = max_active
        self.max_waiting = max_waiting
        self.refuse = refuse
        self.classify = classify
        self.active = 0
        self._queues: tuple[deque[asyncio.Future[None]], ...] = tuple(
            deque() for _ in Priority)
        self.refused = 0  # since start, for the metrics and the tests

    def waiting(self, priority: Priority | None = None) -> int:
        if priority is not None:
            return len(self._queues[priority])
        return sum(len(q) for q in self._queues)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        priority = self.classify(scope) if self.max_active > 0 else None
        if priority is None:
            await self.app(scope, receive, send)
            return
        if self.active >= self.max_active or self.waiting():
            if priority is Priority.API and self.waiting(Priority.API) >= self.max_waiting:
                self.refused += 1
                await self.refuse(scope, receive)(scope, receive, send)
                return
            await self._wait(priority)
        else:
            self.active += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self._release()

    async def _wait(self, priority: Priority) -> None:
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue = self._queues[priority]
        queue.append(turn)
        try:
            await turn  # the place is handed over with the result: ``active`` counts it already
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self._release()  # given a place while being cancelled: pass it on
            else:
                queue.remove(turn)
            raise

    def _release(self) -> None:
        for queue in self._queues:
            while queue:
                turn = queue.popleft()
                if not turn.done():
                    turn.set_result(None)  # the place goes straight to this waiter
                    return
        self.active -= 1
