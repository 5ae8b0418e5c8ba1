"""Online services for citizens: the list (``/apply``), a service's form (``/apply/{id}``), sending
it, and the "sent" page (``/apply/sent``).

The form mirrors ``POST /api/v1/requests``: the answers are judged by the same
``check_answers`` (its problems shown beside the fields, all at once, with the citizen's
entries kept), the request is written by the same ``online.requests.submit``. Files chosen in
the form are checked (type, size, virus scan) before the write transaction and stored in it with
the request: a request and its files are written together or not at all
(``app/pages/request_files.py``).

GETs only read. The POST is a multipart form with the CSRF token and the per-client limit of
requests (rule ``request``, as the API's).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from app.api.http import cookie_secure
from app.api.links import request_policy
from app.api.online_schemas import label_of
from app.context import AppContext, ctx
from app.pages import request_files, request_link
from app.pages.apply_form import (
    CITIZEN,
    OFFICE,
    answers_from,
    citizen_from,
    field_view,
    input_id,
    kept_values,
    problems_of,
)
from app.pages.citizen_forms import parse_id
from app.pages.citizen_http import limit
from app.pages.citizen_views import fee_text
from app.pages.forms import read_multipart_form
from app.pages.staff_http import redirect
from app.templating import render, translator
from booking.availability import office_today
from booking.catalog import service_description, service_name
from booking.models import Office
from cases.models import Case
from core.errors import DomainError, Invalid, NotFound
from core.i18n import Translator
from core.signing import sign, unsign
from online import catalogue
from online import requests as online
from online.catalogue import Offered
from online.forms import check_answers
from online.models import FieldType, Identity, OnlineRequest
from online.requests import Held
from tenants.links import site_url

SENT_COOKIE = "online_request_sent"
SENT_MAX_AGE = 3600


def service_card(t: Translator, offered: Offered) -> dict[str, Any]:
    service, days = offered.service, offered.online.processing_days
    return {
        "id": service.id, "name": service_name(service, t.lang),
        "description": service_description(service, t.lang), "fee": fee_text(t, service),
        "processing": t.gettext("about one day") if days == 1 else t.gettext(
            "about %(days)s days", days=days),
        "video": offered.identity == Identity.video,
        "anonymous": offered.online.anonymous_allowed,
    }


async def services_page(request: Request) -> Response:
    t = translator(request)
    async with ctx(request).db.transaction() as session:
        found = await catalogue.online_services(session, offered_only=True)
    return render(request, "online/list.html", {"services": [service_card(t, o) for o in found]})


async def _offered(state: AppContext, request: Request) -> tuple[Offered, list[Office]]:
    service_id = parse_id(request.path_params["id"])
    if service_id is None:
        raise NotFound("This online service does not exist.")
    async with state.db.transaction() as session:
        offered = await catalogue.online_service(session, service_id, offered_only=True)
        offices = await catalogue.offices_of(session, offered)
    return offered, offices


def _ordered(offered: Offered, errors: dict[str, str]) -> dict[str, str]:
    """The errors in the order of the form's inputs (the summary at the top lists them so)."""
    order = [f"answers.{f.key}" for f in offered.in_force] + [OFFICE] + [
        f"citizen.{name}" for name in CITIZEN]
    return dict(sorted(errors.items(),
                       key=lambda item: order.index(item[0]) if item[0] in order else len(order)))


def _summary(t: Translator, offered: Offered, errors: dict[str, str]) -> dict[str, str]:
    """The error summary's lines by the element each links to, each naming its field."""
    labels = {f"answers.{f.key}": label_of(f, t.lang) for f in offered.in_force}
    labels.update({OFFICE: t.gettext("Office"), "citizen.given_name": t.gettext("First name"),
                   "citizen.family_name": t.gettext("Last name"),
                   "citizen.email": t.gettext("E-mail address"),
                   "citizen.phone": t.gettext("Phone number (optional)")})
    return {input_id(name, offered.fields): t.gettext(
        "%(label)s: %(message)s", label=labels[name], message=message) if name in labels
        else message for name, message in errors.items()}


def _form(request: Request, offered: Offered, offices: list[Office], *,
          values: dict[str, str] | None = None, errors: dict[str, str] | None = None,
          form_error: str = "", files_dropped: bool = False, status: int = 200) -> Response:
    t = translator(request)
    values = values or {}
    errors = _ordered(offered, errors or {})
    state = ctx(request)
    return render(request, "online/form.html", {
        "service": service_card(t, offered),
        "fields": [field_view(t, f, values, errors) for f in offered.in_force],
        "offices": [{"value": o.id, "title": o.name, "hint": o.address} for o in offices],
        "values": values, "errors": errors,
        "summary": _summary(t, offered, errors),
        "form_error": form_error, "files_dropped": files_dropped,
        "has_files": any(f.type == FieldType.file for f in offered.in_force),
        "unscanned": not state.settings.clamd_address,
        "action": f"/apply/{offered.service.id}",
        "switch_url": f"/apply/{offered.service.id}",
    }, status)


