"""Virus scanning of uploads: a client for ClamAV's daemon (clamd) and a stand-in for
development.

The client speaks clamd's protocol itself over asyncio, unix socket or TCP (clamd's manual,
"ClamD Protocol"): ``zINSTREAM\\0``, then the data in chunks each led by its length as a 4-byte
big-endian number, then a chunk of length zero; clamd answers ``stream: OK``,
``stream: <signature> FOUND`` or ``<reason> ERROR``, ended by a NUL byte. ``zPING\\0`` is
answered ``PONG``. It is hand-written because the Python clamd clients on PyPI block (sockets
without asyncio) or are not kept up; the protocol is these few lines.

clamd refuses a stream longer than its ``StreamMaxLength`` (default 25 MB): it answers
``INSTREAM size limit exceeded. ERROR`` and closes the connection while the client may still
be sending. The client then stops sending and reads that answer (``TooLargeToScan``, 413). Set
``StreamMaxLength`` above the largest upload allowed; the warning in the log says when it is not.

Everything else that keeps a scan from finishing (no clamd, a refused or dropped connection, a
timeout, an answer we cannot read) is ``ScannerUnavailable`` (503): the upload is refused, never
stored unscanned, while a scanner is configured.

Addresses: ``unix:/run/clamav/clamd.ctl`` or ``tcp:127.0.0.1:3310`` (``tcp:[::1]:3310``,
``tcp:clamav:3310``).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from core.errors import DomainError

log = logging.getLogger("buergerbuero.scanner")

Verdict = Literal["clean", "infected", "unscanned"]
CHUNK_BYTES = 256 * 1024
MAX_REPLY_BYTES = 4096
DEFAULT_TIMEOUT = 30.0


class ScannerUnavailable(DomainError):
    status = 503
    code = "scanner_unavailable"
    message = "The file cannot be checked for viruses at the moment. Please try again later."


class TooLargeToScan(DomainError):
    """clamd refused the stream as longer than its ``StreamMaxLength``."""

    status = 413
    code = "file_too_large"
    message = "The file is too large to be checked for viruses. Please send a smaller file."


@dataclass(frozen=True)
class ScanResult:
    verdict: Verdict
    signature: str | None = None  # the malware's name when ``infected``


class Scanner(Protocol):
    async def scan(self, data: bytes) -> ScanResult:
        """The verdict on ``data``; ``ScannerUnavailable`` or ``TooLargeToScan`` when there is
        none."""
        ...

    async def ping(self) -> bool:
        """Whether the scanner answers (for a readiness check)."""
        ...


class NoScanner:
    """For development without clamd: every file passes as ``unscanned``."""

    async def scan(self, data: bytes) -> ScanResult:
        return ScanResult("unscanned")

    async def ping(self) -> bool:
        return True


# --- addresses and replies (no sockets) --------------------------------------------------------


@dataclass(frozen=True)
class Address:
    """Where clamd listens: a unix socket's ``path``, or TCP ``host`` and ``port``."""

    path: str | None = None
    host: str | None = None
    port: int | None = None

    def __str__(self) -> str:
        if self.path is not None:
            return f"unix:{self.path}"
        host = f"[{self.host}]" if self.host and ":" in self.host else self.host
        return f"tcp:{host}:{self.port}"


def parse_address(value: str) -> Address:
    """``unix:/path`` or ``tcp:host:port``; ``ValueError`` for anything else."""
    kind, _, rest = value.strip().partition(":")
    if kind == "unix" and rest.startswith("/"):
        return Address(path=rest)
    if kind == "tcp":
        host, _, port = rest.rpartition(":")
        host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
        if host and port.isdigit() and 0 < int(port) < 65536:
            return Address(host=host, port=int(port))
    raise ValueError(f"not a clamd address (unix:/path or tcp:host:port): {value!r}")


