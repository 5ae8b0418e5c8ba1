"""Privacy pages: ``/admin/privacy`` (an admin exports or erases what is stored about one e-mail
address, erasure after a confirmation step) and the public ``/imprint``. The rules are in
``privacy.service``; the actions are shared with the API (``app/api/privacy.py``)."""

from __future__ import annotations

import json
import re

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from app.auth import require_page_user
from app.context import ctx
from app.mail_env import forget_mails_to
from app.pages.forms import read_form
from app.templating import render, translator
from booking import catalog
from privacy import actions as privacy
from privacy.service import subject_appointments
from staff.service import staff_actor
from tenants.service import current_municipality_texts

EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+$")


def _email(value: str | None) -> str:
    email = (value or "").strip()
    return email if len(email) <= 254 and EMAIL.match(email) else ""


async def _bad_email(request: Request, value: str) -> Response:
    t = translator(request)
    return render(request, "privacy/admin.html",
                  {"email": value[:254], "error": t.gettext("Please enter an e-mail address.")},
                  422)


async def admin_page(request: Request) -> Response:
    await require_page_user(request, role="admin")
    return render(request, "privacy/admin.html", {"email": "", "error": None})


async def admin_action(request: Request) -> Response:
    """The form's two buttons: ``action=export`` downloads the JSON, ``action=erase`` asks
    for confirmation first."""
    user = await require_page_user(request, role="admin")
    form = await read_form(request)
    email = _email(form.get("email"))
    if not email:
        return await _bad_email(request, form.get("email", ""))
    if form.get("action") == "erase":
        return await _confirm(request, email)
    async with ctx(request).db.transaction(write=True) as session:
        data = await privacy.export_subject(session, staff_actor(user), email)
    body = json.dumps(data, ensure_ascii=False, indent=2)
    return Response(body, media_type="application/json", headers={
        "Content-Disposition": 'attachment; filename="export.json"',
        "Cache-Control": "no-store",
    })


async def admin_erase(request: Request) -> Response:
    """First post: show what would be erased and ask to confirm; second (``confirm=yes``):
    erase and show what was erased and what a legal duty keeps."""
    user = await require_page_user(request, role="admin")
    form = await read_form(request)
    email = _email(form.get("email"))
    if not email:
        return await _bad_email(request, form.get("email", ""))
    if form.get("confirm") != "yes":
        return await _confirm(request, email)
    async with ctx(request).db.transaction(write=True) as session:
        result = await privacy.erase_subject(session, staff_actor(user), email)
    if result["erased"]:
        await forget_mails_to(ctx(request), email)
    return render(request, "privacy/result.html", {"email": email, "result": result})


async def _confirm(request: Request, email: str) -> Response:
    async with ctx(request).db.transaction() as session:
        references = [a.reference for a in await subject_appointments(session, email)]
    return render(request, "privacy/confirm.html", {"email": email, "references": references})


async def imprint(request: Request) -> Response:
    """The municipality's imprint, then each office's details."""
    async with ctx(request).db.transaction() as session:
        town = await current_municipality_texts(session)
        offices = [{"name": o.name, "authority": o.authority, "address": o.address,
                    "email": o.email, "phone": o.phone, "imprint": o.imprint}
                   for o in await catalog.offices(session)]
    return render(request, "privacy/imprint.html",
                  {"offices": offices, "own_text": town.imprint if town else ""})


routes: list[BaseRoute] = [
    Route("/admin/privacy", admin_page, methods=["GET"]),
    Route("/admin/privacy", admin_action, methods=["POST"]),
    Route("/admin/privacy/erase", admin_erase, methods=["POST"]),
    Route("/imprint", imprint, methods=["GET"]),
]
