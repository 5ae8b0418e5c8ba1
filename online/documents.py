"""Documents of an online request: checked, scanned and cleaned before the write transaction
(``check_upload``: type by content, size, ClamAV, metadata removed), stored sealed inside it
(``store``), read back only for the request (``read``).

The sealed bytes are bound to their request (``online.uploads.seal_document``): a copy of the
database shows no plain bytes, and a row copied to another request does not open. Deleting the
request deletes its documents (foreign key, cascade), so retention and erasure need nothing more.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from core.audit import Actor, record
from core.errors import Invalid, NotFound, WrongState
from core.types import utcnow
from online.catalogue import Offered
from online.forms import max_bytes_of
from online.models import (
    CLOSED_STATUSES,
    Author,
    FieldType,
    FormField,
    RequestDocument,
)
from online.requests import Held, answered, lock
from online.scanner import Scanner
from online.uploads import PreparedUpload, open_document, prepare_upload, seal_document

MAX_DOCUMENTS = 30  # per request


class TooManyDocuments(WrongState):
    code = "too_many_documents"
    message = "This request has as many documents as it can take."


class DocumentDamaged(NotFound):
    message = "This document cannot be opened."


def file_field(offered: Offered, key: str) -> FormField:
    """The file field ``key`` of the form in force; ``Invalid`` for any other key."""
    for field in offered.in_force:
        if field.key == key and field.type == FieldType.file:
            return field
    raise Invalid("This form has no such document field: %(keys)s.", field="field", keys=key)


async def check_upload(scanner: Scanner, field: FormField, data: bytes,
                       filename: str) -> PreparedUpload:
    """Check one file for ``field`` (outside any transaction: the scan may take a while)."""
    return await prepare_upload(data, filename, max_bytes_of(field), scanner)


async def store(session: AsyncSession, held: Held, field_key: str, prepared: PreparedUpload,
                secret_key: bytes, *, by: Author = Author.citizen, actor: Actor | None = None,
                now: datetime | None = None) -> RequestDocument:
    """Keep a checked file as a document of the request (sealed). A request waiting for the
    citizen goes back to the clerk, highlighted."""
    now = now or utcnow()
    await lock(session, held)
    if held.request.status in CLOSED_STATUSES:
        raise WrongState("This request is closed.")
    case_id = held.case.id
    assert case_id is not None
    count = await session.scalar(select(func.count()).select_from(RequestDocument)
                                 .where(col(RequestDocument.case_id) == case_id))
    if (count or 0) >= MAX_DOCUMENTS:
        raise TooManyDocuments()
    document = RequestDocument(
        case_id=case_id, field_key=field_key, filename=prepared.filename,
        content_type=prepared.content_type, size=prepared.size,
        sealed=seal_document(secret_key, case_id, prepared.data), scanned=prepared.scanned,
        uploaded_by=by.value, created_at=now)
    session.add(document)
    await session.flush()
    if by == Author.citizen:
        await answered(session, held, now)
    record(session, actor or Actor.citizen(), "request.document", "case", case_id, {
        "reference": held.case.reference, "document": document.id, "field": field_key,
        "scanned": prepared.scanned})
    await session.flush()
    return document


async def read(session: AsyncSession, case_id: int, document_id: int,
               secret_key: bytes) -> tuple[RequestDocument, bytes]:
    """A document of the request ``case_id`` with its bytes; ``NotFound`` for another
    request's (or an unknown) id."""
    document = await session.get(RequestDocument, document_id)
    if document is None or document.case_id != case_id:
        raise NotFound()
    data = open_document(secret_key, case_id, document.sealed)
    if data is None:
        raise DocumentDamaged()
    return document, data
