"""The accessibility statement ``/barrierefreiheit`` with its barrier report form (citizens),
its editing in ``/admin/accessibility`` (admins) and the reports' list ``/staff/barriers``
(every member of staff). Rules and checks: ``accessibility.service``."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from accessibility import service as accessibility
from accessibility import videos
from accessibility.models import Conformance
from app.api.http import client_key
from app.auth import require_page_user
from app.context import ctx
from app.pages.forms import read_form, read_multipart_form
from app.pages.staff_http import redirect
from app.templating import render, translator
from core.errors import Invalid
from core.i18n import Translator
from core.types import utcnow
from staff.service import staff_actor
from tenants.service import current_municipality_texts

REPORT_FIELDS = ("description", "page", "name", "email")
STATEMENT_FIELDS = ("conformance", "known_barriers", "alternatives", "prepared_on",
                    "feedback_contact", "arbitration_body")
CONFORMANCE_TEXTS = {
    Conformance.full.value: "This website is fully compatible with the requirements of BITV 2.0 "
    "(WCAG 2.1, level AA).",
    Conformance.partial.value: "This website is partially compatible with the requirements of "
    "BITV 2.0 (WCAG 2.1, level AA). The parts that are not accessible are listed below.",
    Conformance.none.value: "This website is not compatible with the requirements of BITV 2.0 "
    "(WCAG 2.1, level AA). The parts that are not accessible are listed below.",
}
CONFORMANCE_LABELS = {Conformance.full.value: "Fully compatible",
                      Conformance.partial.value: "Partially compatible",
                      Conformance.none.value: "Not compatible"}


def _errors(t: Translator, exc: Invalid) -> dict[str, str]:
    return {field: t.gettext(msgid, **params) for field, msgid, params in exc.problems}


async def _statement_page(request: Request, *, values: dict[str, str] | None = None,
                          errors: dict[str, str] | None = None, sent: str | None = None,
                          status: int = 200) -> Response:
    t = translator(request)
    async with ctx(request).db.transaction() as session:
        town = await current_municipality_texts(session)
        found = await accessibility.statement(session)
        shown = await videos.listed(session, "statement")
    context: dict[str, Any] = {
        "own_text": town.accessibility_statement if town else "",
        "statement": found, "values": values or {}, "errors": errors or {}, "sent": sent,
        "conformance_text": CONFORMANCE_TEXTS.get(found.conformance, "") if found else "",
        "prepared_on": t.date(found.prepared_on, "long") if found else "",
        "videos": shown, "switch_url": "/barrierefreiheit",
    }
    return render(request, "accessibility/statement.html", context, status)


async def statement_page(request: Request) -> Response:
    return await _statement_page(request)


async def report_submit(request: Request) -> Response:
    state = ctx(request)
    form = await read_form(request)
    values = {name: form.get(name, "")[:5000] for name in REPORT_FIELDS}
    t = translator(request)
    try:
        accessibility.check_report(accessibility.ReportInput(**values))
    except Invalid as exc:
        return await _statement_page(request, values=values, errors=_errors(t, exc), status=422)
    await state.limiter.hit("barrier_report", client_key(request))
    async with state.db.transaction(write=True) as session:
        report = await accessibility.report_barrier(
            session, accessibility.ReportInput(**values), locale=t.lang, now=utcnow(),
            answer_days=state.settings.barrier_answer_days)
    answer = t.date(report.answer_by, "long") if report.email else ""
    return await _statement_page(request, sent=answer or "-")


# --- staff: the reports, and the statement's editing ----------------------------------------


async def reports_page(request: Request) -> Response:
    await require_page_user(request)
    t = translator(request)
    async with ctx(request).db.transaction() as session:
        found = await accessibility.reports(session)
    rows = [{"id": r.id, "received": t.date(r.created_at.date(), "medium"),
             "answer_by": t.date(r.answer_by, "medium"), "page": r.page, "name": r.name,
             "email": r.email, "description": r.description, "lang": r.locale}
            for r in found]
    return render(request, "accessibility/reports.html", {"reports": rows,
                                                          "section": "barriers"})


def _statement_values(found: Any) -> dict[str, str]:
    if found is None:
        return {"conformance": Conformance.partial.value}
    return {"conformance": found.conformance, "known_barriers": found.known_barriers,
            "alternatives": found.alternatives, "prepared_on": found.prepared_on.isoformat(),
            "feedback_contact": found.feedback_contact,
            "arbitration_body": found.arbitration_body}


async def _admin_page(request: Request, values: dict[str, str], errors: dict[str, str],
                      status: int = 200, saved: bool = False,
                      video_values: dict[str, str] | None = None,
                      video_errors: dict[str, str] | None = None) -> Response:
    t = translator(request)
    async with ctx(request).db.transaction() as session:
        shown = await videos.listed(session, None)
    places = {place: t.gettext(name) for place, name in videos.PLACES.items()}
    return render(request, "accessibility/admin.html", {
        "section": "admin", "values": values, "errors": errors, "saved": saved,
        "conformance_options": [{"value": k, "title": t.gettext(v)}
                                for k, v in CONFORMANCE_LABELS.items()],
        "videos": shown, "place_names": places, "places_labels": list(places.items()),
        "video_errors": video_errors or {}, "video_values": video_values or {},
    }, status)


async def admin_page(request: Request) -> Response:
    await require_page_user(request, role="admin")
    async with ctx(request).db.transaction() as session:
        found = await accessibility.statement(session)
    return await _admin_page(request, _statement_values(found), {},
                             saved=request.query_params.get("saved") == "1")


async def admin_save(request: Request) -> Response:
    user = await require_page_user(request, role="admin")
    form = await read_form(request)
    values = {name: form.get(name, "") for name in STATEMENT_FIELDS}
    try:
        async with ctx(request).db.transaction(write=True) as session:
            await accessibility.save_statement(session, staff_actor(user),
                                               accessibility.StatementInput(**values))
    except Invalid as exc:
        return await _admin_page(request, values, _errors(translator(request), exc), 422)
    return redirect("/admin/accessibility?saved=1")


# --- sign-language videos: the admin's upload, and the files for the players ---------------------

VIDEO_FORM_OVERHEAD = 64 * 1024  # the form's text fields and part headers


async def video_upload(request: Request) -> Response:
    user = await require_page_user(request, role="admin")
    body = await read_multipart_form(
        request, max_bytes=videos.VIDEO_MAX_BYTES + videos.CAPTIONS_MAX_BYTES
        + VIDEO_FORM_OVERHEAD, max_files=2, max_fields=10)
    given = {"title": body.fields.get("title", "")[:500], "place": body.fields.get("place", "")}
    video = body.files.get("video", [])
    captions = body.files.get("captions", [])
    try:
        async with ctx(request).db.transaction(write=True) as session:
            await videos.add(session, staff_actor(user), place=given["place"],
                             title=given["title"], video=video[0].data if video else b"",
                             captions=captions[0].data if captions else b"")
    except Invalid as exc:
        async with ctx(request).db.transaction() as session:
            found = await accessibility.statement(session)
        return await _admin_page(request, _statement_values(found), {}, 422,
                                 video_values=given,
                                 video_errors=_errors(translator(request), exc))
    return redirect("/admin/accessibility?saved=1#sign-videos")


async def video_delete(request: Request) -> Response:
    user = await require_page_user(request, role="admin")
    await read_form(request)
    async with ctx(request).db.transaction(write=True) as session:
        await videos.remove(session, staff_actor(user), request.path_params["id"])
    return redirect("/admin/accessibility#sign-videos")


async def video_file(request: Request) -> Response:
    """The video, whole or the byte range the player asks for (206; 416 past its end)."""
    async with ctx(request).db.transaction() as session:
        media_type, data = await videos.video_of(session, request.path_params["id"])
    headers = {"Cache-Control": "public, max-age=3600", "Content-Disposition": "inline",
               "Accept-Ranges": "bytes"}
    try:
        wanted = videos.byte_range(request.headers.get("range"), len(data))
    except videos.RangeNotSatisfiable:
        return Response(b"", status_code=416,
                        headers={**headers, "Content-Range": f"bytes */{len(data)}"})
    if wanted is None:
        return Response(data, media_type=media_type, headers=headers)
    first, last = wanted
    return Response(data[first:last + 1], status_code=206, media_type=media_type,
                    headers={**headers, "Content-Range": f"bytes {first}-{last}/{len(data)}"})


async def video_captions(request: Request) -> Response:
    async with ctx(request).db.transaction() as session:
        text = await videos.captions_of(session, request.path_params["id"])
    return Response(text, media_type="text/vtt; charset=utf-8",
                    headers={"Cache-Control": "public, max-age=3600"})


routes: list[BaseRoute] = [
    Route("/barrierefreiheit", statement_page, methods=["GET"]),
    Route("/barrierefreiheit", report_submit, methods=["POST"]),
    Route("/staff/barriers", reports_page, methods=["GET"]),
    Route("/admin/accessibility", admin_page, methods=["GET"]),
    Route("/admin/accessibility", admin_save, methods=["POST"]),
    Route("/admin/accessibility/videos", video_upload, methods=["POST"]),
    Route("/admin/accessibility/videos/{id:int}/delete", video_delete, methods=["POST"]),
    Route("/sign-videos/{id:int}", video_file, methods=["GET"]),
    Route("/sign-videos/{id:int}/captions.vtt", video_captions, methods=["GET"]),
]
