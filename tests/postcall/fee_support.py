"""Sample letters and thin wrappers around poppler-utils and zbar for the fee-notice tests.

The tools run as the print room and a citizen's banking app would meet the PDF: text extraction,
word positions, rasterising at 300 dpi and decoding the QR code from pixels.
"""

from __future__ import annotations

import datetime as dt
import html
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from postcall.documents import (
    Authority,
    BankDetails,
    FeeLine,
    FeeNoticeData,
    LetterAddress,
    ReceiptData,
)
from tests.conftest import require

MM = 72 / 25.4  # PDF points per millimetre

IBAN = "DE89370400440532013000"
BIC = "COBADEFFXXX"
ISSUED = dt.date(2026, 11, 24)
DUE = dt.date(2026, 12, 8)
CALL_DAY = dt.date(2026, 11, 23)


def authority(**overrides: object) -> Authority:
    fields: dict[str, object] = {
        "name": "Stadt Musterhausen",
        "department": "Bürgerbüro",
        "address_lines": ("Marktplatz 1", "73760 Musterhausen"),
        "phone": "0711 3404-0",
        "email": "buergerbuero@musterhausen.de",
        "website": "www.musterhausen.de",
        "bank": BankDetails(
            account_holder="Stadt Musterhausen Stadtkasse",
            iban=IBAN,
            bic=BIC,
            bank_name="Kreissparkasse Esslingen-Nürtingen",
        ),
    }
    fields.update(overrides)
    return Authority(**fields)  # type: ignore[arg-type]


RECIPIENT = LetterAddress.of("Jürgen Weiß", "Großer Anger 7", "73760", "Musterhausen")

LINES = (
    FeeLine(description="Meldebescheinigung", legal_basis="GebVerz. Nr. 3.1", unit_cents=1250),
    FeeLine(
        description="Beglaubigte Kopie",
        legal_basis="GebVerz. Nr. 7.2",
        quantity=3,
        unit_cents=515,
    ),
)


def notice(**overrides: object) -> FeeNoticeData:
    fields: dict[str, object] = {
        "authority": authority(),
        "recipient": RECIPIENT,
        "case_number": "2026-000123",
        "issue_date": ISSUED,
        "due_date": DUE,
        "service": "Ausstellung einer Meldebescheinigung",
        "service_date": CALL_DAY,
        "lines": LINES,
        "appointment_reference": "BB-7K3Q",
        "clerk_name": "Frau Schmid",
    }
    fields.update(overrides)
    return FeeNoticeData(**fields)  # type: ignore[arg-type]


def receipt(**overrides: object) -> ReceiptData:
    fields: dict[str, object] = {
        "authority": authority(),
        "recipient": RECIPIENT,
        "case_number": "2026-000124",
        "issue_date": ISSUED,
        "service": "Ausstellung einer Meldebescheinigung",
        "service_date": CALL_DAY,
        "lines": LINES,
        "paid_cents": 2795,
        "paid_on": CALL_DAY,
        "payment_method": "Kartenzahlung",
    }
    fields.update(overrides)
    return ReceiptData(**fields)  # type: ignore[arg-type]


def foreign_pdf(pages: int) -> bytes:
    """A finished letter from elsewhere (a certificate, say): plain PDF, not ours."""
    from weasyprint import HTML

    body = "".join(
        f'<p style="break-after: page">Fremdes Dokument Seite {n}</p>' for n in range(1, pages)
    ) + f"<p>Fremdes Dokument Seite {pages}</p>"
    pdf = HTML(string=f"<html><body>{body}</body></html>").write_pdf()
    assert isinstance(pdf, bytes)
    return pdf


# --- tools ---------------------------------------------------------------------------------


def need(*tools: str) -> None:
    for tool in tools:
        require(shutil.which(tool) is not None, tool)


def write(tmp_path: Path, pdf: bytes, name: str = "letter.pdf") -> Path:
    path = tmp_path / name
    path.write_bytes(pdf)
    return path


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)


def text(path: Path, *, page: int | None = None) -> str:
    need("pdftotext")
    pages = ["-f", str(page), "-l", str(page)] if page else []
    result = run("pdftotext", "-layout", "-enc", "UTF-8", *pages, str(path), "-")
    assert result.returncode == 0, result.stderr
    return result.stdout


def flat(value: str) -> str:
    """Whitespace collapsed, so a sentence wrapped over lines still matches."""
    return " ".join(value.split())


def page_count(path: Path) -> int:
    need("pdfinfo")
    result = run("pdfinfo", str(path))
    assert result.returncode == 0, result.stderr
    match = re.search(r"^Pages:\s+(\d+)$", result.stdout, re.MULTILINE)
    assert match, result.stdout
    return int(match.group(1))


@dataclass(frozen=True)
class Word:
    text: str
    x0: float  # points from the left
    y0: float  # points from the top
    x1: float
    y1: float


_WORD = re.compile(
    r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>'
)


def words(path: Path, page: int = 1) -> list[Word]:
    """Every word on a page with its box, from `pdftotext -bbox`."""
    need("pdftotext")
    result = run("pdftotext", "-bbox", "-f", str(page), "-l", str(page), str(path), "-")
    assert result.returncode == 0, result.stderr
    return [
        Word(html.unescape(m.group(5)), *(float(m.group(i)) for i in range(1, 5)))
        for m in _WORD.finditer(result.stdout)
    ]


_EPC_CHARSETS = {b"1": "utf-8", b"2": "iso-8859-1"}


def decode_png(png: Path) -> list[str]:
    """Decode the QR code in an image as a banking app reads an EPC code.

    zbar is asked for the symbol's raw bytes (-Sbinary) and the text is decoded by the charset
    named on the payload's third line. Without that, zbar guesses the encoding of an ECI-less
    byte segment and takes short UTF-8 umlaut text for Big5 or Shift-JIS.
    """
    need("zbarimg")
    result = subprocess.run(
        ["zbarimg", "--raw", "-q", "-Sbinary", "-Sdisable", "-Sqrcode.enable", str(png)],
        capture_output=True,
        timeout=60,
        check=False,
    )
    if result.returncode == 4:  # zbar's "no symbol found"
        return []
    assert result.returncode == 0, result.stderr
    data = result.stdout
    lines = data.split(b"\n")
    assert lines[0] == b"BCD" and lines[2] in _EPC_CHARSETS, data[:20]
    # One code per image: concatenated binary symbols could not be told apart.
    return [data.decode(_EPC_CHARSETS[lines[2]])]


def decode_qr(path: Path, tmp_path: Path, *, page: int = 1) -> list[str]:
    """Rasterise a page at 300 dpi, as a scanner or a phone camera sees it, and decode it."""
    need("pdftoppm")
    prefix = tmp_path / f"page{page}"
    result = run("pdftoppm", "-r", "300", "-f", str(page), "-l", str(page), "-png",
                 "-singlefile", str(path), str(prefix))  # fmt: skip
    assert result.returncode == 0, result.stderr
    return decode_png(Path(f"{prefix}.png"))
