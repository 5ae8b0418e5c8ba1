"""``WebSocket /ws/call``: the signalling endpoint (CONTRACT §4), a thin adapter to the hub.

The token arrives in the ``hello`` frame, never in the URL, so it cannot reach an access log.
Each connection first counts against the per-IP ``token`` rate limit, like the citizen API.
No cookies are read: without the token a connection from another site gets nowhere, so there is
no cross-site WebSocket hijacking to guard against.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.routing import BaseRoute, WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketState

from app.api.http import client_key
from app.calls import hub_of
from app.context import ctx
from core.errors import RateLimited
from signaling import CloseCode

log = logging.getLogger("buergerbuero.ws")


class StarletteConnection:
    """A Starlette WebSocket as the hub's ``Connection``.

    Frames go straight to the ASGI ``send`` callable when one is given: ``WebSocket.send``
    checks the connection state and converts errors on every frame, which the relay pays per
    message (a failed send raises here all the same and the hub drops the connection).
    Opening and closing go through the ``WebSocket``, which tracks the state."""

    def __init__(self, websocket: WebSocket, send: Send | None = None) -> None:
        self.websocket = websocket
        self._send: Callable[[Any], Awaitable[None]] = send or websocket.send

    async def send(self, message: dict[str, Any] | str) -> None:
        text = message if isinstance(message, str) else json.dumps(message, separators=(",", ":"))
        await self._send({"type": "websocket.send", "text": text})

    async def close(self, code: int) -> None:
        if self.websocket.application_state != WebSocketState.DISCONNECTED:
            await self.websocket.close(code)


def frames(
    websocket: WebSocket, receive: Receive | None = None
) -> Callable[[], Awaitable[str | bytes | None]]:
    """The next frame, text or binary (the hub refuses binary), or ``None`` once gone.

    With the ASGI ``receive`` callable (after the handshake) frames are read from it directly,
    without ``WebSocket.receive``'s state checks per frame."""
    if receive is None:
        receive = websocket.receive

    async def next_frame() -> str | bytes | None:
        message = await receive()
        if message["type"] != "websocket.receive":  # websocket.disconnect
            return None
        text = message.get("text")
        if type(text) is str:
            return text
        data = message.get("bytes")
        return bytes(data) if data is not None else b""

    return next_frame


async def _refuse(websocket: WebSocket, code: CloseCode) -> None:
    await websocket.send_text(json.dumps({"type": "error", "code": int(code)}))
    await websocket.close(int(code))


async def call_socket(
    websocket: WebSocket, receive: Receive | None = None, send: Send | None = None
) -> None:
    state = ctx(websocket)
    await websocket.accept()
    try:
        await state.limiter.hit("token", client_key(websocket))
    except RateLimited:
        await _refuse(websocket, CloseCode.TOO_MANY)
        return
    try:
        hub = hub_of(state)
    except RuntimeError:
        # The instance is shutting down: the client reconnects (to another instance).
        await websocket.close(int(CloseCode.TRY_AGAIN_LATER))
        return
    # The connection runs in a task of its own: each frame resumes the reading coroutine, and
    # in the endpoint's task that means resuming every middleware and router frame above it
    # too. Awaiting the task passes its outcome up; cancelling this one cancels it.
    await asyncio.get_running_loop().create_task(
        hub.serve(StarletteConnection(websocket, send), frames(websocket, receive)),
        name="ws-call",
    )


class _CallEndpoint:
    """``/ws/call`` as a plain ASGI app (Starlette treats a function endpoint as taking a
    ``WebSocket``, an object as an ASGI app), so the relay reaches the ASGI callables. Errors
    propagate to the app's exception middleware as they would from a function endpoint."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await call_socket(WebSocket(scope, receive, send), receive, send)


routes: list[BaseRoute] = [WebSocketRoute("/ws/call", _CallEndpoint())]
