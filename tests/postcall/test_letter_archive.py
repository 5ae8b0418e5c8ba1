"""Every letter as an archive and a screen reader meet it: PDF/A-3b claimed in the XMP
metadata, tagged, language and title set, every font embedded, no encryption and no
transparency; and the DIN 5008 frame holding for an authority's name of 80 characters, an
address of five lines, 20 fee items, umlauts, ß and names in other scripts: `pdftotext -bbox`
finds no overlapping words, the address inside the window, and no page that carries only the
closing."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import re
from collections.abc import Callable
from itertools import combinations
from pathlib import Path

import pytest
from pypdf import PdfReader
from pypdf.generic import DictionaryObject, IndirectObject

from postcall.cover_letter import CoverLetterData, render_cover_letter
from postcall.documents import Authority, BankDetails, FeeLine, LetterAddress
from postcall.fee_notice import (
    ReminderData,
    notice_epc_payload,
    render_fee_notice,
    render_receipt,
    render_reminder,
)
from postcall.missing_documents import MissingDocumentsData, render_missing_documents
from postcall.rejection import render_rejection_notice
from tests.postcall.fee_support import (
    BIC,
    CALL_DAY,
    DUE,
    IBAN,
    ISSUED,
    LINES,
    MM,
    Word,
    authority,
    decode_qr,
    flat,
    need,
    notice,
    page_count,
    receipt,
    run,
    text,
    words,
    write,
)
from tests.postcall.test_rejection_notice import rejection

LONG_NAME = "Stadt Ostfildern – Bürgeramt Nellingen: Abteilung Bürgerdienste, Ordnungswesen 2"
assert len(LONG_NAME) == 80
SHORT_NAME = "Stadt Ostfildern Stadtkasse"
FIVE_LINES = LetterAddress(lines=(
    "Dr. Şükrü Öztürk-Weiß", "c/o Иван Петров", "Hinterhaus, 3. OG links", "Großer Anger 7",
    "73760 Ostfildern",
))
TWENTY = tuple(
    FeeLine(description=f"Beglaubigung Urkunde Nr. {n} (Übersetzung)",
            legal_basis=f"GebVerz. Nr. 9.{n}", quantity=1 + n % 3, unit_cents=300 + n)
    for n in range(1, 21)
)
WINDOW = (20 * MM, 45 * MM, 105 * MM, 90 * MM)  # left, top, right, bottom in points


def long_authority() -> object:
    bank = BankDetails(account_holder=SHORT_NAME, iban=IBAN, bic=BIC,
                       bank_name="Kreissparkasse Esslingen-Nürtingen")
    return authority(name=LONG_NAME, department="Bürgerbüro Nellingen", bank=bank,
                     address_lines=("Rathausplatz 1", "73760 Ostfildern"))


def reminder(**overrides: object) -> ReminderData:
    fields: dict[str, object] = {
        "authority": authority(), "recipient": FIVE_LINES, "case_number": "2026-000123",
        "issue_date": dt.date(2026, 12, 20), "service": "Ausstellung einer Meldebescheinigung",
        "service_date": CALL_DAY, "lines": LINES, "notice_date": ISSUED, "due_date": DUE,
        "pay_by": dt.date(2027, 1, 3),
    }
    fields.update(overrides)
    return ReminderData(**fields)  # type: ignore[arg-type]


def missing(**overrides: object) -> MissingDocumentsData:
    fields: dict[str, object] = {
        "authority": authority(), "recipient": FIVE_LINES, "citizen_name": "Şükrü Öztürk-Weiß",
        "reference": "OA-7K3Q-M9PX", "service": "Hundesteuer-Anmeldung",
        "submitted_on": dt.date(2026, 11, 2), "issue_date": ISSUED,
        "missing": "Bitte reichen Sie den Nachweis der Haftpflichtversicherung nach.\n"
                   "Die Kopie des Impfpasses genügt.",
        "reply_by": dt.date(2026, 12, 15), "clerk_name": "Frau Schmid",
    }
    fields.update(overrides)
    return MissingDocumentsData(**fields)  # type: ignore[arg-type]


def cover(**overrides: object) -> CoverLetterData:
    fields: dict[str, object] = {
        "authority": authority(), "recipient": FIVE_LINES, "case_number": "2026-000125",
        "issue_date": ISSUED, "service": "Meldebescheinigung", "service_date": CALL_DAY,
        "lines": LINES, "payment_note": "Die Gebühren haben Sie bereits bezahlt. Vielen Dank.",
    }
    fields.update(overrides)
    return CoverLetterData(**fields)  # type: ignore[arg-type]


def letters(long: bool, auth: object = None) -> dict[str, Callable[[], bytes]]:
    """Each kind of letter; ``long``: the long authority, five address lines, 20 items;
    ``auth``: this authority instead."""
    auth = auth or (long_authority() if long else authority())
    recipient = FIVE_LINES
    lines = TWENTY if long else LINES
    return {
        "fee_notice": lambda: render_fee_notice(
            notice(authority=auth, recipient=recipient, lines=lines)),
        "changed_notice": lambda: render_fee_notice(notice(
            authority=auth, recipient=recipient, lines=lines[:1], paid_cents=2795,
            corrects=dt.date(2026, 11, 20))),
        "receipt": lambda: render_receipt(receipt(
            authority=auth, recipient=recipient, lines=lines,
            paid_cents=sum(line.amount_cents for line in lines))),
        "reminder": lambda: render_reminder(reminder(
            authority=auth, recipient=recipient, lines=lines)),
        "rejection": lambda: render_rejection_notice(rejection(
            authority=auth, recipient=recipient)),
        "missing_documents": lambda: render_missing_documents(missing(
            authority=auth, recipient=recipient)),
        "cover_letter": lambda: render_cover_letter(cover(
            authority=auth, recipient=recipient, lines=lines)),
    }


KINDS = list(letters(False))


def resolve(value: object) -> object:
    return value.get_object() if isinstance(value, IndirectObject) else value


def transparency(reader: PdfReader) -> list[str]:
    """Soft masks, constant alpha below 1 and transparency groups on the pages."""
    found = []
    for number, page in enumerate(reader.pages, start=1):
        group = resolve(page.get("/Group"))
        if isinstance(group, DictionaryObject) and group.get("/S") == "/Transparency":
            found.append(f"page {number}: transparency group")
        resources = resolve(page.get("/Resources"))
        assert isinstance(resources, DictionaryObject)
        states = resolve(resources.get("/ExtGState")) or {}
        for name, state in dict(states).items():  # type: ignore[call-overload]
            state = resolve(state)
            for key in ("/CA", "/ca"):
                if key in state and float(state[key]) < 1:
                    found.append(f"page {number}: {name} {key} {state[key]}")
            if state.get("/SMask", "/None") != "/None":
                found.append(f"page {number}: {name} soft mask")
        for name, xobject in dict(resolve(resources.get("/XObject")) or {}).items():  # type: ignore[call-overload]
            xobject = resolve(xobject)
            if "/SMask" in xobject:
                found.append(f"page {number}: {name} image with a soft mask")
    return found


@pytest.mark.parametrize("kind", KINDS)
def test_every_letter_is_tagged_pdf_a_with_embedded_fonts(kind: str, tmp_path: Path) -> None:
    need("pdfinfo", "pdffonts")
    pdf = letters(False)[kind]()
    path = write(tmp_path, pdf)
    info = run("pdfinfo", str(path)).stdout
    assert re.search(r"^Tagged:\s+yes$", info, re.MULTILINE), info
    assert re.search(r"^Encrypted:\s+no$", info, re.MULTILINE), info
    assert re.search(r"^Title:\s+\S", info, re.MULTILINE), info
    meta = run("pdfinfo", "-meta", str(path)).stdout
    assert re.search(r'pdfaid:part(="|>)3', meta) and re.search(r'pdfaid:conformance(="|>)B',
                                                                   meta), meta
    fonts = run("pdffonts", str(path)).stdout.splitlines()[2:]
    assert fonts and all(row.split()[-5] == "yes" for row in fonts), fonts
    assert all("DejaVu-Sans" in row for row in fonts), fonts
    reader = PdfReader(io.BytesIO(pdf))
    root = reader.trailer["/Root"]
    assert root["/Lang"] == "de" and root["/MarkInfo"]["/Marked"]
    assert "/StructTreeRoot" in root and "/OutputIntents" in root
    assert not reader.is_encrypted
    assert transparency(reader) == []


def test_the_girocode_has_an_alternative_text_with_the_payment_data() -> None:
    reader = PdfReader(io.BytesIO(render_fee_notice(notice())))
    alts = []

    def walk(node: object) -> None:
        node = resolve(node)
        if isinstance(node, DictionaryObject):
            if node.get("/S") == "/Figure" and "/Alt" in node:
                alts.append(str(node["/Alt"]))
            walk(node.get("/K"))
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(reader.trailer["/Root"]["/StructTreeRoot"])
    assert alts == [
        "GiroCode für die Überweisung: an Stadt Musterhausen Stadtkasse, "
        "IBAN DE89 3704 0044 0532 0130 00, BIC COBADEFFXXX, Betrag 27 Euro und 95 Cent, "
        "Verwendungszweck Kassenzeichen 2026-000123."
    ]


def overlapping(page: list[Word], slack: float = 0.2) -> list[tuple[str, str]]:
    """Pairs of words whose boxes overlap (by more than ``slack`` points each way)."""
    return [
        (a.text, b.text) for a, b in combinations(page, 2)
        if min(a.x1, b.x1) - max(a.x0, b.x0) > slack and min(a.y1, b.y1) - max(a.y0, b.y0) > slack
    ]


@pytest.mark.parametrize("kind", KINDS)
def test_long_names_five_address_lines_and_twenty_items_keep_the_frame(
    kind: str, tmp_path: Path
) -> None:
    need("pdftotext", "pdfinfo")
    path = write(tmp_path, letters(True)[kind]())
    pages = page_count(path)
    for number in range(1, pages + 1):
        assert overlapping(words(path, number)) == [], (kind, number)
    first = words(path, 1)
    inside = [w for w in first if w.x0 < WINDOW[2] and w.x1 > WINDOW[0]
              and w.y0 < WINDOW[3] and w.y1 > WINDOW[1]]
    # The window holds the return address (above the recipient) and the full address, nothing
    # else, and every word lies wholly inside it.
    recipient = " ".join(FIVE_LINES.lines).split()
    texts = [w.text for w in inside]
    assert texts[-len(recipient):] == recipient, texts
    assert " ".join(texts[: -len(recipient)]) == " · ".join([LONG_NAME, "Rathausplatz 1",
                                                              "73760 Ostfildern"])
    for w in inside:
        assert WINDOW[0] <= w.x0 and w.x1 <= WINDOW[2] and WINDOW[1] <= w.y0 <= w.y1 <= WINDOW[3]
    sender = inside[: -len(recipient)]
    assert all(w.y1 <= (45 + 17.7) * MM for w in sender)  # in the remarks zone
    assert all(w.y0 >= (45 + 17.7) * MM for w in inside[-len(recipient):])
    # The letterhead names the whole authority.
    assert LONG_NAME in flat(text(path, page=1))
    # The last page carries more than the closing.
    last = flat(text(path, page=pages))
    before_closing = last.split("Mit freundlichen Grüßen")[0]
    body = before_closing.split("Seite")[0] if pages == 1 else before_closing
    assert len(body.split()) > 12, (kind, last)


def test_twenty_items_flow_with_the_header_repeated(tmp_path: Path) -> None:
    path = write(tmp_path, letters(True)["fee_notice"]())
    pages = page_count(path)
    assert pages >= 2
    for number in range(2, pages + 1):
        page = flat(text(path, page=number))
        assert f"Seite {number} von {pages}" in page and "Kassenzeichen 2026-000123" in page
    body = flat(text(path))
    for line in TWENTY:  # a description wraps in its cell: the columns interleave
        assert f"{line.description.split(' (')[0]} {line.legal_basis}" in body, line
    assert "Gesamtbetrag 127,34 €" in body


@pytest.mark.parametrize("count", [8, 14, 17, 20, 23, 26, 30])
def test_no_page_carries_only_the_closing(count: int, tmp_path: Path) -> None:
    """Reasons of many lengths: wherever the page breaks, the closing has company."""
    reasons = "\n\n".join(f"{n}. Dieser Grund ist lang genug, um eine ganze Zeile zu füllen, und "
                          "noch etwas länger." for n in range(1, count + 1))
    path = write(tmp_path, render_rejection_notice(rejection(reasons=reasons)))
    last = flat(text(path, page=page_count(path)))
    assert "Mit freundlichen Grüßen" in last
    assert "Rechtsbehelfsbelehrung" in last  # the remedy notice stays with the closing


def test_the_girocode_of_a_long_authority_carries_the_short_name(tmp_path: Path) -> None:
    need("pdftoppm", "zbarimg")
    data = notice(authority=long_authority(), lines=TWENTY)
    path = write(tmp_path, render_fee_notice(data))
    payload = notice_epc_payload(data)
    assert payload is not None and payload.split("\n")[5] == SHORT_NAME
    found = [code for page in range(1, page_count(path) + 1)
             for code in decode_qr(path, tmp_path, page=page)]
    assert found == [payload]


def test_the_reminder_asks_for_the_open_amount_with_its_code(tmp_path: Path) -> None:
    data = reminder(paid_cents=1000)
    path = write(tmp_path, render_reminder(data))
    body = flat(text(path))
    assert "Zahlungserinnerung" in body and "Gebührenbescheid vom 24.11.2026" in body
    assert "Bitte überweisen Sie 17,95 € bis zum 03.01.2027" in body
    assert "Bereits gezahlt -10,00 €" in body and "Noch zu zahlen 17,95 €" in body
    [code] = decode_qr(path, tmp_path)
    assert code.split("\n")[7] == "EUR17.95" and code.endswith("Kassenzeichen 2026-000123")


def test_the_request_for_missing_documents(tmp_path: Path) -> None:
    path = write(tmp_path, render_missing_documents(missing()))
    body = flat(text(path))
    for element in ("Nachforderung von Unterlagen", "Vorgangsnummer OA-7K3Q-M9PX",
                    "Ihr Antrag vom 02.11.2026", "Hundesteuer-Anmeldung",
                    "Nachweis der Haftpflichtversicherung", "bis zum 15.12.2026",
                    "Guten Tag Şükrü Öztürk-Weiß,"):
        assert element in body, element
    assert "Rechtsbehelfsbelehrung" not in body  # not an administrative act


def test_the_office_adapts_wording_signature_and_remedy(tmp_path: Path) -> None:
    from postcall.documents import LetterStyle

    style = LetterStyle(greeting="Sehr geehrte Damen und Herren, liebe/r", closing="Viele Grüße",
                        signature="Im Auftrag\nMaria Muster, Sachgebietsleitung")
    own = "Gegen diesen Bescheid kann Klage beim Verwaltungsgericht Stuttgart erhoben werden."
    data = notice(authority=authority(style=style, legal_remedy=own))
    body = flat(text(write(tmp_path, render_fee_notice(data))))
    assert "Sehr geehrte Damen und Herren, liebe/r Jürgen Weiß," in body
    assert "Viele Grüße" in body and "Maria Muster, Sachgebietsleitung" in body
    assert own in body and "Widerspruch" not in body


TOWN = "Große Kreisstadt Zwiebelbach an der Fils"


@pytest.mark.parametrize("kind", KINDS)
def test_the_municipality_of_an_installation_of_several_keeps_the_frame(
    kind: str, tmp_path: Path
) -> None:
    """An authority that does not name its municipality ("Bürgeramt Nellingen ..."): the
    municipality's name stands above it in the letterhead and first in the return address,
    and the frame holds as it does without it."""
    need("pdftotext", "pdfinfo")
    long = long_authority()
    assert isinstance(long, Authority)
    auth = dataclasses.replace(long, name=LONG_NAME.replace("Stadt Ostfildern – ", ""),
                               municipality=TOWN)
    path = write(tmp_path, letters(False, auth)[kind]())
    first = words(path, 1)
    assert overlapping(first) == []
    head = [w for w in first if w.y1 <= 45 * MM]
    assert " ".join(w.text for w in head).startswith(f"{TOWN} {auth.name}")
    inside = [w for w in first if w.x0 < WINDOW[2] and w.x1 > WINDOW[0]
              and w.y0 < WINDOW[3] and w.y1 > WINDOW[1]]
    recipient = " ".join(FIVE_LINES.lines).split()
    texts = [w.text for w in inside]
    assert texts[-len(recipient):] == recipient, texts
    assert " ".join(texts[: -len(recipient)]) == " · ".join(
        [TOWN, auth.name, "Rathausplatz 1", "73760 Ostfildern"])
    for w in inside:
        assert WINDOW[0] <= w.x0 and w.x1 <= WINDOW[2] and WINDOW[1] <= w.y0 <= w.y1 <= WINDOW[3]
    assert all(w.y1 <= (45 + 17.7) * MM for w in inside[: -len(recipient)])


def test_an_authority_that_names_its_municipality_is_not_repeated(tmp_path: Path) -> None:
    path = write(tmp_path, render_fee_notice(notice(
        authority=authority(municipality="Musterhausen"))))
    first = flat(text(path, page=1))
    assert first.count("Musterhausen") == flat(text(write(
        tmp_path, render_fee_notice(notice()), "plain.pdf"), page=1)).count("Musterhausen")
