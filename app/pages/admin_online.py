"""Admin pages of online services (``/admin/online-services``): list, create, edit (the service
and its form's fields as an editable table, ``app/pages/admin_online_forms.py``), take out of
service or delete. Admins only; a clerk gets a 403 page.

Saving calls the admin API's services (``online.catalogue``) with the API's dict, so the rules
and messages are the same; the fields are checked first (``field_specs``) so that the page
shows the service's and the table's problems at once, each beside its field or cell.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from app.api import online_schemas as o
from app.api.routing import ID
from app.auth import require_page_user
from app.context import ctx
from app.pages.admin_forms import FormValues, form_values, parse_form, submitted_values
from app.pages.admin_online_forms import (
    IDENTITIES,
    SERVICE_FIELDS,
    TYPE_LABELS,
    FieldsTable,
    field_dicts,
    read_rows,
    rearranged,
    rows_of,
    table_errors,
)
from app.pages.forms import Form, read_form
from app.pages.staff_http import error_message, field_messages, redirect
from app.templating import render, translator
from booking import admin
from booking.admin_validation import Duplicate, FieldErrors, clean
from core.errors import Conflict, DomainError, Invalid
from core.i18n import Translator
from online import catalogue
from staff.models import StaffUser
from staff.service import staff_actor

BASE = "/admin/online-services"
DONE = {
    "created": "Saved. The online service was created.",
    "updated": "Saved. Your changes are stored.",
    "deleted": "The online service was deleted.",
    "deactivated": "The online service is no longer offered. Its requests stay as they are.",
}
# The rules of the service's own fields, to report every malformed one at once.
SPECS = {**{k: v for k, v in admin.SERVICE_FIELDS.items() if k in catalogue.SERVICE_KEYS},
         **catalogue.ONLINE_FIELDS}
DEFAULTS: FormValues = {"fee_cents": "0", "processing_days": "10", "active": True,
                        "sort_order": "0", "identity": "none"}


async def _admin(request: Request) -> StaffUser:
    return await require_page_user(request, role="admin")


def _object_id(request: Request) -> int:
    value = request.path_params["id"]  # at most MAX_ID: larger ids match no route
    assert isinstance(value, int)
    return value


async def _choices(session: AsyncSession, t: Translator) -> dict[str, list[tuple[str, str]]]:
    offices = [(str(x.id), x.name) for x in await admin.list_offices(session)]
    video = [(str(s.id), s.name) for s in await admin.list_services(session) if s.video]
    return {"offices": offices,
            "video_services": [("", t.gettext("– none –")), *video]}


# --- the list ----------------------------------------------------------------------------------


async def list_page(request: Request) -> Response:
    await _admin(request)
    t = translator(request)
    async with ctx(request).db.transaction() as session:
        found = await catalogue.online_services(session)
        offices = {x.id: x.name for x in await admin.list_offices(session)}
    rows = [{
        "id": item.service.id, "name": item.service.name,
        "offices": ", ".join(offices.get(i, str(i)) for i in item.office_ids) or "–",
        "identity": t.gettext(IDENTITIES.get(item.identity, item.identity)),
        "days": t.ngettext("%(num)s day", "%(num)s days", item.online.processing_days),
        "fields": len(item.in_force),
        "active": t.gettext("yes") if item.service.active else t.gettext("no"),
    } for item in found]
    done = request.query_params.get("done", "")
    return render(request, "admin/online_services.html", {
        "section": "admin", "rows": rows,
        "notice": t.gettext(DONE[done]) if done in DONE else None,
    })


# --- create and edit ---------------------------------------------------------------------------


def _form(request: Request, *, object_id: int | None, values: FormValues, table: FieldsTable,
          choices: dict[str, list[tuple[str, str]]], errors: dict[str, str] | None = None,
          alert: str | None = None, notice: str | None = None, focus: str | None = None,
          status: int = 200) -> Response:
    t = translator(request)
    action = f"{BASE}/{object_id}" if object_id is not None else f"{BASE}/new"
    all_errors = {**(errors or {}), **table.errors}
    return render(request, "admin/online_service_form.html", {
        "section": "admin", "editing": object_id is not None, "object_id": object_id,
        "action": action, "switch_url": action, "fields": SERVICE_FIELDS, "values": values,
        "options": choices, "errors": all_errors, "rows": table.rows, "alert": alert,
        "notice": notice, "focus": focus,
        "types": [(k, t.gettext(v)) for k, v in TYPE_LABELS.items()],
        "identities": [{"value": k, "title": t.gettext(v)} for k, v in IDENTITIES.items()],
    }, status)


async def new_page(request: Request) -> Response:
    await _admin(request)
    async with ctx(request).db.transaction() as session:
        choices = await _choices(session, translator(request))
    return _form(request, object_id=None, values=dict(DEFAULTS),
                 table=FieldsTable(rows_of(translator(request), [])), choices=choices)


async def edit_page(request: Request) -> Response:
    await _admin(request)
    t = translator(request)
    async with ctx(request).db.transaction() as session:
        offered = await catalogue.online_service(session, _object_id(request))
        choices = await _choices(session, t)
    item = o.online_service_out(offered)
    values = {**form_values(item, SERVICE_FIELDS, t), "identity": offered.identity}
    return _form(request, object_id=_object_id(request), values=values,
                 table=FieldsTable(rows_of(t, offered.fields)), choices=choices)


def _values(t: Translator, form: Form, editing: bool, errors: dict[str, str]) -> dict[str, Any]:
    """The service's own values, typed; their problems go into ``errors``."""
    values: dict[str, Any] = {}
    try:
        values = parse_form(form, SERVICE_FIELDS, SPECS, editing=editing)
        clean(values, SPECS, required=["name"])  # every field's problem before saving
    except FieldErrors as exc:
        errors.update(field_messages(t, exc))
    identity = form.get("identity", "")
    if identity not in IDENTITIES:
        errors["identity"] = t.gettext("Please choose one of the options.")
    values["identity"] = identity
    return values


