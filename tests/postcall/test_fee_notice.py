"""The fee notice, receipt and print batch, read back with poppler-utils and zbar."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import re
from pathlib import Path

import pytest

from postcall import letter_render
from postcall.documents import (
    Authority,
    BatchLetter,
    DocumentError,
    FeeLine,
    LetterAddress,
)
from postcall.fee_notice import notice_epc_payload, render_fee_notice, render_receipt
from postcall.girocode import EpcError, epc_transfer
from postcall.letter_render import FontMissing, format_eur
from postcall.print_batch import MANIFEST_COLUMNS, build_batch, manifest_csv, render_batch
from tests.postcall.fee_support import (
    IBAN,
    LINES,
    MM,
    RECIPIENT,
    authority,
    decode_qr,
    flat,
    foreign_pdf,
    need,
    notice,
    page_count,
    receipt,
    run,
    text,
    words,
    write,
)

ORIGINAL = dt.date(2026, 11, 20)  # the notice a corrected one replaces
REMEDY = (
    "Gegen diesen Bescheid kann innerhalb eines Monats nach Bekanntgabe Widerspruch erhoben "
    "werden. Der Widerspruch ist schriftlich oder zur Niederschrift bei Stadt Musterhausen, "
    "Marktplatz 1, 73760 Musterhausen einzulegen."
)


def many_lines(count: int) -> tuple[FeeLine, ...]:
    return tuple(
        FeeLine(
            description=f"Beglaubigung Dokument {i}",
            legal_basis=f"GebVerz. Nr. 9.{i}",
            quantity=1 + i % 3,
            unit_cents=300 + i,
        )
        for i in range(1, count + 1)
    )


@pytest.fixture
def notice_pdf(tmp_path: Path) -> Path:
    return write(tmp_path, render_fee_notice(notice()))


# --- content -------------------------------------------------------------------------------


def test_every_mandatory_element_is_in_the_text(notice_pdf: Path) -> None:
    layout = text(notice_pdf)
    lines = [flat(line) for line in layout.splitlines()]
    body = flat(layout)
    assert page_count(notice_pdf) == 1
    # issuing authority (letterhead) and the office within it
    assert "Stadt Musterhausen" in lines[0] + lines[1] and "Bürgerbüro" in body
    # debtor: name and address, each on its own line
    for line in ("Jürgen Weiß", "Großer Anger 7", "73760 Musterhausen"):
        assert any(row.startswith(line) for row in lines), line
    # date and case number in the information block
    assert re.search(r"Datum 24\.11\.2026", body)
    assert re.search(r"Kassenzeichen 2026-000123", body)
    assert "Gebührenbescheid" in body
    # the public service
    assert "Leistung: Ausstellung einer Meldebescheinigung (Videotermin am 23.11.2026)" in body
    # each item with legal basis and fee-schedule number, quantity, unit amount and amount
    assert any(
        re.search(r"1 Meldebescheinigung GebVerz\. Nr\. 3\.1 1 12,50 € 12,50 €", row)
        for row in lines
    )
    assert any(
        re.search(r"2 Beglaubigte Kopie GebVerz\. Nr\. 7\.2 3 5,15 € 15,45 €", row) for row in lines
    )
    assert "Gesamtbetrag 27,95 €" in lines
    # due date, bank details, Kassenzeichen as the payment reference
    assert "Bitte überweisen Sie 27,95 € bis zum 08.12.2026" in body
    assert "Fällig am 08.12.2026" in body
    assert "Empfänger Stadt Musterhausen Stadtkasse" in body
    assert "IBAN DE89 3704 0044 0532 0130 00" in body  # grouped in the payment block
    assert f"IBAN {IBAN}" in body  # and ungrouped in the footer
    assert "BIC COBADEFFXXX" in body
    assert "Bank Kreissparkasse Esslingen-Nürtingen" in body
    assert "Verwendungszweck Kassenzeichen 2026-000123" in body
    assert "GiroCode:" in body and "mit Ihrer Banking-App scannen" in body
    # the legal-remedy notice names the authority and its address
    assert "Rechtsbehelfsbelehrung" in lines
    assert REMEDY in body


def test_font_is_embedded_so_umlauts_survive(notice_pdf: Path) -> None:
    need("pdffonts")
    fonts = run("pdffonts", str(notice_pdf)).stdout
    rows = [row for row in fonts.splitlines() if "DejaVu" in row]
    assert rows and all(" yes " in row for row in rows)  # embedded (subset)
    assert "Großer Anger" in text(notice_pdf) and "Weiß" in text(notice_pdf)


def test_metadata(notice_pdf: Path) -> None:
    info = run("pdfinfo", str(notice_pdf)).stdout
    assert re.search(r"^Title:\s+Gebührenbescheid 2026-000123$", info, re.MULTILINE)
    assert re.search(r"^Author:\s+Stadt Musterhausen$", info, re.MULTILINE)
    assert re.search(r"^Page size:\s+595\.\d+ x 841\.\d+ pts \(A4\)$", info, re.MULTILINE)


def test_own_legal_remedy_text_replaces_the_default(tmp_path: Path) -> None:
    own = (
        "Gegen diesen Bescheid kann innerhalb eines Monats Klage beim Verwaltungsgericht "
        "erhoben werden."
    )
    data = notice(authority=authority(legal_remedy=own))
    body = flat(text(write(tmp_path, render_fee_notice(data))))
    assert own in body and "Widerspruch" not in body


# --- layout --------------------------------------------------------------------------------


def test_recipient_sits_in_the_din_5008_window(notice_pdf: Path) -> None:
    window = (20 * MM, 45 * MM, (20 + 85) * MM, (45 + 45) * MM)
    page = words(notice_pdf)
    inside = [
        w for w in page
        if w.x0 < window[2] and w.x1 > window[0] and w.y0 < window[3] and w.y1 > window[1]
    ]  # fmt: skip
    # Everything in the window, and nothing but the return address and the recipient.
    sender = "Stadt Musterhausen · Marktplatz 1 · 73760 Musterhausen"
    expected = [*sender.split(), *" ".join(RECIPIENT.lines).split()]
    assert [w.text for w in inside] == expected
    for w in inside:
        assert window[0] <= w.x0 and w.x1 <= window[2], w
        assert window[1] <= w.y0 and w.y1 <= window[3], w
    # The recipient is in the lower address zone (below 45 + 17.7 mm), in reading order.
    recipient = inside[-6:]
    assert all(w.y0 >= 62.7 * MM for w in recipient)
    assert recipient[0].y0 < recipient[2].y0 < recipient[5].y0
    # Cropping the page to the window with pdftotext gives the same lines.
    crop = run("pdftotext", "-layout", "-r", "72", "-f", "1", "-l", "1",
               "-x", str(round(window[0])), "-y", str(round(window[1])),
               "-W", str(round(85 * MM)), "-H", str(round(45 * MM)),
               str(notice_pdf), "-").stdout  # fmt: skip
    assert [flat(line) for line in crop.splitlines() if line.strip()][-3:] == [
        "Jürgen Weiß",
        "Großer Anger 7",
        "73760 Musterhausen",
    ]


def test_fold_and_hole_marks(notice_pdf: Path, tmp_path: Path) -> None:
    need("pdftoppm")
    from PIL import Image

    prefix = tmp_path / "marks"
    run("pdftoppm", "-r", "200", "-f", "1", "-l", "1", "-gray", "-png", "-singlefile",
        str(notice_pdf), str(prefix))  # fmt: skip
    image = Image.open(f"{prefix}.png").convert("L")
    dots = 200 / 25.4

    def darkest(y_mm: float, x_mm: float = 6.5) -> int:
        x = round(x_mm * dots)
        ys = range(round((y_mm - 0.4) * dots), round((y_mm + 0.4) * dots) + 1)
        return min(int(image.getpixel((x, y))) for y in ys)  # type: ignore[arg-type]

    for y in (105, 148.5, 210):
        assert darkest(y) < 200, y
    for y in (100, 120, 180, 230):
        assert darkest(y) == 255, y


def test_girocode_decodes_to_the_exact_payload(notice_pdf: Path, tmp_path: Path) -> None:
    payload = notice_epc_payload(notice())
    expected = (
        "BCD\n002\n1\nSCT\nCOBADEFFXXX\nStadt Musterhausen Stadtkasse\n"
        "DE89370400440532013000\nEUR27.95\n\n\nKassenzeichen 2026-000123"
    )
    assert payload == expected
    assert decode_qr(notice_pdf, tmp_path) == [expected]


def test_girocode_carries_umlauts_in_utf8(tmp_path: Path) -> None:
    bank = dataclasses.replace(authority().bank, account_holder="Gemeinde Bärenthal-Süd")
    data = notice(authority=authority(bank=bank))
    pdf = write(tmp_path, render_fee_notice(data))
    expected = epc_transfer(
        "Gemeinde Bärenthal-Süd", IBAN, "COBADEFFXXX", 2795, text="Kassenzeichen 2026-000123"
    ).payload
    assert decode_qr(pdf, tmp_path) == [expected]


def test_many_items_run_over_pages_with_a_follow_header(tmp_path: Path) -> None:
    items = many_lines(45)
    data = notice(lines=items)
    pdf = write(tmp_path, render_fee_notice(data))
    pages = page_count(pdf)
    assert pages >= 2
    first = text(pdf, page=1)
    assert f"Seite 1 von {pages}" in first
    for number in range(2, pages + 1):
        page = flat(text(pdf, page=number))
        assert f"Seite {number} von {pages}" in page
        assert "Kassenzeichen 2026-000123" in page
        assert "Stadt Musterhausen · Gebührenbescheid vom 24.11.2026" in page
    # The table's headings repeat where it continues.
    assert "Nr. Leistung Rechtsgrundlage Anzahl Einzelbetrag Betrag" in flat(text(pdf, page=2))
    body = flat(text(pdf))
    for position, item in enumerate(items, start=1):
        row = f"{position} {item.description} {item.legal_basis} {item.quantity} "
        row += f"{format_eur(item.unit_cents)} {format_eur(item.amount_cents)}"
        assert row in body
    total = sum(item.amount_cents for item in items)
    assert f"Gesamtbetrag {format_eur(total)}" in body
    assert REMEDY in body
    # The code travels with the bank details to whichever page they land on.
    found = [
        code for number in range(1, pages + 1) for code in decode_qr(pdf, tmp_path, page=number)
    ]
    assert found == [notice_epc_payload(data)]
    assert f"EUR{total // 100}.{total % 100:02d}" in found[0]


# --- variants ------------------------------------------------------------------------------


def test_receipt_says_paid_and_has_no_code(tmp_path: Path) -> None:
    pdf = write(tmp_path, render_receipt(receipt()))
    body = flat(text(pdf))
    assert "Zahlungsbestätigung (Quittung)" in body
    assert "Bezahlt 27,95 €" in body
    assert "Bezahlt am 23.11.2026" in body
    assert "Zahlungsart Online-Zahlung (Kartenzahlung)" in body
    assert "Kassenzeichen 2026-000124" in body
    assert "Gesamtbetrag 27,95 €" in body
    assert "Der Betrag ist vollständig bezahlt." in body
    for absent in ("Bitte überweisen", "Verwendungszweck", "GiroCode", "Fällig"):
        assert absent not in body
    assert decode_qr(pdf, tmp_path) == []


def test_corrected_notice_after_a_full_refund(tmp_path: Path) -> None:
    # Paid 27,95 €; on review only the certificate is owed.
    data = notice(lines=LINES[:1], paid_cents=2795, corrects=ORIGINAL)
    assert data.open_cents == 0 and data.refund_cents == 1545
    pdf = write(tmp_path, render_fee_notice(data))
    body = flat(text(pdf))
    assert "Geänderter Gebührenbescheid" in body
    assert (
        "Geänderter Bescheid: Dieser Bescheid ersetzt den Gebührenbescheid vom 20.11.2026" in body
    )
    assert "Gesamtbetrag 12,50 €" in body
    assert "Bereits gezahlt -27,95 €" in body
    assert "Erstattungsbetrag 15,45 €" in body
    assert "erstatten wir Ihnen" in body
    assert "Bitte überweisen" not in body
    assert REMEDY in body  # a corrected notice is again an administrative act
    assert decode_qr(pdf, tmp_path) == []


def test_corrected_notice_with_an_amount_still_open(tmp_path: Path) -> None:
    data = notice(paid_cents=1000, corrects=ORIGINAL)
    pdf = write(tmp_path, render_fee_notice(data))
    body = flat(text(pdf))
    assert "Noch zu zahlen 17,95 €" in body
    assert "Bitte überweisen Sie 17,95 €" in body
    [code] = decode_qr(pdf, tmp_path)
    assert code.split("\n")[7] == "EUR17.95"
    assert code == notice_epc_payload(data)


# --- money and validation ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cents", "shown"),
    [(0, "0,00 €"), (5, "0,05 €"), (1250, "12,50 €"), (100000, "1.000,00 €"),
     (123456789, "1.234.567,89 €"), (-1250, "-12,50 €")],
)  # fmt: skip
def test_german_money_from_cents(cents: int, shown: str) -> None:
    assert format_eur(cents) == shown


def test_bad_data_is_refused_before_rendering() -> None:
    with pytest.raises(DocumentError):
        notice(lines=())
    with pytest.raises(DocumentError):
        FeeLine(description="Meldebescheinigung", legal_basis=" ", unit_cents=1250)
    with pytest.raises(DocumentError):
        FeeLine(description="Meldebescheinigung", legal_basis="Nr. 1", quantity=0, unit_cents=1)
    with pytest.raises(DocumentError):
        LetterAddress(lines=tuple(f"Zeile {i}" for i in range(7)))
    with pytest.raises(DocumentError):
        notice(due_date=ORIGINAL)  # before the date of issue
    with pytest.raises(DocumentError):
        authority(address_lines=())
    with pytest.raises(DocumentError):
        receipt(paid_cents=0)
    bank = dataclasses.replace(authority().bank, iban="DE00370400440532013000")
    with pytest.raises(EpcError):
        render_fee_notice(notice(authority=authority(bank=bank)))


def test_address_from_parts() -> None:
    address = LetterAddress.of(
        "Anna Nowak", "ul. Długa 5", "00-238", "Warszawa", extra=("c/o Kowalski",), country="Polen"
    )
    assert address.lines == (
        "Anna Nowak",
        "c/o Kowalski",
        "ul. Długa 5",
        "00-238 Warszawa",
        "POLEN",
    )
    assert LetterAddress.of("Nur Name").lines == ("Nur Name",)


def test_missing_font_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(letter_render, "_FONT_DIRS", (tmp_path,))
    letter_render._style.cache_clear()
    try:
        with pytest.raises(FontMissing, match="fonts-dejavu-core"):
            render_fee_notice(notice())
    finally:
        letter_render._style.cache_clear()


# --- print batch ---------------------------------------------------------------------------


def test_batch_starts_every_letter_on_a_front_page(tmp_path: Path) -> None:
    long_notice = notice(case_number="2026-000200", lines=many_lines(45))
    letters = [
        BatchLetter(reference="2026-000123", document=notice()),
        BatchLetter(reference="2026-000200", document=long_notice),
        BatchLetter(
            reference="D-17",
            document=foreign_pdf(2),
            recipient=RECIPIENT,
            kind="Meldebescheinigung",
        ),
        BatchLetter(reference="2026-000124", document=receipt()),
    ]
    batch = build_batch(letters)
    path = write(tmp_path, batch.pdf, "batch.pdf")
    long_pages = page_count(write(tmp_path, render_fee_notice(long_notice), "long.pdf"))
    padded = [2, long_pages + long_pages % 2, 2, 2]
    assert page_count(path) == sum(padded) == batch.pages
    first = 1
    for entry, size in zip(batch.entries, padded, strict=True):
        assert entry.first_page == first and entry.first_page % 2 == 1
        assert entry.last_page == first + size - 1
        first += size
    # Each letter's first page is what it should be; padding pages are blank.
    starts = [flat(text(path, page=entry.first_page)) for entry in batch.entries]
    assert "Kassenzeichen 2026-000123" in starts[0] and "Gebührenbescheid" in starts[0]
    assert "Kassenzeichen 2026-000200" in starts[1] and "Seite 1 von" in starts[1]
    assert starts[2] == "Fremdes Dokument Seite 1"
    assert "Zahlungsbestätigung" in starts[3]
    assert text(path, page=2).strip() == ""
    assert text(path, page=batch.entries[2].last_page).strip() == "Fremdes Dokument Seite 2"
    assert text(path, page=batch.pages).strip() == ""
    # The same pages without the manifest.
    plain = write(tmp_path, render_batch([item.document for item in letters]), "plain.pdf")
    assert page_count(plain) == batch.pages


def test_manifest_csv(tmp_path: Path) -> None:
    hostile = LetterAddress.of('=HYPERLINK("http://x")', "Weg 1", "12345", "Ort")
    batch = build_batch(
        [
            BatchLetter(reference="2026-000123", document=notice()),
            BatchLetter(reference="D-17", document=foreign_pdf(3), recipient=hostile),
        ]
    )
    content = manifest_csv(batch.entries)
    assert content.startswith(",".join(f'"{c}"' for c in MANIFEST_COLUMNS) + "\r\n")
    rows = list(csv.DictReader(io.StringIO(content)))
    assert rows == [
        {
            "position": "1", "reference": "2026-000123", "kind": "Gebührenbescheid",
            "recipient": "Jürgen Weiß", "address": "Großer Anger 7, 73760 Musterhausen",
            "pages": "1", "first_page": "1", "last_page": "2", "sheets": "1",
        },
        {
            "position": "2", "reference": "D-17", "kind": "Schreiben",
            "recipient": "'=HYPERLINK(\"http://x\")", "address": "Weg 1, 12345 Ort",
            "pages": "3", "first_page": "3", "last_page": "6", "sheets": "2",
        },
    ]  # fmt: skip


@pytest.mark.parametrize("name", ["x;=1+1;", "x,=1+1", "Anna; +49 711", "a;@SUM(A1)",
                                  "x; -2+3", "x;\uff1d1+1", "Eva\t=1"])
def test_no_part_of_a_manifest_cell_is_a_formula(name: str) -> None:
    """Opened with ``;`` or ``,`` as the separator (German spreadsheet settings), whatever the
    quoting: no field starts a formula."""
    hostile = LetterAddress.of(name, "Weg 1, =cmd|' /C calc'!A0", "12345 Ort")
    batch = build_batch([BatchLetter(reference="D-1", document=foreign_pdf(1),
                                     recipient=hostile)])
    content = manifest_csv(batch.entries)
    starts = ("=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20")
    for separator in (";", ",", "\t"):
        for line in content.splitlines()[1:]:
            for field in line.split(separator):
                field = field.strip().strip('"').strip()
                assert not field.startswith(starts), (separator, field)
    [row] = list(csv.DictReader(io.StringIO(content)))
    assert row["recipient"].replace("'", "") == name  # only apostrophes added


def test_batch_refuses_what_cannot_be_printed() -> None:
    with pytest.raises(DocumentError):
        build_batch([])
    with pytest.raises(DocumentError):
        render_batch([])
    with pytest.raises(DocumentError):
        BatchLetter(reference="D-1", document=foreign_pdf(1))  # no address for the manifest
    with pytest.raises(DocumentError):
        build_batch([BatchLetter(reference="D-1", document=b"not a pdf", recipient=RECIPIENT)])


def test_authority_from_office_settings() -> None:
    made = authority_of_office()
    assert made.address_lines == ("Marktplatz 1", "73760 Musterhausen")
    assert made.bank.account_holder == "Stadt Musterhausen"
    assert made.one_line_address == "Marktplatz 1, 73760 Musterhausen"
    with pytest.raises(DocumentError):
        Authority.of("Stadt Musterhausen", " \n ", iban=IBAN, bic="COBADEFFXXX", bank_name="KSK")


def authority_of_office() -> Authority:
    return Authority.of(
        "Stadt Musterhausen",
        "Marktplatz 1\r\n\r\n 73760 Musterhausen \n",
        department="Bürgerbüro",
        iban=IBAN,
        bic="COBADEFFXXX",
        bank_name="Kreissparkasse",
    )


def test_same_data_gives_the_same_file() -> None:
    # The notice re-served from the citizen's link is byte for byte the one that was e-mailed.
    assert render_fee_notice(notice()) == render_fee_notice(notice())
    assert render_fee_notice(notice()) != render_fee_notice(notice(case_number="2026-000999"))
