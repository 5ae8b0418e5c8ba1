"""EPC QR (GiroCode) payload rules from EPC069-12 and a real decode of the generated symbol."""

from __future__ import annotations

from pathlib import Path

import pytest

from postcall.girocode import (
    EPC_MAX_BYTES,
    EpcError,
    epc_payload,
    epc_qr,
    format_epc_amount,
    group_iban,
    normalize_bic,
    normalize_iban,
    remittance_text,
)
from tests.postcall.fee_support import BIC, IBAN, decode_png, need


def test_payload_lines_match_epc069_12() -> None:
    payload = epc_payload(
        "Stadt Musterhausen Stadtkasse",
        "de89 3704 0044 0532 0130 00",
        "cobadeffxxx",
        1250,
        text=remittance_text("2026-000123"),
    )
    # Assembled independently, line by line, from the guideline.
    expected = (
        "BCD\n"  # service tag
        "002\n"  # version
        "1\n"  # character set: UTF-8
        "SCT\n"  # SEPA credit transfer
        "COBADEFFXXX\n"
        "Stadt Musterhausen Stadtkasse\n"
        "DE89370400440532013000\n"
        "EUR12.50\n"
        "\n"  # purpose code: none
        "\n"  # structured reference: none (a Kassenzeichen is not an RF reference)
        "Kassenzeichen 2026-000123"
    )
    assert payload == expected


@pytest.mark.parametrize(
    ("cents", "text"),
    [(1, "EUR0.01"), (100, "EUR1.00"), (1250, "EUR12.50"), (1205, "EUR12.05"),
     (123456, "EUR1234.56"), (99999999999, "EUR999999999.99")],
)  # fmt: skip
def test_amount_from_integer_cents(cents: int, text: str) -> None:
    assert format_epc_amount(cents) == text


@pytest.mark.parametrize("bad", [0, -1, 100000000000, 12.5, True, "1250"])
def test_amount_out_of_range_or_not_cents(bad: object) -> None:
    with pytest.raises(EpcError):
        format_epc_amount(bad)  # type: ignore[arg-type]
    with pytest.raises(EpcError):
        epc_payload("Stadt", IBAN, BIC, bad, text="x")  # type: ignore[arg-type]


def test_iban_is_normalised_and_checked() -> None:
    assert normalize_iban(" de89 3704 0044 0532 0130 00 ") == IBAN
    assert group_iban(IBAN) == "DE89 3704 0044 0532 0130 00"
    assert normalize_iban("AT611904300234573201") == "AT611904300234573201"
    with pytest.raises(EpcError, match="check digits"):
        normalize_iban("DE88370400440532013000")
    with pytest.raises(EpcError, match="22 characters"):
        normalize_iban("DE8937040044053201300")
    for bad in ("", "DE", "1234567890123456", "DE89-3704-0044"):
        with pytest.raises(EpcError):
            normalize_iban(bad)


def test_bic_format() -> None:
    assert normalize_bic("cobadeff") == "COBADEFF"
    assert normalize_bic("COBA DEFF XXX") == "COBADEFFXXX"
    for bad in ("COBADE", "COBADEFFX", "1OBADEFF", "COBA-DEFF"):
        with pytest.raises(EpcError):
            normalize_bic(bad)


def test_bic_may_be_left_out_but_not_wrong() -> None:
    assert epc_payload("Stadt", IBAN, "", 100, text="x").split("\n")[4] == ""
    assert epc_payload("Stadt", IBAN, None, 100, text="x").split("\n")[4] == ""
    with pytest.raises(EpcError):
        epc_payload("Stadt", IBAN, "NOPE", 100, text="x")


def test_exactly_one_kind_of_remittance() -> None:
    with pytest.raises(EpcError):
        epc_payload("Stadt", IBAN, BIC, 100)
    with pytest.raises(EpcError):
        epc_payload("Stadt", IBAN, BIC, 100, text="x", reference="RF18539007547034")
    # ISO 11649's own example: it fills line 10, and the text line is left out.
    lines = epc_payload("Stadt", IBAN, BIC, 100, reference="RF18 5390 0754 7034").split("\n")
    assert lines[9:] == ["RF18539007547034"]
    with pytest.raises(EpcError):
        epc_payload("Stadt", IBAN, BIC, 100, reference="RF19539007547034")


def test_purpose_code() -> None:
    assert epc_payload("Stadt", IBAN, BIC, 100, text="x", purpose="govt").split("\n")[8] == "GOVT"
    with pytest.raises(EpcError):
        epc_payload("Stadt", IBAN, BIC, 100, text="x", purpose="GOV")


def test_field_lengths_and_line_breaks() -> None:
    assert epc_payload("S" * 70, IBAN, BIC, 100, text="t" * 140)
    with pytest.raises(EpcError):
        epc_payload("S" * 71, IBAN, BIC, 100, text="x")
    with pytest.raises(EpcError):
        epc_payload("Stadt", IBAN, BIC, 100, text="t" * 141)
    with pytest.raises(EpcError):
        epc_payload("", IBAN, BIC, 100, text="x")
    # A line break inside a field would shift IBAN into the amount's place.
    with pytest.raises(EpcError):
        epc_payload("Stadt\nDE00", IBAN, BIC, 100, text="x")
    with pytest.raises(EpcError):
        epc_payload("Stadt", IBAN, BIC, 100, text="Kassenzeichen\r1")


def test_utf8_is_kept_and_the_byte_limit_holds() -> None:
    payload = epc_payload("Bürgerbüro Weißenfels", IBAN, BIC, 100, text="Gebühr")
    assert payload.split("\n")[2] == "1"
    assert "Bürgerbüro Weißenfels" in payload
    # 70 + 140 three-byte characters fit the character limits but not the 331 bytes.
    with pytest.raises(EpcError, match=str(EPC_MAX_BYTES)):
        epc_payload("€" * 70, IBAN, BIC, 100, text="€" * 140)


def test_qr_is_level_m_and_decodes_to_the_exact_payload(tmp_path: Path) -> None:
    need("zbarimg")
    args = ("Bürgerbüro Musterhausen", IBAN, BIC, 2795)
    qr = epc_qr(*args, text=remittance_text("2026-000123"))
    assert qr.error == "M"  # EPC069-12 fixes level M; no boosting
    assert isinstance(qr.version, int) and qr.version <= 13
    png = tmp_path / "qr.png"
    qr.save(str(png), scale=6)
    expected = (
        "BCD\n002\n1\nSCT\nCOBADEFFXXX\nBürgerbüro Musterhausen\nDE89370400440532013000\n"
        "EUR27.95\n\n\nKassenzeichen 2026-000123"
    )
    assert decode_png(png) == [expected]
    assert expected == epc_payload(*args, text="Kassenzeichen 2026-000123")
