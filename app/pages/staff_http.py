"""Request plumbing shared by the staff and admin pages: translating errors, the live pages'
event streams; and the redirect after a post, which every page uses. Rendering, forms and CSRF
are the same for every page (``app/templating.py``, ``app/pages/forms.py``, ``app/csrf.py``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from app.auth import require_page_user
from booking.admin_validation import FieldErrors
from core.errors import DomainError
from core.i18n import Translator
from staff.models import StaffUser
from tenants.links import site_url


class _SiteRedirect(RedirectResponse):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.headers["location"] = site_url(scope, self.headers["location"])
        await super().__call__(scope, receive, send)


def redirect(url: str) -> Response:
    """The redirect of every page: to a site path (``/book/done``), sent with the request's
    root in front (a municipality's path prefix, ``tenants.links``); another host's URL as it
    is. 303: the browser follows with a GET, so reloading the result never re-sends the form."""
    return _SiteRedirect(url, status_code=303)


def field_messages(t: Translator, exc: DomainError) -> dict[str, str]:
    """Each field's translated message, for showing beside the fields; {} if none is named."""
    if isinstance(exc, FieldErrors):
        out: dict[str, str] = {}
        for error in exc.errors:
            out.setdefault(error.field, t.gettext(error.msgid, **error.params))
        return out
    if exc.field:
        return {exc.field: t.gettext(exc.msgid, **exc.params)}
    return {}


def error_message(t: Translator, exc: DomainError) -> str:
    return t.gettext(exc.msgid, **exc.params)


# --- the live pages' server-sent events ----------------------------------------------------------


@dataclass(frozen=True)
class Pacing:
    poll: float  # seconds between two reads
    stream: float  # the stream ends after this long (the browser reconnects by itself)
    heartbeat: float  # a comment after this long without an event, for idle proxies
    retry_ms: int  # how soon the browser reconnects


# A read gives what is compared between polls and, built only when that changed, the event's
# data.
Read = Callable[[StaffUser], Awaitable[tuple[str, Callable[[], str]]]]


def event_stream(request: Request, user: StaffUser, event: str, read: Read,
                 pacing: Pacing) -> Response:
    """A server-sent event stream (the agenda's and the inbox's): ``event`` at once and again
    whenever what ``read`` gives changes; it ends after ``pacing.stream`` or when the session
    ends (the reconnect then gets 401, which stops ``EventSource``)."""
    return StreamingResponse(_events(request, user, event, read, pacing),
                             media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


async def _events(request: Request, user: StaffUser, event: str, read: Read,
                  pacing: Pacing) -> AsyncIterator[str]:
    loop = asyncio.get_running_loop()
    started = quiet_since = loop.time()
    last = ""
    yield f"retry: {pacing.retry_ms}\n\n"
    while True:
        snapshot, body = await read(user)
        now = loop.time()
        if snapshot != last:
            last, quiet_since = snapshot, now
            yield f"event: {event}\ndata: {body()}\n\n"
        elif now - quiet_since >= pacing.heartbeat:
            quiet_since = now
            yield ": keep-alive\n\n"
        if now - started >= pacing.stream:
            return
        await asyncio.sleep(pacing.poll)
        try:  # a logout (or an expired session) ends the stream; the reconnect gets 401
            user = await require_page_user(request)
        except HTTPException:
            return