async def _save(request: Request, object_id: int | None) -> Response:
    user = await _admin(request)
    form = await read_form(request)
    t = translator(request)
    state = ctx(request)
    async with state.db.transaction() as session:
        if object_id is not None:
            await catalogue.online_service(session, object_id)  # 404 before any form error
        choices = await _choices(session, t)
    shown = {**submitted_values(form, SERVICE_FIELDS), "identity": form.get("identity", "")}
    rows, focus = rearranged(form, read_rows(form))
    if focus is not None:  # a move or a new row: the form again, not saved
        return _form(request, object_id=object_id, values=shown, table=FieldsTable(rows),
                     choices=choices, focus=focus, notice=t.gettext(
                         "The table has changed. Save to keep the changes."))
    errors: dict[str, str] = {}
    values = _values(t, form, object_id is not None, errors)
    fields, origin, cell_errors = field_dicts(t, rows)
    table = FieldsTable(rows, cell_errors)
    try:
        catalogue.field_specs(fields)
    except Invalid as exc:
        table.errors = {**table_errors(t, exc, origin), **cell_errors}
    if errors or table.errors:
        return _form(request, object_id=object_id, values=shown, table=table, choices=choices,
                     errors=errors, status=422)
    try:
        async with state.db.transaction(write=True) as session:
            data = {**values, "fields": fields}
            if object_id is None:
                await catalogue.create_online_service(session, staff_actor(user), data)
            else:
                await catalogue.update_online_service(session, staff_actor(user), object_id,
                                                      data)
    except (Invalid, Conflict, IntegrityError) as exc:
        error: DomainError = exc if isinstance(exc, DomainError) else Duplicate()
        table.errors = table_errors(t, error, origin)
        errors = {k: v for k, v in field_messages(t, error).items()
                  if not k.startswith("fields")}
        alert = None if errors or table.errors else error_message(t, error)
        return _form(request, object_id=object_id, values=shown, table=table, choices=choices,
                     errors=errors, alert=alert, status=error.status)
    return redirect(f"{BASE}?done={'updated' if object_id is not None else 'created'}")


async def create(request: Request) -> Response:
    return await _save(request, None)


async def update(request: Request) -> Response:
    return await _save(request, _object_id(request))


# --- take out of service, delete ---------------------------------------------------------------


async def _confirm(request: Request, object_id: int, *, alert: str | None = None,
                   status: int = 200) -> Response:
    async with ctx(request).db.transaction() as session:
        offered = await catalogue.online_service(session, object_id)
    return render(request, "admin/online_service_delete.html", {
        "section": "admin", "object_id": object_id, "service_name": offered.service.name,
        "active": offered.service.active, "alert": alert,
        "switch_url": f"{BASE}/{object_id}/delete",
    }, status)


async def delete_page(request: Request) -> Response:
    await _admin(request)
    return await _confirm(request, _object_id(request))


async def delete(request: Request) -> Response:
    user = await _admin(request)
    await read_form(request)
    object_id = _object_id(request)
    try:
        async with ctx(request).db.transaction(write=True) as session:
            await catalogue.delete_online_service(session, staff_actor(user), object_id)
    except Conflict as exc:
        return await _confirm(request, object_id, status=exc.status,
                              alert=error_message(translator(request), exc))
    return redirect(f"{BASE}?done=deleted")


async def deactivate(request: Request) -> Response:
    user = await _admin(request)
    await read_form(request)
    async with ctx(request).db.transaction(write=True) as session:
        await catalogue.update_online_service(session, staff_actor(user), _object_id(request),
                                              {"active": False})
    return redirect(f"{BASE}?done=deactivated")


routes: list[BaseRoute] = [
    Route(BASE, list_page, methods=["GET"]),
    Route(f"{BASE}/new", new_page, methods=["GET"]),
    Route(f"{BASE}/new", create, methods=["POST"]),
    Route(f"{BASE}/{ID}", edit_page, methods=["GET"]),
    Route(f"{BASE}/{ID}", update, methods=["POST"]),
    Route(f"{BASE}/{ID}/delete", delete_page, methods=["GET"]),
    Route(f"{BASE}/{ID}/delete", delete, methods=["POST"]),
    Route(f"{BASE}/{ID}/deactivate", deactivate, methods=["POST"]),
]
