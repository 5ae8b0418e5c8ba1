"""Privacy API for admins: ``GET /api/v1/admin/privacy/export?email=`` (everything stored about
one e-mail address, as JSON) and ``POST /api/v1/admin/privacy/erase {"email"}`` (anonymise now,
except where a legal duty keeps the data; the answer says which and why). Both are audited."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from app.api.http import read_json, validate
from app.api.openapi import operation
from app.auth import require_api_user
from app.context import ctx
from app.mail_env import forget_mails_to
from privacy import actions as privacy
from staff.service import staff_actor

# No control characters (a NUL byte cannot even be sent to Postgres).
EMAIL_PATTERN = r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+$"


class SubjectQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    email: str = Field(min_length=3, max_length=254, pattern=EMAIL_PATTERN)


class SubjectIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(min_length=3, max_length=254, pattern=EMAIL_PATTERN)


class SubjectExport(BaseModel):
    email: str
    exported_at: str
    appointments: list[dict[str, Any]]
    identity_checks: list[dict[str, Any]]
    postal_addresses: list[dict[str, Any]]
    feedback: list[dict[str, Any]]
    cases: list[dict[str, Any]]
    call_events: list[dict[str, Any]]
    audit_events: list[dict[str, Any]]
    online_requests: list[dict[str, Any]] = Field(
        default_factory=list, description="Requests sent online: answers, messages, the "
        "documents' names and sizes (not their contents).")


class Retained(BaseModel):
    reference: str
    reason_code: str = Field(
        description="active · fee_open · dispatch_pending · request_open")
    reason: str


class ErasureOut(BaseModel):
    erased: list[str] = Field(description="References of the appointments anonymised and of "
                              "the requests sent online erased now.")
    retained: list[Retained] = Field(description="Appointments and requests a legal duty (or "
                                     "an open request) keeps, with why.")


ERRORS: dict[int, Any] = {401: None, 403: None}


@operation(
    "Everything stored about one e-mail address (data-subject access), as JSON",
    tag="admin", auth="admin", query=SubjectQuery,
    responses={200: SubjectExport, 422: None, **ERRORS},
)
async def export_subject(request: Request) -> Response:
    user = await require_api_user(request, role="admin")
    query = validate(SubjectQuery, dict(request.query_params))
    async with ctx(request).db.transaction(write=True) as session:
        data = await privacy.export_subject(session, staff_actor(user), query.email)
    return JSONResponse(data, headers={
        "Content-Disposition": 'attachment; filename="export.json"',
        "Cache-Control": "no-store",
    })


@operation(
    "Erase one e-mail address's personal data now (kept where a legal duty applies)",
    tag="admin", auth="admin", request=SubjectIn,
    responses={200: ErasureOut, 400: None, 413: None, 422: None, **ERRORS},
)
async def erase_subject(request: Request) -> Response:
    user = await require_api_user(request, role="admin")
    body = await read_json(request, SubjectIn)
    async with ctx(request).db.transaction(write=True) as session:
        result = await privacy.erase_subject(session, staff_actor(user), body.email)
    if result["erased"]:
        await forget_mails_to(ctx(request), body.email)
    t = ctx(request).i18n.translator(getattr(request.state, "lang", "de"))
    for item in result["retained"]:
        item["reason"] = t.gettext(item["reason"])
    return JSONResponse(result)


routes: list[BaseRoute] = [
    Route("/api/v1/admin/privacy/export", export_subject, methods=["GET"]),
    Route("/api/v1/admin/privacy/erase", erase_subject, methods=["POST"]),
]