def parse_reply(reply: bytes) -> ScanResult:
    """clamd's answer to INSTREAM, without its NUL. Raises ``TooLargeToScan`` for the stream
    limit and ``ScannerUnavailable`` for any other error or an answer we do not know."""
    text = reply.rstrip(b"\0").decode("utf-8", "replace").strip()
    if text == "stream: OK":
        return ScanResult("clean")
    if text.startswith("stream: ") and text.endswith(" FOUND"):
        return ScanResult("infected", text.removeprefix("stream: ").removesuffix(" FOUND"))
    if "size limit exceeded" in text:
        log.warning("clamd refused a stream as too long: set its StreamMaxLength above the "
                    "largest upload allowed (%s)", text)
        raise TooLargeToScan()
    log.warning("clamd could not scan: %r", text[:200])
    raise ScannerUnavailable()


# --- the client --------------------------------------------------------------------------------


class ClamdScanner:
    """Scans with clamd at ``address`` (a string as in the module's docstring, or an
    ``Address``); one connection per scan, at most ``timeout`` seconds for all of it."""

    def __init__(self, address: str | Address, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.address = parse_address(address) if isinstance(address, str) else address
        self.timeout = timeout

    async def scan(self, data: bytes) -> ScanResult:
        try:
            async with asyncio.timeout(self.timeout):
                return parse_reply(await self._instream(data))
        except TimeoutError:
            log.warning("clamd at %s did not answer within %s s", self.address, self.timeout)
        except OSError as exc:
            log.warning("clamd at %s cannot be reached: %s", self.address, exc)
        raise ScannerUnavailable()

    async def ping(self) -> bool:
        try:
            async with asyncio.timeout(self.timeout):
                sock = await self._connect()
                try:
                    await asyncio.get_running_loop().sock_sendall(sock, b"zPING\0")
                    return await _read_reply(sock) == b"PONG"
                finally:
                    sock.close()
        except (TimeoutError, OSError):
            return False

    async def _connect(self) -> socket.socket:
        """A connected non-blocking socket (the loop's ``sock_*`` calls, not streams: after a
        failed write a stream drops what was already received, and that is clamd's reason)."""
        loop = asyncio.get_running_loop()
        targets: list[tuple[socket.AddressFamily, Any]]
        if self.address.path is not None:
            targets = [(socket.AF_UNIX, self.address.path)]
        else:
            found = await loop.getaddrinfo(self.address.host, self.address.port,
                                           type=socket.SOCK_STREAM)
            targets = [(family, sockaddr) for family, _t, _p, _c, sockaddr in found]
        error = OSError(f"no address for {self.address}")
        for family, target in targets:
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.setblocking(False)
            try:
                await loop.sock_connect(sock, target)
                return sock
            except OSError as exc:
                sock.close()
                error = exc
            except BaseException:
                sock.close()
                raise
        raise error

    async def _instream(self, data: bytes) -> bytes:
        loop = asyncio.get_running_loop()
        sock = await self._connect()
        try:
            view = memoryview(data)
            try:
                await loop.sock_sendall(sock, b"zINSTREAM\0")
                for start in range(0, len(view), CHUNK_BYTES):
                    chunk = view[start:start + CHUNK_BYTES]
                    await loop.sock_sendall(sock, struct.pack(">I", len(chunk)))
                    await loop.sock_sendall(sock, chunk)
                await loop.sock_sendall(sock, b"\0\0\0\0")
            except (BrokenPipeError, ConnectionResetError):
                pass  # clamd stopped reading (the stream limit): its answer says why
            return await _read_reply(sock)
        finally:
            sock.close()


async def _read_reply(sock: socket.socket) -> bytes:
    """Up to the NUL that ends clamd's answer (or the connection's end), at most 4 KiB."""
    loop = asyncio.get_running_loop()
    reply = b""
    while b"\0" not in reply and len(reply) < MAX_REPLY_BYTES:
        received = await loop.sock_recv(sock, MAX_REPLY_BYTES)
        if not received:
            break
        reply += received
    if not reply:
        raise ConnectionResetError("clamd closed the connection without an answer")
    return reply.split(b"\0", 1)[0]


def scanner_for(address: str | None, timeout: float = DEFAULT_TIMEOUT) -> Scanner:
    """The scanner a setting names: a clamd address, or none (empty) for ``NoScanner``."""
    if address is None or not address.strip():
        return NoScanner()
    return ClamdScanner(address, timeout)
