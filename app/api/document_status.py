"""The status of a new ID card or passport (CONTRACT "Status of a new ID card or passport").

* ``POST /api/v1/integration/document-status`` the passport software's reports, with the token
  of an admin or of an ``integration`` account for the office (403 for another office). All
  items are checked first; one bad item stores nothing and every problem is named
  (``items.3.serial``). At most 1,000 items per call.
* ``POST /api/v1/document-status`` the public lookup by type and number: the state, since when,
  and the office. Unknown and deleted entries are the same 404 ``not_found``. POST keeps the
  number out of URLs and access logs. Rate-limited per client.
* ``POST /api/v1/document-status/notify`` leave an e-mail address to be told once when the
  document is ready (202); 409 ``already_ready`` once it is.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from app.api.http import client_key, read_json
from app.api.openapi import operation
from app.api.schemas import Id, iso
from app.auth import require_api_user
from app.context import AppContext, ctx
from app.templating import request_language
from core.i18n import Language
from idstatus.lookup import Found, lookup, tell_when_ready
from idstatus.serials import SerialKeys
from idstatus.service import RawItem, push
from staff.service import office_ids_in_scope, staff_actor

PUSH_MAX_BYTES = 512 * 1024  # 1,000 items with room to spare


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=1000)


class _Public(BaseModel):
    model_config = ConfigDict(extra="ignore", str_max_length=1000)


class DocumentStatusItemIn(_Strict):
    document_type: str
    serial: str
    status: str
    at: str  # ISO 8601 with a UTC offset: when the document reached the status


class DocumentStatusPushIn(_Strict):
    office_id: Id
    items: list[DocumentStatusItemIn]


class DocumentStatusPushOut(BaseModel):
    accepted: int


class DocumentStatusLookupIn(_Public):
    document_type: str
    serial: str


class DocumentStatusOfficeOut(BaseModel):
    id: int
    name: str
    address: str


class DocumentStatusOut(BaseModel):
    document_type: str
    status: Literal["in_production", "shipped", "ready", "collected"]
    updated_at: str  # when the document reached this status, in the office's zone
    office: DocumentStatusOfficeOut


class DocumentStatusNotifyIn(_Public):
    document_type: str
    serial: str
    email: str
    locale: Language | None = None


class DocumentStatusNotifyOut(BaseModel):
    will_tell: bool


def serial_keys(state: AppContext) -> SerialKeys:
    return SerialKeys(state.secret_key)


def status_out(found: Found) -> dict[str, object]:
    office = found.office
    return DocumentStatusOut(
        document_type=found.document_type, status=found.status,
        updated_at=iso(found.status_at, office.timezone),
        office=DocumentStatusOfficeOut(id=office.id or 0, name=office.name,
                                       address=office.address),
    ).model_dump()


@operation("The passport software reports the status of ID cards and passports",
           tag="integration", auth="staff", request=DocumentStatusPushIn,
           responses={200: DocumentStatusPushOut, 400: None, 401: None, 403: None, 404: None,
                      413: None, 422: None})
async def push_status(request: Request) -> Response:
    """For the token of an admin or of an `integration` account of the office. Items are
    stored all or nothing; a problem is named per item in `details` (`items.3.serial`). A
    document number is unique per installation and type: the report with the newest `at` wins
    (also from another office); an older one changes nothing."""
    user = await require_api_user(request, role="integration")
    body = await read_json(request, DocumentStatusPushIn, PUSH_MAX_BYTES)
    state = ctx(request)
    items = [RawItem(i.document_type, i.serial, i.status, i.at) for i in body.items]
    async with state.db.transaction(write=True) as session:
        await office_ids_in_scope(session, user, body.office_id)
        accepted = await push(session, serial_keys(state), body.office_id, items,
                              actor=staff_actor(user))
    return JSONResponse(DocumentStatusPushOut(accepted=accepted).model_dump())


async def guarded_lookup(request: Request, document_type: object, serial: object) -> Found:
    """The public lookup behind its per-client limit (API and page)."""
    state = ctx(request)
    await state.limiter.hit("document_status", client_key(request))
    async with state.db.transaction() as session:
        found = await lookup(session, serial_keys(state), document_type, serial)
        session.expunge(found.office)
    return found


async def guarded_notify(request: Request, document_type: object, serial: object,
                         email: object, locale: str) -> Found:
    state = ctx(request)
    await state.limiter.hit("document_status", client_key(request))
    async with state.db.transaction(write=True) as session:
        found = await tell_when_ready(session, serial_keys(state), state.secret_key,
                                      document_type, serial, email, locale)
        session.expunge(found.office)
    return found


@operation("Where is my new ID card or passport? (by type and number, no login)",
           tag="public", request=DocumentStatusLookupIn,
           responses={200: DocumentStatusOut, 400: None, 404: None, 413: None, 422: None,
                      429: None})
async def lookup_status(request: Request) -> Response:
    """`document_type`: `id_card` or `passport`; `serial`: the 9-character document number
    (spaces, hyphens and lower case are fine). A number never reported and one deleted after
    pickup are the same 404 `not_found`."""
    body = await read_json(request, DocumentStatusLookupIn)
    found = await guarded_lookup(request, body.document_type, body.serial)
    return JSONResponse(status_out(found))


@operation("Tell me once by e-mail when my ID card or passport is ready", tag="public",
           request=DocumentStatusNotifyIn,
           responses={202: DocumentStatusNotifyOut, 400: None, 404: None, 409: None, 413: None,
                      422: None, 429: None})
async def notify_me(request: Request) -> Response:
    """The address is kept encrypted and deleted right after that one e-mail. 409
    `already_ready` when the document is already at the office."""
    body = await read_json(request, DocumentStatusNotifyIn)
    await guarded_notify(request, body.document_type, body.serial, body.email,
                         body.locale or request_language(request))
    return JSONResponse(DocumentStatusNotifyOut(will_tell=True).model_dump(), status_code=202)


routes: list[BaseRoute] = [
    Route("/api/v1/integration/document-status", push_status, methods=["POST"]),
    Route("/api/v1/document-status", lookup_status, methods=["POST"]),
    Route("/api/v1/document-status/notify", notify_me, methods=["POST"]),
]