async def form_page(request: Request) -> Response:
    offered, offices = await _offered(ctx(request), request)
    return _form(request, offered, offices)


def _office_id(form_value: object, offered: Offered, offices: list[Office]) -> int | None:
    if len(offices) == 1:
        return offices[0].id
    chosen = parse_id(form_value)
    return chosen if chosen in offered.office_ids else None


def _limits(offered: Offered) -> dict[str, int]:
    files = [f for f in offered.in_force if f.type == FieldType.file]
    return {"max_bytes": request_files.form_bytes(files),
            "max_files": len(files), "max_fields": 20 + 3 * len(offered.in_force)}


async def submit(request: Request) -> Response:
    state = ctx(request)
    t = translator(request)
    await limit(request, "request")  # before a body of several megabytes is read
    try:
        offered, offices = await _offered(state, request)
    except NotFound:
        # Read (and judge its token) all the same: a forged form is refused as forged.
        await read_multipart_form(request, max_bytes=request_files.FORM_OVERHEAD, max_files=0,
                                  max_fields=200)
        raise
    form = await read_multipart_form(request, **_limits(offered))
    values = kept_values(form)
    answers, uploads = answers_from(offered.fields, form)
    errors: dict[str, str] = {}
    try:
        check_answers(offered.fields, answers, files=frozenset(uploads))
    except Invalid as exc:
        errors.update(problems_of(t, exc))
    office_id = _office_id(form.fields.get(OFFICE), offered, offices)
    if office_id is None:
        errors[OFFICE] = t.gettext("Choose the office that should handle your request.")
    citizen, problems = citizen_from(form, anonymous_allowed=offered.online.anonymous_allowed,
                                     today=office_today(offices[0]))
    errors.update({name: t.gettext(msgid, **params) for name, (msgid, params) in problems.items()})
    if errors or citizen is None or office_id is None:
        return _form(request, offered, offices, values=values, errors=errors,
                     files_dropped=bool(uploads), status=422)
    # Checked (and scanned) before the write transaction: no transaction waits for ClamAV.
    prepared, file_errors = await request_files.prepare(state, offered, uploads)
    if file_errors:
        return _form(request, offered, offices, values=values, files_dropped=True,
                     errors={f"answers.{key}": t.gettext(exc.msgid, **exc.params)
                             for key, exc in file_errors.items()},
                     status=max(exc.status for exc in file_errors.values()))
    try:
        async with state.db.transaction(write=True) as session:
            sent = await online.submit(
                session, state.links, request_policy(state.settings),
                service_id=offered.service.id or 0, office_id=office_id, citizen=citizen,
                answers=answers, locale=t.lang, files=frozenset(prepared))
            await request_files.store(session, state, Held(sent.case, sent.request), prepared)
            case_id = sent.case.id
    except DomainError as exc:
        found = problems_of(t, exc)
        return _form(request, offered, offices, values=values, errors=found,
                     form_error="" if found else t.gettext(exc.msgid, **exc.params),
                     files_dropped=bool(uploads), status=exc.status)
    response = redirect("/apply/sent")
    response.set_cookie(SENT_COOKIE, sign(state.secret_key, "request-sent", str(case_id)),
                        max_age=SENT_MAX_AGE, path=site_url(request.scope, "/apply/sent"),
                        httponly=True, samesite="lax", secure=cookie_secure(request))
    return response


async def sent_page(request: Request) -> Response:
    """After sending: confirm by e-mail (double opt-in) or received. The browser that sent the
    form carries the signed request id; the link itself only ever travels by e-mail."""
    state = ctx(request)
    case_id = unsign(state.secret_key, "request-sent", request.cookies.get(SENT_COOKIE),
                     SENT_MAX_AGE)
    if case_id is None or not case_id.isdigit():
        return redirect("/apply")
    async with state.db.transaction() as session:
        case = await session.get(Case, int(case_id))
        online_part = await session.get(OnlineRequest, int(case_id))
        if case is None or online_part is None:
            return redirect("/apply")
        offered = await catalogue.online_service(session, case.service_id)
    t = translator(request)
    return render(request, "online/sent.html", {
        "reference": case.reference, "email": case.email, "status": online_part.status,
        "service": service_card(t, offered),
        "confirm_hours": state.settings.request_confirm_hours,
    })


routes: list[BaseRoute] = [
    Route("/apply", services_page, methods=["GET"]),
    Route("/apply/sent", sent_page, methods=["GET"]),
    Route("/apply/{id}", form_page, methods=["GET"]),
    Route("/apply/{id}", submit, methods=["POST"]),
    *request_link.routes,
]
