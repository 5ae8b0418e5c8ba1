"""Encoded availability answers kept in memory, dropped whenever what they show may change.

``GET /api/v1/availability`` for a busy month costs a handful of queries and a few milliseconds of
Python; the same answer is asked for over and over. So the finished response body is kept per
(office, service, from, to) in the process, and served as long as all of this holds:

* **No write since.** After every commit that may change availability (see
  ``booking/availability_changes.py``: bookings, holds, confirmations, cancellations, moves, hold
  expiry, clerk and admin changes) the entries of the offices concerned are dropped, right after
  the commit and before the writer's response is sent. A computation that was running when the
  commit happened is not stored (a per-office generation counter), and requests arriving after
  the commit do not join it, so a read that starts after a commit never sees the state before it.
* **Time has not moved it.** ``Window.changes_at``: the first offered slot coming within the
  minimum notice, the next local midnight (the horizon moves), the next hold running out or
  the next release time of one of the office's schedules (``booking/release.py``).
* **Age.** At most ``BUERO_AVAILABILITY_CACHE_SECONDS`` (0 turns the cache off). This bounds
  what this process cannot see: writes by other instances without Redis, or by hand. A read late
  in that time starts computing the successor in the background, so a busy query never waits
  for its answer to age out.

With ``BUERO_REDIS_URL``, instances tell each other: each commit's office ids are published on
one pub/sub channel and every other instance drops those entries. Pub/sub rather than a shared
generation counter because it costs nothing per read (a counter would be a Redis round trip on
every request, the very cost the cache removes) and a lost message is covered: a (re)subscription
drops everything, and the age bound caps the time an outage can leave an entry stale.

The cache never decides a booking. A slot shown as free a moment too long is refused by the
database's seat constraints (``409 slot_taken``) like any slot taken by someone else first.

Concurrent misses of one key compute once (single flight). Answers carry a strong ``ETag`` and
``Cache-Control: no-cache``: a client may keep the body but asks again every time, and gets
``304 Not Modified`` while nothing changed.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import math
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from booking.availability_changes import Offices
from booking.availability_window import Window
from core.types import utc_seconds

log = logging.getLogger("buergerbuero.availability")

CHANNEL = "availability"  # after the installation's Redis prefix (settings.redis_prefix)
# What the kept bodies may take in all (a 31-day answer is about 40 KB); the least recently
# used go first.
MAX_BYTES = 32 * 1024 * 1024
SUBSCRIBE_TIMEOUT_SECONDS = 5.0
# Share of the age bound after which a read of a kept answer starts computing its successor.
REFRESH_AFTER = 0.8

# The query string as the client sent it: a kept answer is found without parsing or validating
# anything. Two spellings of one window are two entries, which is harmless.
Key = bytes
Computed = tuple[bytes, datetime]  # the body and ``Window.changes_at``
Headers = tuple[tuple[bytes, bytes], ...]


@dataclass(frozen=True)
class Answer:
    office_id: int
    body: bytes
    etag: str
    expires_at: float  # the services' clock (``utc_seconds``) after which it is not served
    headers: Headers  # of the 200 response, built once
    not_modified_headers: Headers  # of a 304
    # From then on a read starts computing the successor in the background, so a busy query is
    # not left to wait when its answer reaches the age bound (never, when time ends it sooner).
    refresh_at: float = math.inf
    recompute: Callable[[], Awaitable[Computed]] | None = field(default=None, compare=False)


def answer(office_id: int, body: bytes, expires_at: float, *, refresh_at: float = math.inf,
           recompute: Callable[[], Awaitable[Computed]] | None = None) -> Answer:
    etag = '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'
    validators = ((b"etag", etag.encode()), (b"cache-control", b"no-cache"))
    headers = ((b"content-length", str(len(body)).encode()),
               (b"content-type", b"application/json"), *validators)
    return Answer(office_id, body, etag, expires_at, headers, validators, refresh_at, recompute)


def render(window: Window) -> Computed:
    """The JSON body (``AvailabilityOut``) and the instant it may change by itself.

    Written out directly: the same bytes as ``json.dumps`` with compact separators, about four
    times faster for a month of slots. Each instant is formatted once (a slot's end is usually the
    next slot's start).
    """
    name = window.office.timezone
    tz = ZoneInfo(name)
    seen: dict[datetime, str] = {}

    def iso(value: datetime) -> str:
        text = seen.get(value)
        if text is None:
            text = seen[value] = value.astimezone(tz).isoformat(timespec="seconds")
        return text

    slots = ",".join(f'{{"start":"{iso(s.start)}","end":"{iso(s.end)}"}}' for s in window.slots)
    body = f'{{"timezone":{json.dumps(name, ensure_ascii=False)},"slots":[{slots}]}}'
    return body.encode(), window.changes_at


class AvailabilityCache:
    """The kept answers of one app; see the module docstring."""

    def __init__(self, ttl_seconds: float, *, max_bytes: int = MAX_BYTES,
                 clock: Callable[[], float] = utc_seconds) -> None:
        self.ttl = ttl_seconds
        self.max_bytes = max_bytes
        # The services' clock by default: ``Window.changes_at`` (release moments, notice
        # limits) is computed on it. Public: a test moves the running app's cache forward
        # in time through it.
        self.clock = clock
        self._entries: OrderedDict[Key, Answer] = OrderedDict()
        self._bytes = 0
        self._flights: dict[Key, asyncio.Future[Answer]] = {}
        self._flight_offices: dict[Key, int] = {}
        # Bumped by every invalidation: a computation stores its answer only when neither
        # counter of its office moved while it ran.
        self._epoch = 0
        self._office_epochs: dict[int, int] = {}
        self.hits = 0
        self.misses = 0

    @property
    def enabled(self) -> bool:
        return self.ttl > 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Key) -> Answer | None:
        """The kept answer for this query string, if there is one and it may still be served."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        now = self.clock()
        if now >= entry.expires_at:
            self._drop(key)
            return None
        if now >= entry.refresh_at and entry.recompute is not None and key not in self._flights:
            self._launch(key, entry.office_id, entry.recompute)
        self._entries.move_to_end(key)
        self.hits += 1
        return entry

    async def fetch(self, key: Key, office_id: int,
                    compute: Callable[[], Awaitable[Computed]]) -> Answer:
        """The kept answer for ``key``, or a new one from ``compute`` (once for all who ask)."""
        if not self.enabled:
            body, _ = await compute()
            return answer(office_id, body, 0.0)
        kept = self.get(key)
        if kept is not None:
            return kept
        self.misses += 1
        flight = self._flights.get(key) or self._launch(key, office_id, compute)
        # Shielded: a client that goes away does not cancel the others' answer.
        return await asyncio.shield(flight)

    def _launch(self, key: Key, office_id: int,
                compute: Callable[[], Awaitable[Computed]]) -> asyncio.Future[Answer]:
        flight = asyncio.ensure_future(
            self._compute(key, office_id, self._generation(office_id), compute))
        flight.add_done_callback(_retrieve)
        self._flights[key] = flight
        self._flight_offices[key] = office_id
        return flight

    def invalidate(self, offices: Offices) -> None:
        """Drop the answers of these offices (``None``: all), and forget running computations."""
        if offices is None:
            self._epoch += 1
            self._entries.clear()
            self._bytes = 0
            self._flights.clear()
            self._flight_offices.clear()
            return
        for office in offices:
            self._office_epochs[office] = self._office_epochs.get(office, 0) + 1
        for key in [k for k, v in self._entries.items() if v.office_id in offices]:
            self._drop(key)
        for key in [k for k, o in self._flight_offices.items() if o in offices]:
            del self._flights[key], self._flight_offices[key]

    def _generation(self, office: int) -> tuple[int, int]:
        return self._epoch, self._office_epochs.get(office, 0)

    async def _compute(self, key: Key, office_id: int, generation: tuple[int, int],
                       compute: Callable[[], Awaitable[Computed]]) -> Answer:
        started = self.clock()
        try:
            body, changes_at = await compute()
        finally:
            if self._flights.get(key) is asyncio.current_task():
                del self._flights[key], self._flight_offices[key]
        aged_out = started + self.ttl
        expires_at = min(aged_out, changes_at.timestamp())
        new = answer(office_id, body, expires_at, recompute=compute,
                     refresh_at=(started + REFRESH_AFTER * self.ttl if expires_at == aged_out
                                 else math.inf))
        if generation == self._generation(office_id) and new.expires_at > self.clock():
            self._store(key, new)
        return new

    def _store(self, key: Key, answer: Answer) -> None:
        self._drop(key)
        self._entries[key] = answer
        self._bytes += len(answer.body)
        while self._bytes > self.max_bytes and self._entries:
            _, oldest = self._entries.popitem(last=False)
            self._bytes -= len(oldest.body)

    def _drop(self, key: Key) -> None:
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= len(old.body)


def _retrieve(future: asyncio.Future[Answer]) -> None:
    # Every waiter may have gone; an error is then theirs to have seen, not the loop's to log.
    if not future.cancelled():
        future.exception()
