"""The office's letter template (``/admin/offices/{id}/letters``): logo, wording, signature
line and legal-remedy text, and a sample fee notice as preview. Admins only.

The form is multipart (the logo). Saving is ``postcall.letter_templates.save_template``: it
renders a sample letter with the new template first and refuses (422, the reason beside the
form) what cannot be rendered. An office without an address or bank details gets the reason
instead of a preview.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from app.api.routing import ID
from app.auth import require_page_user
from app.context import ctx
from app.pages.forms import read_multipart_form
from app.pages.staff_http import error_message, field_messages, redirect
from app.templating import render, translator
from booking import admin
from booking.models import Office
from core.errors import Invalid
from postcall.letter_templates import (
    LOGO_MAX_BYTES,
    office_letter,
    render_sample,
    save_template,
)
from postcall.notices import LetterUnavailable, authority_for, office_authority, office_today
from staff.service import staff_actor

FORM_BYTES = LOGO_MAX_BYTES + 64 * 1024
FIELDS = ("greeting", "closing", "signature", "legal_remedy")


class NoLetterhead(Invalid):
    code = "letter_unavailable"
    message = ("This office cannot make letters yet: enter its address and its bank details "
               "(IBAN, BIC, bank) in the office form first.")


def _office_id(request: Request) -> int:
    value = request.path_params["id"]
    assert isinstance(value, int)
    return value


async def _page(request: Request, office: Office, values: dict[str, str], *,
                has_logo: bool, errors: dict[str, str] | None = None,
                alert: str | None = None, saved: bool = False, status: int = 200) -> Response:
    return render(request, "admin/letters.html", {
        "section": "admin", "office": office, "values": values, "has_logo": has_logo,
        "errors": errors or {}, "alert": alert, "saved": saved,
    }, status)


async def letters_page(request: Request) -> Response:
    await require_page_user(request, role="admin")
    office_id = _office_id(request)
    async with ctx(request).db.transaction() as session:
        office = await admin.get_office(session, office_id)
        letter = await office_letter(session, office_id)
    values: dict[str, Any] = {name: getattr(letter, name) if letter else "" for name in FIELDS}
    if letter is None:
        values.update(greeting="Guten Tag", closing="Mit freundlichen Grüßen")
    return await _page(request, office, values, has_logo=bool(letter and letter.logo),
                       saved=request.query_params.get("done") == "saved")


async def letters_save(request: Request) -> Response:
    user = await require_page_user(request, role="admin")
    office_id = _office_id(request)
    form = await read_multipart_form(request, max_bytes=FORM_BYTES, max_files=1, max_fields=12)
    values = {name: form.fields.get(name, "") for name in FIELDS}
    uploads = [upload for upload in form.files.get("logo", []) if upload.data]
    try:
        async with ctx(request).db.transaction(write=True) as session:
            office = await admin.get_office(session, office_id)
            try:
                authority = authority_for(office)
            except LetterUnavailable as exc:
                raise NoLetterhead() from exc
            await save_template(
                session, staff_actor(user), office_id, dict(values), authority=authority,
                logo=uploads[0].data if uploads else None,
                remove_logo=form.fields.get("remove_logo") == "yes", today=office_today(office),
            )
    except Invalid as exc:
        t = translator(request)
        async with ctx(request).db.transaction() as session:
            office = await admin.get_office(session, office_id)
            letter = await office_letter(session, office_id)
        errors = field_messages(t, exc)
        return await _page(request, office, values, has_logo=bool(letter and letter.logo),
                           errors=errors, alert=None if errors else error_message(t, exc),
                           status=exc.status)
    return redirect(f"/admin/offices/{office_id}/letters?done=saved")


async def letters_preview(request: Request) -> Response:
    await require_page_user(request, role="admin")
    office_id = _office_id(request)
    try:
        async with ctx(request).db.transaction() as session:
            office = await admin.get_office(session, office_id)
            authority = await office_authority(session, office)
    except LetterUnavailable as exc:
        raise NoLetterhead() from exc
    pdf = await asyncio.to_thread(render_sample, authority, office_today(office))
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": 'inline; filename="Vorschau-Gebuehrenbescheid.pdf"',
        "Cache-Control": "no-store",
    })


routes: list[BaseRoute] = [
    Route(f"/admin/offices/{ID}/letters", letters_page, methods=["GET"]),
    Route(f"/admin/offices/{ID}/letters", letters_save, methods=["POST"]),
    Route(f"/admin/offices/{ID}/letters/preview.pdf", letters_preview, methods=["GET"]),
]
