"""Admin pages (``/admin``): list, create, edit and delete offices, services, schedules,
closures and staff accounts. Admins only; a clerk gets a 403 page.

Every resource uses the same handlers and templates, driven by ``app.pages.admin_forms`` and
the domain services behind the admin API, so pages and API share one set of rules.
Deleting asks for confirmation on a page of its own (no script needed).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from app.api.admin import RESOURCES, Resource
from app.api.routing import ID
from app.auth import require_page_user
from app.context import ctx
from app.pages.admin_forms import (
    PAGE_RESOURCES,
    FormValues,
    Lookups,
    PageResource,
    choice_options,
    form_values,
    parse_form,
    submitted_values,
)
from app.pages.forms import read_form
from app.pages.staff_http import error_message, field_messages, redirect
from app.templating import render, translator
from booking import admin
from booking.admin_validation import Duplicate
from core.errors import Conflict, DomainError, Invalid, NotFound
from core.types import utcnow
from staff.models import StaffUser
from staff.service import staff_actor

API_RESOURCES: dict[str, Resource] = {r.path: r for r in RESOURCES}

DONE_MESSAGES = {
    "created": "Saved. The entry was created.",
    "updated": "Saved. Your changes are stored.",
    "deleted": "The entry was deleted.",
}


def _resource(request: Request) -> tuple[PageResource, Resource]:
    page = PAGE_RESOURCES.get(request.path_params["resource"])
    if page is None:
        raise NotFound()
    return page, API_RESOURCES[page.api_name]


def _object_id(request: Request) -> int:
    value = request.path_params["id"]  # at most MAX_ID: larger ids match no route (app.api.routing)
    assert isinstance(value, int)
    return value


async def _admin(request: Request) -> StaffUser:
    return await require_page_user(request, role="admin")


async def _lookups(session: AsyncSession) -> Lookups:
    offices = {o.id: o.name for o in await admin.list_offices(session) if o.id is not None}
    services = {s.id: s.name for s in await admin.list_services(session) if s.id is not None}
    return Lookups(offices, services, await admin.service_office_ids(session))


async def _load(request: Request, res: Resource, object_id: int) -> tuple[dict[str, Any], Lookups]:
    async with ctx(request).db.transaction() as session:
        item = (await res.render(session, [await res.get(session, object_id)]))[0]
        lookups = await _lookups(session)
    return item, lookups


# --- overview and lists ------------------------------------------------------------------------


async def index(request: Request) -> Response:
    await _admin(request)
    counts: dict[str, int] = {}
    async with ctx(request).db.transaction() as session:
        for page in PAGE_RESOURCES.values():
            counts[page.path] = len(await API_RESOURCES[page.api_name].list_all(session))
    return render(request, "admin/index.html", {
        "section": "admin", "pages": list(PAGE_RESOURCES.values()), "counts": counts,
    })


def _done_notice(request: Request) -> tuple[str | None, str | None]:
    t = translator(request)
    done = request.query_params.get("done", "")
    notice = t.gettext(DONE_MESSAGES[done]) if done in DONE_MESSAGES else None
    affected = request.query_params.get("affected", "")
    warning = None
    if affected.isdigit() and int(affected) > 0:
        warning = t.ngettext(
            "%(num)s active appointment falls on this day. It was not cancelled: please "
            "contact the citizen and cancel or move it.",
            "%(num)s active appointments fall on this day. They were not cancelled: please "
            "contact the citizens and cancel or move them.",
            int(affected),
        )
    return notice, warning


async def list_page(request: Request) -> Response:
    await _admin(request)
    page, res = _resource(request)
    t = translator(request)
    async with ctx(request).db.transaction() as session:
        items = await res.render(session, await res.list_all(session))
        lookups = await _lookups(session)
    rows = [
        {"id": item["id"], "cells": page.cells(item, lookups, t),
         "label": page.label(item, lookups, t)}
        for item in items
    ]
    notice, warning = _done_notice(request)
    return render(request, "admin/list.html", {
        "section": "admin", "page": page, "rows": rows, "notice": notice, "warning": warning,
    })


# --- create and edit ---------------------------------------------------------------------------


def _form(
    request: Request, page: PageResource, lookups: Lookups, values: FormValues, *,
    object_id: int | None, errors: dict[str, str] | None = None, alert: str | None = None,
    status: int = 200,
) -> Response:
    editing = object_id is not None
    base = f"/admin/{page.path}"
    action = f"{base}/{object_id}" if editing else f"{base}/new"
    return render(request, "admin/form.html", {
        "section": "admin", "page": page, "fields": page.fields, "values": values,
        "errors": errors or {}, "alert": alert, "editing": editing, "action": action,
        "cancel_url": base, "object_id": object_id, "switch_url": action,
        "options": choice_options(lookups, translator(request), values.get("office_id")),
    }, status)


async def new_page(request: Request) -> Response:
    await _admin(request)
    page, _res = _resource(request)
    async with ctx(request).db.transaction() as session:
        lookups = await _lookups(session)
    values = dict(page.defaults)
    if page.path == "schedules":
        values["valid_from"] = utcnow().date().isoformat()
        office = request.query_params.get("office_id", "")
        if office.isdigit() and int(office) in lookups.offices:
            values["office_id"] = office
        elif len(lookups.offices) == 1:
            values["office_id"] = str(next(iter(lookups.offices)))
    return _form(request, page, lookups, values, object_id=None)


async def _save(request: Request, object_id: int | None) -> Response:
    """Create (``object_id`` None) or change an object from the posted form."""
    user = await _admin(request)
    page, res = _resource(request)
    form = await read_form(request)
    editing = object_id is not None
    if object_id is not None:
        async with ctx(request).db.transaction() as session:
            await res.get(session, object_id)  # 404 before any form error
    affected: int | None = None
    try:
        values = parse_form(form, page.fields, page.specs, editing=editing)
        async with ctx(request).db.transaction(write=True) as session:
            if object_id is None:
                item = await res.create(session, staff_actor(user), values)
            else:
                item = await res.update(session, staff_actor(user), object_id, values)
            if isinstance(item, tuple):  # closures also report the appointments on that day
                affected = item[1]
    except (Invalid, Conflict, IntegrityError) as exc:
        error: DomainError = exc if isinstance(exc, DomainError) else Duplicate()
        t = translator(request)
        errors = field_messages(t, error)
        async with ctx(request).db.transaction() as session:
            lookups = await _lookups(session)
        return _form(request, page, lookups, submitted_values(form, page.fields),
                     object_id=object_id, errors=errors,
                     alert=None if errors else error_message(t, error), status=error.status)
    url = f"/admin/{page.path}?done={'updated' if editing else 'created'}"
    if affected:
        url += f"&affected={affected}"
    return redirect(url)


async def create(request: Request) -> Response:
    return await _save(request, None)


async def edit_page(request: Request) -> Response:
    await _admin(request)
    page, res = _resource(request)
    object_id = _object_id(request)
    item, lookups = await _load(request, res, object_id)
    values = form_values(item, page.fields, translator(request))
    return _form(request, page, lookups, values, object_id=object_id)


async def update(request: Request) -> Response:
    return await _save(request, _object_id(request))


# --- delete ------------------------------------------------------------------------------------


def _confirm(request: Request, page: PageResource, object_id: int, label: str, *,
             alert: str | None = None, status: int = 200) -> Response:
    t = translator(request)
    return render(request, "admin/confirm_delete.html", {
        "section": "admin", "page": page, "object_id": object_id,
        "question": t.gettext(page.delete_text, label=label), "alert": alert,
        "action": f"/admin/{page.path}/{object_id}/delete", "cancel_url": f"/admin/{page.path}",
        "switch_url": f"/admin/{page.path}/{object_id}/delete",
    }, status)


async def delete_page(request: Request) -> Response:
    await _admin(request)
    page, res = _resource(request)
    object_id = _object_id(request)
    item, lookups = await _load(request, res, object_id)
    return _confirm(request, page, object_id, page.label(item, lookups, translator(request)))


async def delete(request: Request) -> Response:
    user = await _admin(request)
    page, res = _resource(request)
    object_id = _object_id(request)
    await read_form(request)
    try:
        async with ctx(request).db.transaction(write=True) as session:
            await res.delete(session, staff_actor(user), object_id)
    except Conflict as exc:
        item, lookups = await _load(request, res, object_id)
        t = translator(request)
        return _confirm(request, page, object_id, page.label(item, lookups, t),
                        alert=error_message(t, exc), status=exc.status)
    return redirect(f"/admin/{page.path}?done=deleted")


routes: list[BaseRoute] = [
    Route("/admin", index, methods=["GET"]),
    Route("/admin/{resource}", list_page, methods=["GET"]),
    Route("/admin/{resource}/new", new_page, methods=["GET"]),
    Route("/admin/{resource}/new", create, methods=["POST"]),
    Route(f"/admin/{{resource}}/{ID}", edit_page, methods=["GET"]),
    Route(f"/admin/{{resource}}/{ID}", update, methods=["POST"]),
    Route(f"/admin/{{resource}}/{ID}/delete", delete_page, methods=["GET"]),
    Route(f"/admin/{{resource}}/{ID}/delete", delete, methods=["POST"]),
]
