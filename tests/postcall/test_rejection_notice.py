"""The rejection notice (Ablehnungsbescheid) as the citizen and the print room meet it, read
back with poppler-utils: every element of the act, reasons that flow on to a second page, the
legal-remedy notice of the fee notice, the document's metadata, and a letterhead without bank
details (the notice asks for no money)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from pathlib import Path

import pytest

from postcall.documents import DocumentError
from postcall.rejection import RejectionData, render_rejection_notice
from tests.postcall.fee_support import RECIPIENT, authority, need, page_count, run, text, write

SENT = dt.date(2026, 11, 2)
DECIDED = dt.date(2026, 11, 20)
REASONS = ("Die Sondernutzung kann nicht erlaubt werden, weil der Gehweg an dieser Stelle "
           "nur 1,20 m breit ist.\nEine Restbreite von 1,50 m ist vorgeschrieben.")


def rejection(**overrides: object) -> RejectionData:
    fields: dict[str, object] = {
        "authority": authority(), "recipient": RECIPIENT, "citizen_name": "Jürgen Weiß",
        "reference": "OA-7K3Q-M9PX", "service": "Sondernutzungserlaubnis",
        "submitted_on": SENT, "issue_date": DECIDED, "reasons": REASONS,
        "clerk_name": "Frau Schmid",
    }
    fields.update(overrides)
    return RejectionData(**fields)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def notice_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    need("pdftotext", "pdfinfo")
    return write(tmp_path_factory.mktemp("rejection"), render_rejection_notice(rejection()))


def flat(path: Path, page: int | None = None) -> str:
    return " ".join(text(path, page=page).split())


def test_every_element_of_the_act(notice_pdf: Path) -> None:
    content = flat(notice_pdf)
    for element in (
        "Stadt Musterhausen", "Marktplatz 1", "73760 Musterhausen",  # the authority
        "Jürgen Weiß", "Großer Anger 7",  # the recipient in the window
        "Ablehnungsbescheid", "Vorgangsnummer OA-7K3Q-M9PX",  # the act and its reference
        "Ihr Antrag vom 02.11.2026", "Sondernutzungserlaubnis",  # the request and service
        "Datum 20.11.2026",  # the day of the decision
        "Guten Tag Jürgen Weiß,",
        "Ihr Antrag vom 02.11.2026 wird abgelehnt.",  # the decision
        "Begründung", "nur 1,20 m breit", "Restbreite von 1,50 m",  # the clerk's reasons
        "Rechtsbehelfsbelehrung", "innerhalb eines Monats nach Bekanntgabe Widerspruch",
        "Stadt Musterhausen, Marktplatz 1, 73760 Musterhausen einzulegen",
        "Frau Schmid",  # the clerk, in the information block and under the greeting
        "ohne Unterschrift gültig",
    ):
        assert element in content, element
    assert "Kassenzeichen" not in content  # a refused request has none
    assert page_count(notice_pdf) == 1


def test_the_reasons_keep_their_line_breaks(notice_pdf: Path) -> None:
    lines = [line.strip() for line in text(notice_pdf).splitlines()]
    assert "Eine Restbreite von 1,50 m ist vorgeschrieben." in lines


def test_metadata_as_for_the_fee_notice(notice_pdf: Path) -> None:
    info = run("pdfinfo", str(notice_pdf)).stdout
    assert re.search(r"^Title:\s+Ablehnungsbescheid OA-7K3Q-M9PX$", info, re.MULTILINE)
    assert re.search(r"^Author:\s+Stadt Musterhausen$", info, re.MULTILINE)
    assert re.search(r"^Subject:\s+Ablehnungsbescheid$", info, re.MULTILINE)
    assert re.search(r"^Creator:\s+Bürgerbüro$", info, re.MULTILINE)


def test_long_reasons_flow_on_to_a_second_page(tmp_path: Path) -> None:
    need("pdftotext")
    reasons = "\n".join(f"{n}. Dieser Grund ist lang genug, um eine ganze Zeile zu füllen, "
                        f"und es gibt viele davon." for n in range(1, 41))
    assert len(reasons) <= 4000
    path = write(tmp_path, render_rejection_notice(rejection(reasons=reasons)))
    assert page_count(path) == 2
    first, second = flat(path, page=1), flat(path, page=2)
    assert "1. Dieser Grund" in first and "40. Dieser Grund" in second
    # The later page names the act and its reference; the remedy notice follows the reasons.
    assert "Ablehnungsbescheid vom 20.11.2026" in second
    assert "Vorgangsnummer OA-7K3Q-M9PX" in second and "Seite 2 von 2" in second
    assert "Rechtsbehelfsbelehrung" in second


def test_the_offices_own_remedy_text_replaces_the_default(tmp_path: Path) -> None:
    need("pdftotext")
    own = ("Gegen diesen Bescheid kann innerhalb eines Monats nach seiner Bekanntgabe Klage "
           "beim Verwaltungsgericht Stuttgart erhoben werden.")
    path = write(tmp_path, render_rejection_notice(rejection(
        authority=authority(legal_remedy=own))))
    content = flat(path)
    assert "Klage beim Verwaltungsgericht Stuttgart" in content
    assert "Widerspruch" not in content


def test_a_letterhead_without_bank_details_and_a_request_without_a_name(tmp_path: Path) -> None:
    need("pdftotext")
    data = rejection(authority=authority(bank=None), citizen_name="", clerk_name="")
    path = write(tmp_path, render_rejection_notice(data))
    content = flat(path)
    assert "IBAN" not in content and "Guten Tag," in content
    assert "Auskunft Bürgerbüro" in content


def test_the_same_data_makes_the_same_file() -> None:
    data = rejection()
    assert render_rejection_notice(data) == render_rejection_notice(dataclasses.replace(data))


@pytest.mark.parametrize("field", ["reference", "service", "reasons"])
def test_a_notice_needs_its_facts(field: str) -> None:
    with pytest.raises(DocumentError):
        rejection(**{field: "  "})
