"""Staff pages of the ID card / passport status: clerks upload the CSV their passport software
exports (``/staff/document-status``: one of their offices, the file, a summary of lines stored
and lines refused with why), admins set how an office's export is read
(``/staff/document-status/mapping?office=N``: the columns and the words for each status).

The upload is ``multipart/form-data`` read with a hard size limit, its CSRF token checked like
every form's; the lines are read and stored by ``idstatus.csv_import``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlmodel import col
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from app import csrf
from app.api.document_status import serial_keys
from app.api.online_documents import NotMultipart, read_multipart
from app.auth import require_page_user
from app.context import ctx
from app.pages.forms import read_form
from app.pages.staff_http import redirect
from app.templating import render, translator
from booking.models import Office
from core.errors import Forbidden, Invalid
from core.i18n import Translator
from idstatus.csv_import import (
    MAX_BYTES,
    Imported,
    Mapping,
    check_mapping,
    import_csv,
    load_mapping,
    save_mapping,
)
from staff.models import StaffUser
from staff.service import staff_actor, visible_office_ids

COLUMN_LABELS = {"type_column": "Document type", "serial_column": "Document number",
                 "status_column": "Status", "date_column": "Date"}
ERRORS_SHOWN = 200


async def _offices(request: Request, user: StaffUser) -> list[Office]:
    async with ctx(request).db.transaction() as session:
        ids = await visible_office_ids(session, user)
        offices = list((await session.execute(
            select(Office).where(col(Office.id).in_(ids)).order_by(col(Office.name))
        )).scalars())
        session.expunge_all()
    return offices


def _office_id(value: object, offices: list[Office]) -> int:
    """The office chosen in a form: one of the user's (403 otherwise); the only one when the
    user has one."""
    if len(offices) == 1 and value in (None, ""):
        assert offices[0].id is not None
        return offices[0].id
    if not isinstance(value, str) or not value.isdigit() or len(value) > 9:
        raise Invalid("Please choose an office.", field="office_id")
    if int(value) not in {o.id for o in offices}:
        raise Forbidden()
    return int(value)


def _summary(t: Translator, imported: Imported, mapping: Mapping) -> dict[str, Any]:
    rows = [(e.line, getattr(mapping, e.column) or t.gettext(COLUMN_LABELS[e.column]),
             t.gettext(e.msgid, **e.params)) for e in imported.errors[:ERRORS_SHOWN]]
    return {"accepted": imported.accepted, "errors": rows,
            "more_errors": max(len(imported.errors) - ERRORS_SHOWN, 0)}


async def _upload_page(request: Request, user: StaffUser, context: dict[str, Any],
                       status: int = 200) -> Response:
    offices = await _offices(request, user)
    base: dict[str, Any] = {
        "section": "document_status", "offices": [(str(o.id), o.name) for o in offices],
        "selected": None, "errors": {}, "result": None, "max_mb": MAX_BYTES // (1024 * 1024),
        "is_admin": user.role == "admin"}
    return render(request, "staff/document_status.html", {**base, **context}, status)


async def upload_page(request: Request) -> Response:
    user = await require_page_user(request)
    return await _upload_page(request, user, {})


async def upload_submit(request: Request) -> Response:
    user = await require_page_user(request)
    if request.headers.get("content-type", "").split(";")[0].strip().lower() \
            != "multipart/form-data":
        await read_form(request)  # without its token refused as every form is (403)
        raise NotMultipart()
    body = await read_multipart(request, max_bytes=MAX_BYTES, max_files=1, max_fields=10)
    csrf.check(request, body.fields)
    t = translator(request)
    offices = await _offices(request, user)
    selected = body.fields.get("office_id")
    try:
        office_id = _office_id(selected, offices)
        files = body.files.get("file", [])
        if not files or not files[0].data:
            raise Invalid("Please choose the CSV file to upload.", field="file")
        state = ctx(request)
        async with state.db.transaction(write=True) as session:
            imported = await import_csv(session, serial_keys(state), office_id, files[0].data,
                                        actor=staff_actor(user))
            mapping = await load_mapping(session, office_id)
    except Invalid as exc:
        errors = {exc.field or "file": t.gettext(exc.msgid, **exc.params)}
        return await _upload_page(request, user, {"errors": errors, "selected": selected}, 422)
    return await _upload_page(request, user, {"selected": str(office_id),
                                              "result": _summary(t, imported, mapping)})


# --- the mapping (admins) ----------------------------------------------------------------------


def _pairs_text(pairs: dict[str, str]) -> str:
    return "\n".join(f"{word} = {code}" for word, code in pairs.items())


async def _mapping_page(request: Request, user: StaffUser, office_id: int,
                        values: dict[str, str] | None, errors: dict[str, str],
                        status: int = 200) -> Response:
    offices = await _offices(request, user)
    if values is None:
        async with ctx(request).db.transaction() as session:
            mapping = await load_mapping(session, office_id)
        values = {"type_column": mapping.type_column, "serial_column": mapping.serial_column,
                  "status_column": mapping.status_column, "date_column": mapping.date_column,
                  "types": _pairs_text(mapping.types), "statuses": _pairs_text(mapping.statuses)}
    office = next(o for o in offices if o.id == office_id)
    return render(request, "staff/document_status_mapping.html", {
        "section": "document_status", "office": office, "values": values, "errors": errors,
        "saved": request.query_params.get("saved") == "1"}, status)


async def mapping_page(request: Request) -> Response:
    user = await require_page_user(request, role="admin")
    office_id = _office_id(request.query_params.get("office", ""), await _offices(request, user))
    return await _mapping_page(request, user, office_id, None, {})


async def mapping_submit(request: Request) -> Response:
    user = await require_page_user(request, role="admin")
    form = await read_form(request)
    office_id = _office_id(request.query_params.get("office", ""), await _offices(request, user))
    values = {name: form.get(name, "") for name in
              ("type_column", "serial_column", "status_column", "date_column", "types",
               "statuses")}
    try:
        mapping = check_mapping(values)
    except Invalid as exc:
        t = translator(request)
        errors: dict[str, str] = {}
        for field, msgid, params in exc.problems:
            errors.setdefault(field, t.gettext(msgid, **params))
        return await _mapping_page(request, user, office_id, values, errors, 422)
    async with ctx(request).db.transaction(write=True) as session:
        await save_mapping(session, office_id, mapping, actor=staff_actor(user))
    return redirect(f"/staff/document-status/mapping?office={office_id}&saved=1")


routes: list[BaseRoute] = [
    Route("/staff/document-status", upload_page, methods=["GET"]),
    Route("/staff/document-status", upload_submit, methods=["POST"]),
    Route("/staff/document-status/mapping", mapping_page, methods=["GET"]),
    Route("/staff/document-status/mapping", mapping_submit, methods=["POST"]),
]
