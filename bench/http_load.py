"""A lean HTTP/1.1 load client: POSTs prepared JSON bodies over keep-alive connections.

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


def _request(host: str, path: str, body: bytes) -> bytes:
    head = (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    request: bytes) -> int:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return status


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
                    statuses[await _exchange(reader, writer, request)] += 1
                except (OSError, asyncio.IncompleteReadError, ValueError):
                    statuses[-1] += 1
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, port)
        finally:
            writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(concurrency)))
    return time.perf_counter() - began, statuses
