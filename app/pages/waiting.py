"""The clerk's message to those waiting (``POST /staff/waiting-message``), from the agenda and
from the call page.

Form fields: ``text`` (at most 500 characters), ``reference`` (one appointment; empty: every
appointment of the clerk's offices whose video room is open now), ``csrf_token``, ``next``
(where a plain form post returns to). A page script asks with ``Accept: application/json`` and
gets ``{"sent": n, "references": [...], "sent_at"}`` or the one error shape (422 empty or too
long, 409 the room is not open, 403/404 as elsewhere); a plain form post is redirected back to
``next`` with ``?done=waiting_message``.

The text goes to each citizen's waiting screen through the signalling hub (over the bus, so on
any instance) and stays in the room state for citizens who arrive later; the audit keeps only
who wrote to whom and the message's length (``calls.waiting``).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from app.auth import require_page_user, require_script_user
from app.calls import hub_of
from app.context import ctx
from app.pages.forms import read_form
from app.pages.staff_http import redirect
from calls.waiting import clean_text, recipients
from core.types import utcnow
from signaling.waitroom import tell_citizen
from tenants.links import safe_next


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


async def waiting_message(request: Request) -> Response:
    if _wants_json(request):
        user = await require_script_user(request)
    else:
        user = await require_page_user(request)
    form = await read_form(request)
    state = ctx(request)
    settings = state.settings
    hub = hub_of(state)
    text = clean_text(form.get("text", ""))
    reference = form.get("reference", "").strip()[:20] or None
    async with state.db.transaction(write=True) as session:
        found = await recipients(
            session, user, reference, text, now=utcnow(),
            before_minutes=settings.join_before_minutes,
            after_minutes=settings.join_after_minutes, grace=hub.limits.room_grace)
    sent_at = utcnow()
    for recipient in found:
        note = await tell_citizen(hub, recipient.reference, text, recipient.keep_until)
        sent_at = note.sent_at
    if _wants_json(request):
        return JSONResponse({"sent": len(found), "references": [r.reference for r in found],
                             "sent_at": sent_at.isoformat()},
                            headers={"Cache-Control": "no-store"})
    target = safe_next(form.get("next"))
    return redirect(f"{target}{'&' if '?' in target else '?'}done=waiting_message")


routes: list[BaseRoute] = [
    Route("/staff/waiting-message", waiting_message, methods=["POST"]),
]
