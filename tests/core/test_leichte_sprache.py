"""Leichte Sprache (``core/locales/de-x-ls``) keeps the rules of the Netzwerk Leichte Sprache
that a machine can check, on every text of every catalogue of it: short sentences, no
abbreviations, no semicolons or brackets, no genitive articles, no subjunctive, and long
compound words split (with a hyphen or a medio-point)."""

from __future__ import annotations

import re

import pytest

from core.i18n import EASY_GERMAN, LOCALES_DIR, read_catalogue

MAX_WORDS = 15  # per sentence
MAX_LETTERS = 15  # per word without a hyphen or medio-point: longer compounds are split
ABBREVIATIONS = ("z. B.", "z.B.", "bzw.", "usw.", "ggf.", "d. h.", "d.h.", "u. a.", "u.a.",
                 "etc.", "evtl.", "ca.", "inkl.", "vgl.", "bspw.", "Nr.")
GENITIVE = {"des", "eines", "dessen", "deren"}
SUBJUNCTIVE = {"würde", "würden", "hätte", "hätten", "wäre", "wären"}
# Not words of the language: placeholders, markup, addresses, references, product names.
NOT_WORDS = re.compile(r"%\(\w+\)[sd]|%[sd]|<[^>]+>|https?://\S+|\S+@\S+|/\S*|BB-\S+|"
                       r"\bBITV 2\.0\b|\bWCAG 2\.1\b|\b\d+([.,:]\d+)*\b")
SENTENCE_END = re.compile(r"(?<=[.!?:])\s+")


def faults(text: str) -> list[str]:
    found: list[str] = []
    for abbreviation in ABBREVIATIONS:
        if abbreviation in text:
            found.append(f"abbreviation {abbreviation!r}")
    plain = NOT_WORDS.sub("X", text)
    if ";" in plain:
        found.append("semicolon")
    if "(" in plain or ")" in plain:
        found.append("brackets")
    for sentence in SENTENCE_END.split(plain):
        words = re.findall(r"[\w·-]+", sentence)
        if len(words) > MAX_WORDS:
            found.append(f"{len(words)} words in {sentence[:50]!r}")
        for word in words:
            lower = word.lower()
            if lower in GENITIVE:
                found.append(f"genitive {word!r}")
            if lower in SUBJUNCTIVE:
                found.append(f"subjunctive {word!r}")
            if "-" not in word and "·" not in word and len(word) > MAX_LETTERS:
                found.append(f"compound not split: {word!r}")
    return found


def easy_catalogues() -> list[str]:
    return sorted(p.name for p in (LOCALES_DIR / EASY_GERMAN / "LC_MESSAGES").glob("*.po"))


@pytest.mark.parametrize("name", easy_catalogues())
def test_every_text_keeps_the_rules(name: str) -> None:
    catalog = read_catalogue(LOCALES_DIR / EASY_GERMAN / "LC_MESSAGES" / name, EASY_GERMAN)
    wrong = []
    for message in catalog:
        if not message.id:
            continue
        texts = message.string if isinstance(message.string, list | tuple) else [message.string]
        msgid = message.id if isinstance(message.id, str) else message.id[0]
        wrong += [f"{msgid[:50]!r}: {fault}" for text in texts for fault in faults(str(text or ""))]
    assert not wrong, "\n".join(wrong)


def test_there_is_a_leichte_sprache_catalogue() -> None:
    assert "common.po" in easy_catalogues()


@pytest.mark.parametrize(("text", "fault"), [
    ("Bitte bringen Sie z. B. Ihren Ausweis mit.", "abbreviation"),
    ("Das ist gut; das ist schlecht.", "semicolon"),
    ("Ihr Ausweis (oder Pass) ist wichtig.", "brackets"),
    ("Das ist der Termin des Bürger-Büros.", "genitive"),
    ("Sie würden einen Termin bekommen.", "subjunctive"),
    ("Sie brauchen eine Meldebescheinigung.", "compound not split"),
    ("Sie können hier einen Termin für ein Gespräch mit einer Mitarbeiterin oder einem "
     "Mitarbeiter von dem Bürger-Büro machen.", "words in"),
])
def test_the_rules_find_their_faults(text: str, fault: str) -> None:
    assert any(fault in f for f in faults(text)), faults(text)


@pytest.mark.parametrize("text", [
    "Sie brauchen eine Melde-Bescheinigung.",
    "Ihr Termin ist am %(date)s um %(time)s.",
    "Schreiben Sie an buergerbuero@musterstadt.example. Oder rufen Sie an.",
    "Die Nummer von Ihrem Termin ist BB-AB12-CD34.",
    "Das Gesetz heißt: BITV 2.0.",
])
def test_plain_texts_pass(text: str) -> None:
    assert faults(text) == []
