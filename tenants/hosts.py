"""Which municipality a request is for: its ``Host`` header, or a path prefix.

A host named by a municipality selects it; so does a path under its prefix. Any other request
is the default municipality's (the one with the lowest id): with one municipality every host
serves it, exactly as an installation without municipalities did.

The map is read from the database and kept for a few seconds; this process forgets it at once
when it changes a municipality (``HostMap.forget``). One read at a time: when the map has aged,
requests go on with it while a single read in the background renews it (a thousand requests
at that moment would otherwise each take a database connection to read the same rows); only
a process without a map (at start, after ``forget``) waits for the read. Another instance may
serve a new host by the default municipality for those seconds: its staff and citizens then
find nothing there (the scope is that of the default), they are never shown another's.

Some paths belong to the installation, not to a municipality (``UNSCOPED``): the platform API,
the payment and letter providers' webhooks (their objects are found by the provider's unique
ids), health checks and metrics, static files.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlmodel import col

from core.tenancy import DEFAULT_MUNICIPALITY_ID, acting_for
from core.transactions import Transactions
from tenants.models import Municipality

UNSCOPED = ("/api/v1/platform/", "/api/v1/webhooks/", "/healthz", "/readyz", "/metrics",
            "/static/")
TTL_SECONDS = 5.0


def normalise_host(value: str) -> str:
    """``Stadt-A.example:8443`` → ``stadt-a.example`` (IPv6 literals keep their brackets)."""
    value = value.strip().lower().rstrip(".")
    if value.startswith("["):
        return value.split("]", 1)[0] + "]"
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


@dataclass(frozen=True)
class Place:
    id: int
    name: str
    path_prefix: str
    accent_colour: str = ""  # #rrggbb, checked for contrast (``tenants.service``)
    logo_url: str = ""


class HostMap:
    several = False  # more than one municipality: pages and mails then name theirs

    def __init__(self) -> None:
        self._hosts: dict[str, Place] = {}
        self._prefixes: list[tuple[str, Place]] = []
        self._default = Place(DEFAULT_MUNICIPALITY_ID, "", "")
        self._names: dict[int | None, str] = {}
        self._base_urls: dict[int | None, tuple[list[str], str]] = {}
        self._loaded_at: float | None = None
        self._loading: asyncio.Future[None] | None = None
        self._generation = 0  # moved by ``forget``: a read begun before is not kept

    def forget(self) -> None:
        self._generation += 1
        self._loaded_at = None

    async def _current(self, db: Transactions) -> None:
        """A map at most ``TTL_SECONDS`` old, or the last one while its successor is read."""
        while True:
            loaded = self._loaded_at
            if loaded is not None and time.monotonic() - loaded <= TTL_SECONDS:
                return
            if self._loading is None or self._loading.done():
                self._loading = asyncio.ensure_future(self._load(db, self._generation))
                self._loading.add_done_callback(_retrieve)
            if loaded is not None:
                return
            await asyncio.shield(self._loading)

    async def _load(self, db: Transactions, generation: int) -> None:
        with acting_for(None):
            async with db.transaction() as session:
                rows = list((await session.execute(
                    select(Municipality).order_by(col(Municipality.id)))).scalars())
        hosts: dict[str, Place] = {}
        prefixes: list[tuple[str, Place]] = []
        for row in rows:
            assert row.id is not None
            place = Place(row.id, row.name, row.path_prefix, row.accent_colour, row.logo_url)
            for host in row.host_list():
                hosts.setdefault(normalise_host(host), place)
            if row.path_prefix:
                prefixes.append((row.path_prefix.rstrip("/"), place))
        self._hosts, self._prefixes = hosts, sorted(prefixes, key=lambda p: -len(p[0]))
        if rows:
            first = rows[0]
            self._default = Place(first.id or DEFAULT_MUNICIPALITY_ID, first.name,
                                  first.path_prefix, first.accent_colour, first.logo_url)
        self.several = len(rows) > 1
        self._base_urls = {row.id: (row.host_list()[:1], row.path_prefix) for row in rows}
        self._names = {row.id: row.name for row in rows}
        if generation == self._generation:
            self._loaded_at = time.monotonic()

    async def ids(self, db: Transactions) -> list[int]:
        """Every municipality's id, from the same map (the worker runs its periodic tasks for
        each in turn; a new town's within ``TTL_SECONDS``)."""
        await self._current(db)
        return sorted(mid for mid in self._names if mid is not None)

    async def town(self, db: Transactions, municipality_id: int | None,
                   base_url: str) -> tuple[str, str]:
        """(name, base URL of its links) of a municipality, for mails the worker sends: its
        first host name with the scheme and port of ``base_url`` (and its path prefix). With
        one municipality: no name, and ``base_url`` as it is."""
        await self._current(db)
        if not self.several or municipality_id not in self._names:
            return "", base_url
        hosts, prefix = self._base_urls[municipality_id]
        parts = urlsplit(base_url)
        netloc = parts.netloc
        if hosts:
            netloc = hosts[0] + (f":{parts.port}" if parts.port else "")
        return self._names[municipality_id], f"{parts.scheme}://{netloc}{prefix}"

    async def resolve(self, db: Transactions, host: str, path: str) -> Place:
        await self._current(db)
        for prefix, place in self._prefixes:
            if path == prefix or path.startswith(prefix + "/"):
                return place
        return self._hosts.get(normalise_host(host), self._default)


def _retrieve(future: asyncio.Future[None]) -> None:
    # A failed background read is the next request's to meet (it reads again), not the loop's
    # to log as never retrieved.
    if not future.cancelled():
        future.exception()


def unscoped(path: str) -> bool:
    return path.startswith(UNSCOPED) or path in ("/healthz", "/readyz", "/metrics")
