"""The print room's batch as files, shared by the staff API and the staff page: each queued
letter made (or found) with the current window address, joined into one duplex PDF, and the
manifest. Making the letters writes them to the database (once); the batch itself changes no
state until staff mark it printed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from booking.models import Office
from core.transactions import Transactions
from core.types import utcnow
from postcall import dispatch as dispatching
from postcall.dispatch_models import CaseDocument, Dispatch, DocumentKind
from postcall.dispatch_providers import PrintRoomProvider
from postcall.documents import BatchLetter, LetterAddress
from postcall.fee_notice import CORRECTED_TITLE, NOTICE_TITLE
from postcall.notices import ensure_letter
from postcall.print_batch import PrintBatch

COVER_KIND = "Begleitschreiben"


@dataclass(frozen=True)
class BatchFiles:
    day: dt.date
    rows: list[dispatching.DispatchRow]
    batch: PrintBatch | None  # None: no letters in this batch

    @property
    def manifest(self) -> str:
        return PrintRoomProvider.manifest(self.batch) if self.batch is not None \
            else PrintRoomProvider.manifest(PrintBatch(pdf=b"", entries=()))


def default_day(offices: Sequence[Office]) -> dt.date:
    """Tomorrow's batch in the (first) office's calendar."""
    zone = ZoneInfo(offices[0].timezone if offices else "Europe/Berlin")
    return utcnow().astimezone(zone).date() + dt.timedelta(days=1)


async def office_list(session: AsyncSession, office_ids: Sequence[int]) -> list[Office]:
    found = [await session.get(Office, office_id) for office_id in office_ids]
    return [office for office in found if office is not None]


def _kind(document: CaseDocument) -> str:
    if document.kind == DocumentKind.cover_letter:
        return COVER_KIND
    return CORRECTED_TITLE if document.corrected else NOTICE_TITLE


async def batch_files(db: Transactions, office_ids: Sequence[int], day: dt.date, *,
                      takes_all: bool, upto: int | None = None) -> BatchFiles:
    """``takes_all``: letters no provider took yet belong in the print room's batches (no
    hybrid-mail provider is configured)."""
    async with db.transaction() as session:
        rows = await dispatching.batch_members(session, office_ids, day, upto=upto,
                                               unassigned=takes_all)
    letters: list[BatchLetter] = []
    chosen: dict[int, int] = {}
    for row in rows:
        document = await ensure_letter(db, row.dispatch.case_id)
        if document is None or document.id is None or row.dispatch.id is None:
            continue
        chosen[row.dispatch.id] = document.id
        letters.append(BatchLetter(
            reference=row.case_number, document=document.pdf, kind=_kind(document),
            recipient=LetterAddress(lines=(row.recipient_name, *row.address_lines)),
        ))
    if not letters:
        return BatchFiles(day=day, rows=rows, batch=None)
    async with db.transaction(write=True) as session:
        for dispatch_id, document_id in chosen.items():
            dispatch = await session.get(Dispatch, dispatch_id)
            if dispatch is not None and dispatch.status == dispatching.S.queued:
                dispatch.document_id = document_id  # what went to the printer
    batch = await PrintRoomProvider().batch(letters)
    return BatchFiles(day=day, rows=rows, batch=batch)
