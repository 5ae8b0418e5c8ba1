"""One online request on one screen (``/staff/requests/{reference}``) and what a clerk does with
it: take it up or hand it to a clerk of its office, ask the citizen (with the documents still
needed), complete it (the call page's completion form), reject it with reasons (after a
confirmation step) and invite the citizen to a video appointment for the identity check; and
its documents as downloads (``Content-Disposition: attachment``, never cached, as the API's).

Every action is a plain POST form with the session's CSRF token that calls one service of
``online.inbox``, the same as the API (``app/api/online_clerk.py``); it answers 303 back to the
page with a notice, or the page again with the domain's message beside the field it is about
(422/409), never a 500. Access as in the API: an unknown reference is 404, another office's
request 403 (``online.inbox.request_for_staff``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from app.api.clerk_cases import case_policy
from app.api.online_documents import attachment
from app.api.routing import ID
from app.auth import require_page_user
from app.context import ctx
from app.pages.desk_forms import FormInvalid, completion_error, read_completion
from app.pages.forms import Form, read_form
from app.pages.inbox_detail import Forms, request_view
from app.pages.inbox_forms import ask_values, assign_values, form_error, reject_values
from app.pages.staff_http import redirect
from app.templating import render, translator
from core.errors import Conflict, DomainError, Invalid, NotFound
from core.types import utcnow
from online import documents, inbox
from staff.models import StaffUser
from staff.service import get_user

# Errors about the request itself, not the form: the usual error page.
_NOT_THE_FORM = (401, 403, 404)
NOTICES = {
    "assigned": "The request has been assigned.",
    "asked": "Your message has been sent to the citizen. The request now waits for the "
             "citizen's answer.",
    "completed": "The request is completed.",
    "rejected": "The request has been rejected. The citizen receives the rejection notice by "
                "e-mail.",
    "invited": "The citizen has been asked to book a video appointment for the identity check.",
}
ANCHORS = {"assign": "request-assign", "ask": "request-ask", "reject": "request-reject",
           "invite": "request-identity", "completion": "request-complete"}


def _reference(request: Request) -> str:
    return str(request.path_params["reference"])[:20]


def _url(request: Request, **extra: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in extra.items() if k != "anchor")
    anchor = f"#{extra['anchor']}" if "anchor" in extra else ""
    return f"/staff/requests/{_reference(request)}{'?' + query if query else ''}{anchor}"


async def _page(request: Request, user: StaffUser, *, forms: Forms | None = None,
                status: int = 200, alert: str | None = None) -> Response:
    state = ctx(request)
    t = translator(request)
    async with state.db.transaction() as session:
        entry = await inbox.request_for_staff(session, user, _reference(request))
        view = await request_view(session, t, user, entry,
                                  online_payment=bool(state.settings.stripe_secret_key),
                                  now=utcnow(), forms=forms)
    done = request.query_params.get("done", "")
    notice = t.gettext(NOTICES[done]) if done in NOTICES and status == 200 else None
    if alert is None and forms is not None and not view.is_open:
        # The request was closed meanwhile: its forms are gone, so say it at the top.
        refused = [f.errors.get("") for f in (forms.assign, forms.ask, forms.reject,
                                               forms.invite, forms.completion) if f]
        alert = next((m for m in refused if m), None)
    return render(request, "staff/request.html", {
        "section": "requests", "view": view, "notice": notice, "alert": alert,
        "switch_url": _url(request),
    }, status)


async def request_page(request: Request) -> Response:
    user = await require_page_user(request)
    return await _page(request, user)


Action = Callable[[AsyncSession, inbox.Entry, StaffUser], Awaitable[Any]]


async def _act(request: Request, name: str, read: Callable[[Form], dict[str, Any]],
               action: Callable[[dict[str, Any]], Action], done: str) -> Response:
    user = await require_page_user(request)
    return await _act_with(request, user, await read_form(request), name, read, action, done)


async def assign(request: Request) -> Response:
    def action(values: dict[str, Any]) -> Action:
        async def run(session: AsyncSession, entry: inbox.Entry, user: StaffUser) -> None:
            raw = values["staff_id"]
            assignee = None
            if raw and raw != str(user.id):
                try:
                    if not raw.isdigit():
                        raise NotFound()
                    assignee = await get_user(session, int(raw))
                except NotFound as exc:
                    raise Invalid("This person does not work for the request's office.",
                                  field="staff_id") from exc
            await inbox.claim(session, entry, user, assignee=assignee)
        return run
    return await _act(request, "assign", assign_values, action, "assigned")


async def ask(request: Request) -> Response:
    def action(values: dict[str, Any]) -> Action:
        async def run(session: AsyncSession, entry: inbox.Entry, user: StaffUser) -> None:
            await inbox.ask(session, entry, user, values["text"], values["documents"])
        return run
    return await _act(request, "ask", ask_values, action, "asked")


async def invite_video(request: Request) -> Response:
    def action(values: dict[str, Any]) -> Action:
        async def run(session: AsyncSession, entry: inbox.Entry, user: StaffUser) -> None:
            await inbox.invite_video(session, entry, user)
        return run
    return await _act(request, "invite", lambda form: {}, action, "invited")


async def reject(request: Request) -> Response:
    """Without ``confirm=yes`` the confirmation step (its reasons still editable); with it the
    rejection."""
    user = await require_page_user(request)
    form = await read_form(request)
    if form.get("confirm") == "yes":
        def action(values: dict[str, Any]) -> Action:
            async def run(session: AsyncSession, entry: inbox.Entry, user: StaffUser) -> None:
                await inbox.reject(session, entry, user, values["reason"])
            return run
        return await _act_with(request, user, form, "reject", reject_values, action, "rejected")
    values = reject_values(form)
    t = translator(request)
    if not values["reason"].strip():
        missing = Invalid("Please give the reasons for the rejection.", field="reason")
        return await _page(request, user, status=422,
                           forms=Forms(reject=form_error(t, "reject", values, missing)))
    async with ctx(request).db.transaction() as session:
        entry = await inbox.request_for_staff(session, user, _reference(request))
    return render(request, "staff/request_reject.html", {
        "section": "requests", "reference": entry.case.reference, "reason": values["reason"],
        "switch_url": _url(request),
    })


async def _act_with(request: Request, user: StaffUser, form: Form, name: str,
                    read: Callable[[Form], dict[str, Any]],
                    action: Callable[[dict[str, Any]], Action], done: str) -> Response:
    """Read the form ``name``, run ``action`` on the request in one transaction, and answer
    (see the module doc)."""
    values = read(form)
    try:
        async with ctx(request).db.transaction(write=True) as session:
            entry = await inbox.request_for_staff(session, user, _reference(request))
            await action(values)(session, entry, user)
    except DomainError as exc:
        if exc.status in _NOT_THE_FORM:
            raise
        state = form_error(translator(request), name, values, exc)
        return await _page(request, user, forms=Forms(**{name: state}), status=exc.status)
    return redirect(_url(request, done=done, anchor=ANCHORS[name]))


async def complete(request: Request) -> Response:
    user = await require_page_user(request)
    form = await read_form(request)
    t = translator(request)
    state = ctx(request)
    try:
        data, rows = read_completion(t, form)
    except FormInvalid as invalid:
        return await _page(request, user, forms=Forms(completion=invalid.state), status=422)
    try:
        async with state.db.transaction(write=True) as session:
            entry = await inbox.request_for_staff(session, user, _reference(request))
            await inbox.complete(session, entry, user, data, case_policy(state.settings))
    except IntegrityError as exc:  # a concurrent completion won (the unique keys hold)
        problem: DomainError = Conflict()
        problem.__cause__ = exc
        return await _page(request, user, status=problem.status, forms=Forms(
            completion=completion_error(t, form, problem, rows)))
    except DomainError as exc:
        if exc.status in _NOT_THE_FORM:
            raise
        return await _page(request, user, status=exc.status, forms=Forms(
            completion=completion_error(t, form, exc, rows)))
    return redirect(_url(request, done="completed", anchor="request-case"))


async def document(request: Request) -> Response:
    """A document of the request, as a download for the staff of its office only (403 for
    another office's request, 404 for a document of another request)."""
    user = await require_page_user(request)
    state = ctx(request)
    async with state.db.transaction() as session:
        entry = await inbox.request_for_staff(session, user, _reference(request))
        assert entry.case.id is not None
        found, data = await documents.read(session, entry.case.id, request.path_params["id"],
                                           state.secret_key)
    return attachment(found, data)


async def back_to_request(request: Request) -> Response:
    """A GET of a post's address (a bookmark, or the language link of a refused post)."""
    query = f"?{request.url.query}" if request.url.query else ""
    return redirect(f"/staff/requests/{_reference(request)}{query}")

BASE = "/staff/requests/{reference}"
ACTIONS = {"assign": assign, "ask": ask, "complete": complete, "reject": reject,
           "invite-video": invite_video}
routes: list[BaseRoute] = [
    Route(BASE, request_page, methods=["GET"]),
    Route(f"{BASE}/documents/{ID}", document, methods=["GET"]),
    *[Route(f"{BASE}/{path}", handler, methods=["POST"]) for path, handler in ACTIONS.items()],
    *[Route(f"{BASE}/{path}", back_to_request, methods=["GET"]) for path in ACTIONS],
]
