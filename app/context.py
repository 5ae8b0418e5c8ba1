"""The application's state, built once in the lifespan and reached from handlers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from starlette.requests import HTTPConnection, Request
from starlette.responses import HTMLResponse

from app.db import Database
from app.settings import Settings
from booking.links import LinkKeys
from core.i18n import I18n
from tenants.hosts import HostMap

if TYPE_CHECKING:
    from core.ratelimit import RateLimiter


class PageTemplates(Protocol):
    """What handlers use of the pages' templates (``app.templating.Templates``); a protocol,
    since the templates' own module reads this context for the request's tokens."""

    def response(self, request: Request, name: str, context: dict[str, Any] | None = None,
                 status: int = 200) -> HTMLResponse: ...


@dataclass
class AppContext:
    settings: Settings
    db: Database
    links: LinkKeys
    i18n: I18n
    secret_key: bytes
    templates: PageTemplates
    limiter: RateLimiter
    hosts: HostMap = field(default_factory=HostMap)  # which municipality a host serves
    extras: dict[str, Any] = field(default_factory=dict)


def ctx(conn: HTTPConnection) -> AppContext:
    value = conn.app.state.ctx
    assert isinstance(value, AppContext)
    return value


def print_room_takes_all(state: AppContext) -> bool:
    """Whether letters no provider took yet belong in the print room's batches."""
    return state.settings.dispatch_provider != "hybrid"
