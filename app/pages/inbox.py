"""The clerk's inbox of online requests (``/staff/requests``) and its live updates.

The page is a plain GET page: tabs (links) for the views of ``online.inbox``, a GET form for
the filters (office, service, status) and one table row per request; requests the citizen
answered come first, highlighted. It works without JavaScript.

``GET /staff/requests/events`` keeps the page current the way ``/staff/agenda/events`` keeps
the agenda (``app/pages/desk.py``): a server-sent event stream that reads the same view again
every ``POLL_SECONDS`` and sends an ``inbox`` event whenever the rows or the tab counts changed
(a new request received, a citizen's answer, a status or a clerk changed), with the list
re-rendered as HTML; static/js/inbox-live.js swaps it in and announces the change politely.
Reading the database rather than listening to a pub/sub of changes sees every writer alike:
the citizen's API and pages, the worker, other instances, with or without Redis. A comment now
and then keeps idle proxies from closing it; it ends after ``STREAM_SECONDS`` (the browser
reconnects) and, without a valid session, answers 401 so that ``EventSource`` stops.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from app.auth import require_page_user, require_script_user
from app.context import ctx
from app.pages.inbox_views import InboxData, load_inbox
from app.pages.staff_http import Pacing, event_stream
from app.templating import render, translator
from core.types import utcnow
from staff.models import StaffUser

# Less often than the agenda's 2 s (a citizen waiting in a call): a reading is some twenty small
# queries (the view and each tab's count), and a new request may well wait five seconds.
POLL_SECONDS = 5.0
STREAM_SECONDS = 55.0
HEARTBEAT_SECONDS = 15.0
RETRY_MS = 3000
LIST_TEMPLATE = "staff/_requests_list.html"


async def _data(request: Request, user: StaffUser) -> InboxData:
    async with ctx(request).db.transaction() as session:
        return await load_inbox(session, translator(request), user,
                                dict(request.query_params), utcnow())


def _context(request: Request, data: InboxData) -> dict[str, Any]:
    t = translator(request)
    return {
        "section": "requests", "data": data, "tabs": data.tabs(t), "rows": data.rows,
        "events_url": "/staff/requests/events?" + data.query(lang=t.lang),
    }


async def inbox_page(request: Request) -> Response:
    user = await require_page_user(request)
    data = await _data(request, user)
    return render(request, "staff/requests.html", _context(request, data))


def _list_html(request: Request, data: InboxData) -> str:
    """The list as the page renders it (its table, or the sentence that it is empty)."""
    response = ctx(request).templates.response(request, LIST_TEMPLATE, _context(request, data))
    return bytes(response.body).decode()


async def inbox_events(request: Request) -> Response:
    # Without a session 401 (in the one JSON shape): EventSource then stops instead of retrying.
    user = await require_script_user(request)
    first: list[InboxData] = [await _data(request, user)]  # a refused filter is refused here

    async def read(user: StaffUser) -> tuple[str, Callable[[], str]]:
        data = first.pop() if first else await _data(request, user)
        live = data.live()
        return json.dumps(live, ensure_ascii=False, sort_keys=True), lambda: json.dumps(
            {**live, "html": _list_html(request, data)}, ensure_ascii=False)

    pacing = Pacing(POLL_SECONDS, STREAM_SECONDS, HEARTBEAT_SECONDS, RETRY_MS)
    return event_stream(request, user, "inbox", read, pacing)


routes: list[BaseRoute] = [
    Route("/staff/requests", inbox_page, methods=["GET"]),
    Route("/staff/requests/events", inbox_events, methods=["GET"]),
]
