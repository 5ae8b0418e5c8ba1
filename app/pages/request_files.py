"""The files of an online request on the citizen's pages: the form's uploads and the documents
the office asks for, checked with ``online.documents.check_upload`` (type by content, size, the
virus scan) before any write transaction and stored with ``online.documents.store`` inside it,
and a document served back as an attachment, only through its own request's link.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from app.api.online_documents import Upload, attachment, scanner_of
from app.context import AppContext
from core.errors import DomainError
from online import documents
from online.catalogue import Offered
from online.forms import max_bytes_of
from online.models import FormField
from online.requests import Held
from online.uploads import PreparedUpload

FORM_OVERHEAD = 256 * 1024  # a form's texts and the parts' headers, besides its files


def form_bytes(fields: list[FormField]) -> int:
    """The largest body a form with these file fields may send."""
    return FORM_OVERHEAD + sum(max_bytes_of(f) for f in fields)


async def prepare(state: AppContext, offered: Offered, uploads: dict[str, Upload],
                  ) -> tuple[dict[str, PreparedUpload], dict[str, DomainError]]:
    """Each chosen file checked and scanned: the prepared ones, and the refused ones' errors
    (too big, a type not taken, malware found, the scanner unreachable) by field key."""
    scanner = scanner_of(state)
    prepared: dict[str, PreparedUpload] = {}
    refused: dict[str, DomainError] = {}
    for key, upload in uploads.items():
        try:
            field = documents.file_field(offered, key)
            prepared[key] = await documents.check_upload(scanner, field, upload.data,
                                                         upload.filename)
        except DomainError as exc:
            refused[key] = exc
    return prepared, refused


async def store(session: AsyncSession, state: AppContext, held: Held,
                prepared: dict[str, PreparedUpload]) -> None:
    """In the caller's write transaction: the request's files, all or none."""
    for key, upload in prepared.items():
        await documents.store(session, held, key, upload, state.secret_key)


async def download(session: AsyncSession, state: AppContext, held: Held,
                   document_id: int) -> Response:
    """A document of this request (``NotFound`` for any other), never shown inline."""
    assert held.case.id is not None
    document, data = await documents.read(session, held.case.id, document_id, state.secret_key)
    return attachment(document, data)
