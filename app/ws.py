"""``WebSocket /ws/call``: the signalling endpoint (CONTRACT §4), a thin adapter to the hub.

The token arrives in the ``hello`` frame, never in the URL, so it cannot reach an access log.
Each connection first counts against the per-IP ``token`` rate limit, like the citizen API.
No cookies are read: without the token a connection from another site gets nowhere, so there is
no cross-site WebSocket hijacking to guard against.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.routing import BaseRoute, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketState

from app.calls import hub_of
from app.context import ctx
from app.http import client_ip
from booking.errors import RateLimited
from signaling import CloseCode

log = logging.getLogger("buergerbuero.ws")


class StarletteConnection:
    """A Starlette WebSocket as the hub's ``Connection``."""

    def __init__(self, websocket: WebSocket) -> None:
        self.websocket = websocket

    async def send(self, message: dict[str, Any] | str) -> None:
        text = message if isinstance(message, str) else json.dumps(message, separators=(",", ":"))
        await self.websocket.send_text(text)

    async def close(self, code: int) -> None:
        if self.websocket.application_state != WebSocketState.DISCONNECTED:
            await self.websocket.close(code)


def frames(websocket: WebSocket) -> Callable[[], Awaitable[str | bytes | None]]:
    """The next frame, text or binary (the hub refuses binary), or ``None`` once gone."""

    async def receive() -> str | bytes | None:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return None
        text = message.get("text")
        if text is not None:
            return str(text)
        data = message.get("bytes")
        return bytes(data) if data is not None else b""

    return receive


async def _refuse(websocket: WebSocket, code: CloseCode) -> None:
    await websocket.send_text(json.dumps({"type": "error", "code": int(code)}))
    await websocket.close(int(code))


async def call_socket(websocket: WebSocket) -> None:
    state = ctx(websocket)
    await websocket.accept()
    try:
        await state.limiter.hit("token", client_ip(websocket))
    except RateLimited:
        await _refuse(websocket, CloseCode.TOO_MANY)
        return
    try:
        hub = hub_of(state)
    except RuntimeError:
        # The instance is shutting down: the client reconnects (to another instance).
        await websocket.close(int(CloseCode.TRY_AGAIN_LATER))
        return
    await hub.serve(StarletteConnection(websocket), frames(websocket))


routes: list[BaseRoute] = [WebSocketRoute("/ws/call", call_socket)]
