"""The one guard against ID document numbers in free text: the shapes people write numbers in
are caught, ordinary German notes pass (a corpus of everyday text), and every free-text field
that staff or citizens fill runs through it."""

from __future__ import annotations

import pytest

from core.document_numbers import looks_like_document_number

CAUGHT = [
    "L01X00T47", "Nr L01X 00T47", "Nr. L01X-00T47", "L01X-00T47", "T 2200 0129",
    "T22000129", "Ausweisnr.: L01X 00T47", "Pass C01X 00T47 gesehen", "c01x00t47",
    "Aufenthaltstitel Y 1234 5678 9", "L01X.00T47", "L01X/00T47",
    "IDD<<T220001293<<<<<<<<<<<<<<<", "MUSTERMANN<<ERIKA",
]

# Everyday notes, reasons and comments: none may be refused.
ORDINARY = [
    "Bürgerin trug eine Brille, Foto passt trotzdem.",
    "Rückruf erbeten unter 0711 123456.",
    "Termin am 12.03.2026 um 10:30 Uhr verschoben.",
    "Meldebescheinigung für Erika Mustermann, Hauptstraße 12a, 73760 Ostfildern.",
    "Kassenzeichen 2026-000123 wurde per Überweisung bezahlt.",
    "Dokument war gut lesbar, Hologramm und Kippbild geprüft.",
    "Bitte Unterlagen bis KW 14 nachreichen.",
    "Der Bürger hat Schwierigkeiten mit der Kamera gehabt.",
    "Sehr freundlich und schnell, vielen Dank!",
    "Video ruckelte etwas, sonst alles gut.",
    "Rückerstattung wegen doppelter Zahlung vom 03.02.2026.",
    "Wohnungsgeberbestätigung liegt vor, Einzug zum 1. April.",
    "IBAN endet auf 2051, Betrag 12,50 EUR.",
    "Aktenzeichen 32-1234/2026 beim Bundesamt für Justiz.",
    "Kind 2 (Jahrgang 2019) ebenfalls angemeldet.",
    "Postleitzahl 70173 Stuttgart, Zimmer 4.12.",
    "Erreichbar Mo-Fr 8-12 Uhr, Tel. 0711 3451-200.",
    "Online-Zahlung fehlgeschlagen, Fehlercode 402, Karte abgelehnt.",
    "Ausweis gültig bis 2031, keine Auffälligkeiten.",
    "Führungszeugnis Belegart N für die Kita.",
]


@pytest.mark.parametrize("text", CAUGHT)
def test_numbers_are_caught_however_written(text: str) -> None:
    assert looks_like_document_number(text, strict=False), text


def test_ordinary_german_text_passes() -> None:
    refused = [text for text in ORDINARY if looks_like_document_number(text, strict=False)]
    assert refused == []
