"""Documents of online requests over HTTP: the citizen uploads with the link's token and reads
them back; clerks of the request's office read them. Files are served as downloads only
(``Content-Disposition: attachment``, never shown inline, never cached).

Uploads are ``multipart/form-data`` (``file``, ``field``), read as a stream with a hard limit
(``read_multipart``: also what the pages use), checked and scanned before the write
transaction opens (``online.documents.check_upload``).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass
from urllib.parse import quote
from zoneinfo import ZoneInfo

from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from app.api import online_schemas as s
from app.api.http import PayloadTooLarge
from app.api.online import held_of, link_token
from app.api.online_clerk import ERRORS as CLERK_ERRORS
from app.api.openapi import operation
from app.api.routing import ID
from app.auth import require_api_user
from app.context import AppContext, ctx
from booking.models import Office
from core.errors import DomainError, Invalid
from online import catalogue, documents, inbox
from online.forms import FILE_BYTES_LIMIT
from online.models import RequestDocument
from online.scanner import ClamdScanner, NoScanner, Scanner, scanner_for

MULTIPART_OVERHEAD = 64 * 1024  # the other fields and the part headers
SCANNER_KEY = "online_scanner"


class NotMultipart(DomainError):
    status = 415
    code = "unsupported_media_type"
    message = "Please send the file as multipart/form-data."


def scanner_of(state: AppContext) -> Scanner:
    """ClamAV at ``BUERO_CLAMD_ADDRESS``; without one (development only) uploads pass
    unscanned and are marked so."""
    found = state.extras.get(SCANNER_KEY)
    if not isinstance(found, ClamdScanner | NoScanner):
        found = state.extras[SCANNER_KEY] = scanner_for(state.settings.clamd_address,
                                                         state.settings.clamd_timeout_seconds)
    return found


@dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes


@dataclass(frozen=True)
class Multipart:
    fields: dict[str, str]
    files: dict[str, list[Upload]]


async def _limited(request: Request, limit: int) -> AsyncGenerator[bytes, None]:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge()
    seen = 0
    async for chunk in request.stream():
        seen += len(chunk)
        if seen > limit:
            raise PayloadTooLarge()
        yield chunk


async def read_multipart(request: Request, *, max_bytes: int, max_files: int,
                         max_fields: int = 60) -> Multipart:
    """A ``multipart/form-data`` body of at most ``max_bytes`` (413 beyond), its text fields
    and its files (in memory: they are checked and sealed, never kept on disk)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "multipart/form-data":
        raise NotMultipart()
    parser = MultiPartParser(request.headers, _limited(request, max_bytes),
                             max_files=max_files, max_fields=max_fields,
                             max_part_size=64 * 1024)
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise Invalid("The form could not be read.") from exc
    fields: dict[str, str] = {}
    files: dict[str, list[Upload]] = {}
    try:
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                if value.filename or value.size:
                    files.setdefault(key, []).append(
                        Upload(value.filename or "", await value.read()))
            elif "\x00" in value or "\x00" in key:
                raise Invalid("The form could not be read.")
            else:
                fields[key] = value
    finally:
        await form.close()
    return Multipart(fields, files)


def attachment(document: RequestDocument, data: bytes) -> Response:
    name = document.filename or "dokument"
    ascii_name = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_"
                         for c in name)
    return Response(data, media_type=document.content_type, headers={
        "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; "
                               f"filename*=UTF-8''{quote(name)}",
        "Cache-Control": "private, no-store",
        "X-Content-Type-Options": "nosniff",
    })


@operation("Upload a document for my request (multipart: file, field)", tag="citizen",
           auth="citizen", content_type="multipart/form-data",
           responses={201: s.DocumentOut, 401: None, 404: None, 409: None, 413: None,
                      415: None, 422: None, 429: None, 503: None})
async def upload(request: Request) -> Response:
    """`field` is the key of a file field of the form. 413 too big, 415 not a photo (JPEG,
    PNG, WebP) or PDF by its content, 422 `malware_found` (the file is not kept), 503
    `scanner_unavailable` (try again later). Photos lose their metadata (EXIF, GPS)."""
    state, token = await link_token(request)
    async with state.db.transaction() as session:
        held = await held_of(session, state, token)
        offered = await catalogue.online_service(session, held.case.service_id)
    await state.limiter.hit("upload", f"case:{held.case.id}")
    body = await read_multipart(request, max_bytes=FILE_BYTES_LIMIT + MULTIPART_OVERHEAD,
                                max_files=1, max_fields=4)
    field = documents.file_field(offered, body.fields.get("field", ""))
    sent = body.files.get("file", [])
    if len(sent) != 1:
        raise Invalid("Please attach a file.", field="file")
    prepared = await documents.check_upload(scanner_of(state), field, sent[0].data,
                                            sent[0].filename)
    async with state.db.transaction(write=True) as session:
        held = await held_of(session, state, token)
        document = await documents.store(session, held, field.key, prepared, state.secret_key)
        office = await session.get(Office, held.case.office_id)
        out = s.document_out(document, ZoneInfo(office.timezone if office else "UTC"))
    return JSONResponse(out, status_code=201)


@operation("One document of my request (a download)", tag="citizen", auth="citizen",
           responses={200: "application/octet-stream", 401: None, 404: None, 429: None})
async def my_document(request: Request) -> Response:
    state, token = await link_token(request)
    async with state.db.transaction() as session:
        held = await held_of(session, state, token)
        assert held.case.id is not None
        document, data = await documents.read(session, held.case.id, request.path_params["id"],
                                              state.secret_key)
    return attachment(document, data)


@operation("One document of an online request of my offices (a download)", tag="clerk",
           auth="staff", responses={200: "application/octet-stream", **CLERK_ERRORS})
async def clerk_document(request: Request) -> Response:
    user = await require_api_user(request)
    state = ctx(request)
    async with state.db.transaction() as session:
        entry = await inbox.request_for_staff(session, user, request.path_params["reference"])
        assert entry.case.id is not None
        document, data = await documents.read(session, entry.case.id, request.path_params["id"],
                                              state.secret_key)
    return attachment(document, data)


routes: list[BaseRoute] = [
    Route("/api/v1/me/documents", upload, methods=["POST"]),
    Route(f"/api/v1/me/documents/{ID}", my_document, methods=["GET"]),
    Route(f"/api/v1/clerk/requests/{{reference}}/documents/{ID}", clerk_document,
          methods=["GET"]),
]
