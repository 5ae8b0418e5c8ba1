"""A lean HTTP/1.1 load client: prepared requests over keep-alive connections.

httpx costs about 2 ms of CPU per request, which on a 2-core machine takes a core away from the
server being measured; this client writes prepared bytes and reads the status line, the headers
and ``Content-Length`` bytes of body (~0.1 ms per request). Only for the benchmark's own server:
no chunked bodies, no redirects, no TLS.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Sequence


def _request(host: str, path: str, body: bytes | None, method: str = "POST") -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: {host}\r\n"
    if body is not None:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return (head + "\r\n").encode() + (body or b"")


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    request: bytes) -> tuple[int, bytes]:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return status, await reader.readexactly(length)


class Connection:
    """One keep-alive connection, from ``local_address`` when given (any 127.x.y.z on Linux):
    a client of its own for per-client limits. A failed exchange answers status -1 and the
    next one connects afresh."""

    def __init__(self, host: str, port: int, local_address: str | None = None) -> None:
        self.host, self.port, self.local_address = host, port, local_address
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def request(self, method: str, path: str, body: bytes | None = None
                      ) -> tuple[int, bytes]:
        try:
            if self._streams is None:
                self._streams = await asyncio.open_connection(
                    self.host, self.port,
                    local_addr=(self.local_address, 0) if self.local_address else None)
            reader, writer = self._streams
            return await _exchange(reader, writer,
                                   _request(f"{self.host}:{self.port}", path, body, method))
        except (OSError, asyncio.IncompleteReadError, ValueError):
            await self.close()
            return -1, b""

    async def close(self) -> None:
        if self._streams is not None:
            self._streams[1].close()
            self._streams = None


async def post_all(host: str, port: int, path: str, bodies: Sequence[bytes],
                   concurrency: int) -> tuple[float, Counter[int]]:
    """POST every body once over ``concurrency`` connections: (seconds, status counts).

    A connection-level failure counts as status -1 (and that connection is opened again).
    """
    pending = [_request(f"{host}:{port}", path, body) for body in reversed(bodies)]
    statuses: Counter[int] = Counter()

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while pending:
                request = pending.pop()
                try:
                    statuses[(await _exchange(reader, writer, request))[0]] += 1
                except (OSError, asyncio.IncompleteReadError, ValueError):
                    statuses[-1] += 1
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, port)
        finally:
            writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(concurrency)))
    return time.perf_counter() - began, statuses
