"""The ASGI middleware that makes the request's municipality current (``tenants.hosts``,
``core.tenancy``): for every HTTP request and WebSocket, except the installation's own paths."""

from __future__ import annotations

from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from core.tenancy import CURRENT_MUNICIPALITY
from core.transactions import Transactions
from tenants.hosts import HostMap, unscoped

Locate = Callable[[Scope], tuple[Transactions, HostMap]]


def _host(scope: Scope) -> str:
    for key, value in scope.get("headers", []):
        if key == b"host":
            return str(value.decode("latin-1"))
    server = scope.get("server")
    return str(server[0]) if server else ""


class MunicipalityMiddleware:
    def __init__(self, app: ASGIApp, *, locate: Locate) -> None:
        self.app = app
        self.locate = locate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or unscoped(scope["path"]):
            await self.app(scope, receive, send)
            return
        db, hosts = self.locate(scope)
        place = await hosts.resolve(db, _host(scope), scope["path"])
        state = scope.setdefault("state", {})
        state["municipality"] = place
        state["town"] = place.name if hosts.several else ""  # named where there are several
        prefix = place.path_prefix.rstrip("/")
        if prefix and (scope["path"] == prefix or scope["path"].startswith(prefix + "/")):
            # The routes see the path below the prefix (Starlette's ``root_path``), and every
            # link the site gives out carries it again (``tenants.links``).
            scope["root_path"] = scope.get("root_path", "") + prefix
        token = CURRENT_MUNICIPALITY.set(place.id)
        try:
            await self.app(scope, receive, send)
        finally:
            CURRENT_MUNICIPALITY.reset(token)
