"""The print batch's pages come out as they went in, whatever kind of PDF they came from."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter

from postcall.documents import BatchLetter, DocumentError
from postcall.fee_notice import render_fee_notice, render_receipt
from postcall.print_batch import build_batch, render_batch
from tests.postcall.fee_support import (
    RECIPIENT,
    foreign_pdf,
    need,
    notice,
    receipt,
    run,
    text,
    write,
)
from tests.postcall.test_fee_notice import many_lines


def handmade_pdf() -> bytes:
    """A page that inherits its size and font from the page tree, with a tricky string."""
    stream = b"BT /F1 12 Tf 20 100 Td (Geerbte Ressourcen) Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 /MediaBox [0 0 300 200]"
        b" /Resources << /Font << /F1 4 0 R >> >> >>",
        b"<< /Type /Page /Parent 2 0 R /Contents 5 0 R"
        b" /Note (Klammer \\) und 4 0 R und stream\n\\(in (Klammern)\\)) >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    table = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, table,
    )  # fmt: skip
    return bytes(out)


def incremental_pdf() -> bytes:
    """A foreign PDF changed in place: cross-reference stream and /Prev (pypdf rewrites it)."""
    writer = PdfWriter(io.BytesIO(foreign_pdf(1)), incremental=True)
    writer.add_metadata({"/Title": "Nachtrag"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def page_texts(path: Path, pages: int) -> list[str]:
    return [text(path, page=number).strip() for number in range(1, pages + 1)]


def test_every_page_comes_out_as_it_went_in(tmp_path: Path) -> None:
    need("pdfinfo")
    sources = [
        render_fee_notice(notice()),
        render_fee_notice(notice(case_number="2026-000200", lines=many_lines(45))),
        handmade_pdf(),
        incremental_pdf(),
        render_receipt(receipt()),
        foreign_pdf(3),
    ]
    letters = [
        BatchLetter(reference=f"L{n}", document=source, recipient=RECIPIENT)
        for n, source in enumerate(sources)
    ]
    batch = build_batch(letters)
    path = write(tmp_path, batch.pdf, "batch.pdf")
    info = run("pdfinfo", str(path))
    assert info.returncode == 0 and info.stderr == ""  # poppler finds nothing to repair
    assert len(PdfReader(io.BytesIO(batch.pdf), strict=True).pages) == batch.pages
    batch_texts = page_texts(path, batch.pages)
    for entry, source in zip(batch.entries, sources, strict=True):
        own = write(tmp_path, source, f"{entry.reference}.pdf")
        expected = page_texts(own, entry.pages)
        got = batch_texts[entry.first_page - 1 : entry.first_page - 1 + entry.pages]
        assert got == expected, entry.reference
        assert all(page == "" for page in batch_texts[entry.first_page - 1 + entry.pages :
                                                      entry.last_page])  # fmt: skip
    handmade = batch.entries[2]
    assert batch_texts[handmade.first_page - 1] == "Geerbte Ressourcen"
    reader = PdfReader(io.BytesIO(batch.pdf))
    page, blank = reader.pages[handmade.first_page - 1], reader.pages[handmade.last_page - 1]
    assert [float(v) for v in page.mediabox] == [0, 0, 300, 200]
    assert [float(v) for v in blank.mediabox] == [0, 0, 300, 200]
    assert page["/Note"] == "Klammer ) und 4 0 R und stream\n(in (Klammern))"
    assert batch_texts[batch.entries[3].first_page - 1] == "Fremdes Dokument Seite 1"


def test_rasterised_pages_equal_the_letters(tmp_path: Path) -> None:
    need("pdftoppm")
    source = render_fee_notice(notice())
    batch = render_batch([source, render_fee_notice(notice(case_number="2026-000999"))])
    images = []
    for name, pdf in (("letter", source), ("batch", batch)):
        path = write(tmp_path, pdf, f"{name}.pdf")
        prefix = tmp_path / name
        result = run("pdftoppm", "-r", "100", "-gray", "-f", "1", "-l", "1", "-singlefile",
                     str(path), str(prefix))  # fmt: skip
        assert result.returncode == 0, result.stderr
        images.append((tmp_path / f"{name}.pgm").read_bytes())
    assert images[0] == images[1]


def test_identical_fonts_are_stored_once_and_output_is_reproducible() -> None:
    one = render_fee_notice(notice())
    twice = render_batch([one, one])
    reader = PdfReader(io.BytesIO(twice))
    programs = {
        font["/DescendantFonts"][0].get_object()["/FontDescriptor"].raw_get("/FontFile2").idnum
        for page in reader.pages[::2]
        for font in (ref.get_object() for ref in page["/Resources"]["/Font"].values())
    }
    assert len(programs) == 2  # regular and bold, shared by both letters
    assert len(twice) < 1.3 * len(one)
    assert render_batch([one, one]) == twice


def test_what_cannot_be_joined_is_refused() -> None:
    with pytest.raises(DocumentError, match="not a readable PDF"):
        render_batch([b"%PDF-1.4\nnot really"])
    writer = PdfWriter()
    out = io.BytesIO()
    writer.write(out)
    with pytest.raises(DocumentError, match="no pages"):
        render_batch([out.getvalue()])
    # A letter of two pages needs no padding page.
    assert len(PdfReader(io.BytesIO(render_batch([foreign_pdf(2)]))).pages) == 2


def test_the_batch_prints_with_the_letters_own_fonts(tmp_path: Path) -> None:
    need("pdffonts")
    sources = [render_fee_notice(notice()), render_receipt(receipt()), foreign_pdf(1)]
    path = write(tmp_path, render_batch(sources), "batch.pdf")
    rows = run("pdffonts", str(path)).stdout.splitlines()[2:]
    ours = [row for row in rows if "DejaVu-Sans" in row]
    # Every font of the batch is embedded (the printer has none of them): our DejaVu subsets
    # and the foreign letter's own font, joined as they came.
    assert len(ours) >= 2 and len(rows) > len(ours)
    assert all(row.split()[-5:-3] == ["yes", "yes"] for row in rows), rows


def test_a_process_pool_renders_the_same_letters() -> None:
    """The batch's letters still to be rendered go to a pool of processes: the same bytes in
    the same order as rendered here, finished PDFs passed through where they stand."""
    from postcall.print_batch import POOL_FROM, render_many

    documents: list[object] = [notice(case_number=f"2026-{n:06d}") for n in range(POOL_FROM)]
    documents.insert(3, foreign_pdf(1))
    documents.append(receipt())
    pooled = render_many(documents, workers=2)  # type: ignore[arg-type]
    serial = render_many(documents, workers=1)  # type: ignore[arg-type]
    assert pooled == serial and pooled[3] == documents[3]
    assert len(pooled) == POOL_FROM + 2


def test_a_letter_without_a_postal_address_says_so(tmp_path: Path) -> None:
    from postcall.documents import LetterAddress

    path = write(tmp_path, render_fee_notice(notice(recipient=LetterAddress.of("Jürgen Weiß"))))
    assert "Keine Postanschrift hinterlegt" in " ".join(text(path).split())
