"""In-memory stand-ins for the transport and the app's callbacks, and a test peer."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from signaling import Grant, Hub, Role, Session


def now() -> datetime:
    return datetime.now(UTC)


def grant(room: str, role: Role, *, reference: str | None = None,
          opens: timedelta = timedelta(minutes=-15),
          closes: timedelta = timedelta(hours=1)) -> Grant:
    t = now()
    return Grant(room=room, role=role, reference=reference or f"REF-{room}",
                 opens_at=t + opens, closes_at=t + closes)


class Tokens:
    """The app's authorizer: a token table."""

    def __init__(self) -> None:
        self.grants: dict[str, Grant] = {}
        self.seen: list[str] = []

    def add(self, token: str, g: Grant) -> str:
        self.grants[token] = g
        return token

    async def __call__(self, token: str) -> Grant | None:
        self.seen.append(token)
        return self.grants.get(token)


@dataclass
class Events:
    """The app's event sink."""

    items: list[tuple[str, str, str]] = field(default_factory=list)

    async def __call__(self, reference: str, event: str, role: str) -> None:
        self.items.append((reference, event, role))

    def of(self, reference: str) -> list[tuple[str, str]]:
        return [(e, r) for ref, e, r in self.items if ref == reference]


class FakeConnection:
    """A WebSocket as the hub sees it. Messages go through JSON, like ``send_json``."""

    def __init__(self, *, stall: bool = False) -> None:
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.close_code: int | None = None
        self.closed = asyncio.Event()
        self.stall = stall
        self.sends_after_close = 0
        self.close_calls = 0

    async def send(self, message: dict[str, Any] | str) -> None:
        if self.closed.is_set():
            self.sends_after_close += 1
            raise RuntimeError("send after close")
        if self.stall:
            await asyncio.Event().wait()  # a peer whose TCP window stays full
        text = message if isinstance(message, str) else json.dumps(message)
        self.inbox.put_nowait(json.loads(text))

    async def close(self, code: int) -> None:
        self.close_calls += 1
        if self.closed.is_set():
            raise RuntimeError("closed twice")
        self.close_code = code
        self.closed.set()


class Peer:
    def __init__(self, hub: Hub, *, quiet: float = 0.05, conn: FakeConnection | None = None):
        self.hub = hub
        self.conn = conn or FakeConnection()
        self.session: Session = hub.attach(self.conn)
        self.quiet = quiet

    async def send(self, message: dict[str, Any] | str | bytes) -> None:
        frame = json.dumps(message) if isinstance(message, dict) else message
        await self.session.feed(frame)

    async def hello(self, token: str) -> dict[str, Any]:
        await self.send({"type": "hello", "token": token})
        return await self.expect("welcome")

    async def recv(self, timeout: float = 3.0) -> dict[str, Any]:
        return await asyncio.wait_for(self.conn.inbox.get(), timeout)

    async def expect(self, kind: str, **fields: Any) -> dict[str, Any]:
        message = await self.recv()
        assert message["type"] == kind, f"expected {kind}, got {message}"
        for key, value in fields.items():
            assert message[key] == value, f"{key}: {message}"
        return message

    async def nothing(self) -> None:
        """No message arrives for a while (the quiet time suits the backend's latency)."""
        await asyncio.sleep(self.quiet)
        assert self.conn.inbox.empty(), f"unexpected {self.conn.inbox.get_nowait()}"

    async def expect_closed(self, code: int, timeout: float = 3.0) -> list[dict[str, Any]]:
        """Wait for the close; for protocol codes the last message is the error frame.
        Returns the messages that came before."""
        await asyncio.wait_for(self.conn.closed.wait(), timeout)
        assert self.conn.close_code == code, f"closed with {self.conn.close_code}, not {code}"
        messages = []
        while not self.conn.inbox.empty():
            messages.append(self.conn.inbox.get_nowait())
        if code >= 4000:
            assert messages and messages[-1] == {"type": "error", "code": code}, messages
            messages.pop()
        else:
            assert all(m["type"] != "error" for m in messages), messages
        return messages

    async def leave_transport(self) -> None:
        """The socket went away without a bye (network loss, page reload)."""
        await self.session.detach()
