"""The public ID card / passport status page ``/document-status`` (fields ``document_type``
and ``serial``), as Meschede's portal offers it: in plain words where the document is, since
when, where it is picked up (address, opening hours from the office's schedules, closures in
the next two weeks), and, while it is not yet there, a form to be told once by e-mail.

Every step is a POST with the CSRF token (the number stays out of URLs and logs); the lookup is
``app.api.document_status.guarded_lookup``, the API's own, behind the same per-client limit.
Works without JavaScript.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from app.api.document_status import guarded_lookup, guarded_notify
from app.context import ctx
from app.pages.forms import read_form
from app.templating import render, request_language, translator
from core.errors import Invalid
from core.i18n import Translator
from idstatus.lookup import AlreadyReady, DocumentNotFound, Found, Hours, opening_hours
from idstatus.models import DocumentState

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
HEADLINES = {
    ("id_card", "in_production"): "Your ID card is being made at the Bundesdruckerei.",
    ("id_card", "shipped"): "Your ID card is on its way to us.",
    ("id_card", "ready"): "Your ID card is ready for you to pick up.",
    ("id_card", "collected"): "Your ID card has been picked up.",
    ("passport", "in_production"): "Your passport is being made at the Bundesdruckerei.",
    ("passport", "shipped"): "Your passport is on its way to us.",
    ("passport", "ready"): "Your passport is ready for you to pick up.",
    ("passport", "collected"): "Your passport has been picked up.",
}
STEP_LABELS = {
    "in_production": "Made at the Bundesdruckerei",
    "shipped": "On its way to us",
    "ready": "Ready for pickup",
    "collected": "Picked up",
}
TYPE_LABELS = {"id_card": "ID card", "passport": "Passport"}


def _page(request: Request, context: dict[str, Any], status: int = 200) -> Response:
    base: dict[str, Any] = {"values": {"document_type": "", "serial": "", "email": ""},
                            "errors": {}, "result": None, "not_found": False, "told": False,
                            "switch_url": "/document-status",
                            "keep_days": ctx(request).settings.document_status_keep_days,
                            "types": [{"value": v, "title": translator(request).gettext(k)}
                                      for v, k in TYPE_LABELS.items()]}
    return render(request, "citizen/document_status.html", {**base, **context}, status)


def _errors(t: Translator, exc: Invalid) -> dict[str, str]:
    found = {field: t.gettext(msgid, **params) for field, msgid, params in exc.problems}
    if exc.field:
        found.setdefault(exc.field, t.gettext(exc.msgid, **exc.params))
    return found


def _hours_rows(t: Translator, hours: Hours) -> list[tuple[str, str]]:
    return [(t.gettext(WEEKDAYS[day.weekday]), ", ".join(
        t.gettext("%(start)s–%(end)s", start=start.strftime("%H:%M"), end=end.strftime("%H:%M"))
        for start, end in day.ranges)) for day in hours.days]


async def result_view(request: Request, found: Found) -> dict[str, Any]:
    t = translator(request)
    office = found.office
    async with ctx(request).db.transaction() as session:
        hours = await opening_hours(session, office)
    zone = ZoneInfo(office.timezone)
    order = [state.value for state in DocumentState]
    reached = order.index(found.status)
    return {
        "status": found.status,
        "headline": t.gettext(HEADLINES[(found.document_type, found.status)]),
        "since": t.date(found.status_at.astimezone(zone).date(), "long"),
        "since_iso": found.status_at.astimezone(zone).date().isoformat(),
        "steps": [{"label": t.gettext(STEP_LABELS[s]), "done": i < reached,
                   "current": i == reached} for i, s in enumerate(order)],
        "office": office, "hours": _hours_rows(t, hours),
        "closed": [(t.date(day, "full"), reason) for day, reason in hours.closed],
        "can_notify": found.status in (DocumentState.in_production, DocumentState.shipped),
        "will_tell": found.will_tell,
    }


async def status_page(request: Request) -> Response:
    return _page(request, {})


def _values(form: Any) -> dict[str, str]:
    return {"document_type": form.get("document_type", "")[:20],
            "serial": form.get("serial", "")[:40], "email": form.get("email", "")[:254]}


async def _looked_up(request: Request) -> tuple[dict[str, str], Found | Response]:
    """The form's values and its document, or the page that says why there is none (404 for
    an unknown number, 422 beside the fields)."""
    values = _values(await read_form(request))
    try:
        return values, await guarded_lookup(request, values["document_type"], values["serial"])
    except DocumentNotFound:
        return values, _page(request, {"values": values, "not_found": True}, 404)
    except Invalid as exc:
        errors = _errors(translator(request), exc)
        return values, _page(request, {"values": values, "errors": errors}, 422)


async def status_submit(request: Request) -> Response:
    values, found = await _looked_up(request)
    if isinstance(found, Response):
        return found
    return _page(request, {"values": values, "result": await result_view(request, found)})


async def notify_submit(request: Request) -> Response:
    values, found = await _looked_up(request)
    if isinstance(found, Response):
        return found
    context: dict[str, Any] = {"values": {**values, "email": ""}}
    status = 200
    try:
        found = await guarded_notify(request, values["document_type"], values["serial"],
                                     values["email"], request_language(request))
        context["told"] = True
    except AlreadyReady:
        pass  # it arrived meanwhile: the page now says so
    except Invalid as exc:
        context = {"values": values, "errors": _errors(translator(request), exc)}
        status = 422
    return _page(request, {**context, "result": await result_view(request, found)}, status)


routes: list[BaseRoute] = [
    Route("/document-status", status_page, methods=["GET"]),
    Route("/document-status", status_submit, methods=["POST"]),
    Route("/document-status/notify", notify_submit, methods=["POST"]),
]
