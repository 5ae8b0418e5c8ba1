"""The print room's daily batch: one PDF to print duplex, and a CSV manifest to check it against.

Every letter starts on the front of a fresh sheet: after a letter with an odd number of pages a
blank page is added, so a duplex printer never puts the next citizen's letter on the back of the
previous one. Letters are our own documents (rendered here) or finished PDFs (e.g. a certificate
kept with the dispatch job); pypdf's PdfWriter joins their pages (its public ``append`` and
``add_blank_page``) and stores objects that are the same in several letters (a font subset, say)
once.

Rendering is the slow part (WeasyPrint, about a tenth of a second of CPU per letter): letters
still to be rendered are spread over a process pool (``render_many``), one process per core;
a handful are rendered in this process, where starting a pool would cost more than it saves.
The pool's processes are started fresh (``spawn``), never forked from a server with threads.
"""

from __future__ import annotations

import csv
import io
import multiprocessing
import os
import re
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from pypdf import PdfReader, PdfWriter
from pypdf.errors import PyPdfError

from postcall.documents import (
    BatchLetter,
    DocumentError,
    FeeNoticeData,
    ManifestEntry,
    ReceiptData,
)
from postcall.fee_notice import CORRECTED_TITLE, NOTICE_TITLE, RECEIPT_TITLE, render_document

MANIFEST_COLUMNS = (
    "position",
    "reference",
    "kind",
    "recipient",
    "address",
    "pages",
    "first_page",
    "last_page",
    "sheets",
)


@dataclass(frozen=True)
class PrintBatch:
    pdf: bytes
    entries: tuple[ManifestEntry, ...]

    @property
    def pages(self) -> int:
        return self.entries[-1].last_page if self.entries else 0


def _kind(letter: BatchLetter) -> str:
    if letter.kind:
        return letter.kind
    document = letter.document
    if isinstance(document, ReceiptData):
        return RECEIPT_TITLE
    if isinstance(document, FeeNoticeData):
        return CORRECTED_TITLE if document.corrects else NOTICE_TITLE
    return "Schreiben"


def _append(writer: PdfWriter, pdf: bytes) -> int:
    """Add one letter, padded to an even page count; return the letter's own page count."""
    try:
        reader = PdfReader(io.BytesIO(pdf))
        pages = len(reader.pages)
        if pages:
            writer.append(reader, import_outline=False)
    except (PyPdfError, ValueError, KeyError, TypeError) as exc:
        raise DocumentError("a letter in the batch is not a readable PDF") from exc
    if not pages:
        raise DocumentError("a letter in the batch has no pages")
    if pages % 2:
        writer.add_blank_page()  # the size of the letter's last page
    return pages


def _finish(writer: PdfWriter) -> bytes:
    # Letters with the same glyphs carry the same font subset: stored once in the batch.
    writer.compress_identical_objects()
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


Document = FeeNoticeData | ReceiptData | bytes
POOL_FROM = 8  # fewer letters to render than this: in this process


def _pdf_of(document: Document) -> bytes:
    return document if isinstance(document, bytes) else render_document(document)


def render_many(documents: Sequence[Document], *, workers: int | None = None) -> list[bytes]:
    """Every document as PDF bytes, in order: finished PDFs as they are, our letters rendered
    in a process pool of ``workers`` processes (default: one per core)."""
    todo = [document for document in documents if not isinstance(document, bytes)]
    workers = workers or os.cpu_count() or 1
    if len(todo) < POOL_FROM or workers < 2:
        return [_pdf_of(document) for document in documents]
    chunk = max(1, min(50, len(todo) // (workers * 4)))
    with ProcessPoolExecutor(max_workers=workers,
                             mp_context=multiprocessing.get_context("spawn")) as pool:
        rendered = iter(pool.map(render_document, todo, chunksize=chunk))
        return [document if isinstance(document, bytes) else next(rendered)
                for document in documents]


def build_batch(letters: Sequence[BatchLetter], *, workers: int | None = None) -> PrintBatch:
    """Join the letters for duplex printing and describe each one for the manifest."""
    if not letters:
        raise DocumentError("a print batch needs at least one letter")
    pdfs = render_many([letter.document for letter in letters], workers=workers)
    writer = PdfWriter()
    entries: list[ManifestEntry] = []
    next_page = 1
    for position, (letter, pdf) in enumerate(zip(letters, pdfs, strict=True), start=1):
        pages = _append(writer, pdf)
        padded = pages + pages % 2
        entries.append(
            ManifestEntry(
                position=position,
                reference=letter.reference,
                kind=_kind(letter),
                recipient=letter.address,
                pages=pages,
                first_page=next_page,
                last_page=next_page + padded - 1,
                sheets=padded // 2,
            )
        )
        next_page += padded
    return PrintBatch(pdf=_finish(writer), entries=tuple(entries))


def render_batch(documents: Sequence[Document], *, workers: int | None = None) -> bytes:
    """Only the joined PDF, for callers that keep no manifest (finished PDFs need no address)."""
    if not documents:
        raise DocumentError("a print batch needs at least one letter")
    writer = PdfWriter()
    for pdf in render_many(documents, workers=workers):
        _append(writer, pdf)
    return _finish(writer)


# What starts a formula in Excel and LibreOffice, also in the full-width forms they accept.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_PARTS = re.compile(r"([;,\t])")


def _cell(text: str) -> str:
    """A text cell that no spreadsheet runs as a formula (OWASP's CSV-injection advice: a
    leading apostrophe keeps it text). A spreadsheet set to German conventions splits at ``;``
    (and some at ``,``) however the file is quoted, so every such part is neutralised, not only
    the cell's start: ``x;=1+1`` becomes ``x;'=1+1``."""
    parts = _PARTS.split(text)
    return "".join(f"'{part}" if part.lstrip(" ").startswith(FORMULA_STARTS) else part
                   for part in parts)


def manifest_csv(entries: Iterable[ManifestEntry]) -> str:
    """RFC 4180 CSV (comma, CRLF, every cell quoted) with a header row; addresses as one
    comma-separated column, every text cell neutralised against formulas (``_cell``)."""
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL)
    writer.writerow(MANIFEST_COLUMNS)
    for entry in entries:
        writer.writerow(
            [
                entry.position,
                _cell(entry.reference),
                _cell(entry.kind),
                _cell(entry.recipient.name),
                _cell(", ".join(entry.recipient.lines[1:])),
                entry.pages,
                entry.first_page,
                entry.last_page,
                entry.sheets,
            ]
        )
    return out.getvalue()
