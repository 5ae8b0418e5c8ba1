"""The Leichte Sprache catalogues (``core/locales/de-x-ls``, CONTRACT §5 ``?lang=de-x-ls``) are
complete and keep the rules of the Netzwerk Leichte Sprache that a program can check.

Every area of ``core/locales/de`` that a citizen sees has a Leichte Sprache file with the same
messages. Each text is checked for: short sentences (at most 15 words), no semicolon, no
abbreviation, no genitive article, no subjunctive, no long word without a hyphen or medio-point,
no Roman numeral, no parentheses, the polite "Sie", and the placeholders and HTML tags of its
message id. The catalogues are read with Babel directly; no app is started.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from babel.messages.catalog import Message
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
GERMAN = ROOT / "core/locales/de/LC_MESSAGES"
EASY = ROOT / "core/locales/de-x-ls/LC_MESSAGES"

# The areas a citizen sees (pages and e-mails); call_tools holds the citizen's side of the call's
# chat, rear camera and still frame too. Staff-only areas stay in plain German.
AREAS = ("booking", "calls_api", "call", "call_tools", "cases", "channels", "citizen", "common",
         "document_status", "family", "guest", "mail", "online", "online_pages", "payments",
         "postcall", "privacy", "release", "request_mail", "waiting", "waitlist")

MAX_WORDS = 15
MAX_LETTERS = 20

PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[-#0 +]*\d*(?:\.\d+)?[sdifr%]")
TAG = re.compile(r"<[^>]*>")
ENTITY = re.compile(r"&#?\w+;")
URL = re.compile(r"(?:https?://|/)\S+|\S+@\S+")
SENTENCE_END = re.compile(r"[.!?:…]+(?=\s|$)|\n")
WORD = re.compile(r"\w", re.UNICODE)
LONG_WORD = re.compile(rf"[A-Za-zÄÖÜäöüß]{{{MAX_LETTERS + 1},}}")

ABBREVIATIONS = {
    "z. B.": r"\bz\.\s?b\.", "bzw.": r"\bbzw\.", "ggf.": r"\bggfs?\.", "usw.": r"\busw\.",
    "d. h.": r"\bd\.\s?h\.", "ca.": r"\bca\.", "etc.": r"\betc\.", "u. a.": r"\bu\.\s?a\.",
    "evtl.": r"\bevtl\.", "inkl.": r"\binkl\.", "zzgl.": r"\bzzgl\.", "Nr.": r"\bnr\.",
    "vgl.": r"\bvgl\.", "sog.": r"\bsog\.", "bspw.": r"\bbspw\.", "o. Ä.": r"\bo\.\s?ä\.",
    "u. U.": r"\bu\.\s?u\.", "Tel.": r"\btel\.", "Str.": r"\bstr\.", "Abs.": r"\babs\.",
    "max.": r"\bmax\.", "min.": r"\bmin\.", "gem.": r"\bgem\.", "z. T.": r"\bz\.\s?t\.",
    "i. d. R.": r"\bi\.\s?d\.\s?r\.", "Std.": r"\bstd\.", "Mio.": r"\bmio\.",
}
ABBREVIATION = {name: re.compile(pattern, re.IGNORECASE) for name, pattern in ABBREVIATIONS.items()}

# "des" is only ever the genitive article; "eines", "Ihres" and the like are genitive when a
# noun ending in -s follows (possibly after adjectives): "eines Termins", "Ihres neuen Antrags".
# "Wählen Sie eines aus" (a pronoun) is not flagged.
GENITIVE = re.compile(
    r"\b[Dd]es\b|\b(?:[Ee]ines|[Dd]eines|[Ii]hres|[Mm]eines|[Ss]eines|[Kk]eines|[Uu]nseres"
    r"|[Dd]ieses|[Jj]edes)\s+(?:[a-zäöü]\w*en\s+)*[A-ZÄÖÜ]\w*e?s\b")
# "der", "einer", "Ihrer" and the like after a noun and before a noun are a genitive ("die Dauer
# der Bearbeitung", "die Nummer Ihrer Karte"). Words that start a sentence or stand before a
# dative or accusative ("Bei der Post", "Oder der Link", "Geben Sie Ihrer Bank") are no noun.
NOT_A_NOUN = ("Sie|Bitte|Beispiel|Zu|Zum|Zur|Oder|Und|Aber|Bei|Beim|In|Im|Ins|Unter|Auf|Mit|Von|"
              "Vom|Nach|Aus|Für|Über|Vor|An|Am|Um|Durch|Ohne|Gegen|Als|Wie|Wo|Was|Wer|Wird|Ist|"
              "Sind|Hat|Gibt|Dann|Damit|Darum|Dort|Hier|Jetzt|Danach|Dabei|Darin|Wenn")
GENITIVE_AFTER_NOUN = re.compile(
    rf"\b(?!(?:{NOT_A_NOUN})\b)[A-ZÄÖÜ][a-zäöüß]+\s+"
    r"(?:der|einer|[Ii]hrer|meiner|seiner|unserer|dieser|jeder|keiner)\s+"
    r"(?:[a-zäöü]\w*en\s+)*[A-ZÄÖÜ][a-zäöüß]+")
SUBJUNCTIVE = re.compile(
    r"\b(?:würden?|würdest|könnten?|hätten?|müssten?|sollten?|wären?|dürften?)\b", re.IGNORECASE)
# Two or more numeral letters ("II", "IV", "XII"), or one after a word that counts ("Teil V").
# A lone capital letter elsewhere is a letter ("die Buchstaben C, F, G").
ROMAN = re.compile(r"\b(?=[IVXLC]{2,}\b)(?:XC|XL|L?X{0,3})(?:IX|IV|V?I{0,3})\b"
                   r"|\b(?:Teil|Band|Kapitel|Abschnitt|Buch|Stufe|Klasse|Nummer)\s+[IVX]\b")
INFORMAL = re.compile(r"\b(?:du|dich|dir|dein|deine|deinen|deinem|deiner|deines)\b", re.IGNORECASE)


def _words_only(text: str) -> str:
    """The text without placeholders (each becomes one word), tags, entities, URLs and e-mail
    addresses."""
    text = PLACEHOLDER.sub(" 0 ", text)
    text = TAG.sub(" ", text)
    text = ENTITY.sub(" ", text)
    return URL.sub(" ", text)


def sentences(text: str) -> list[str]:
    return [part.strip() for part in SENTENCE_END.split(_words_only(text)) if part.strip()]


def word_count(sentence: str) -> int:
    return sum(1 for token in sentence.split() if WORD.search(token))


def rule_breaks(text: str) -> list[str]:
    """What in one Leichte Sprache text breaks a checkable rule (empty when nothing does)."""
    problems: list[str] = []
    plain = _words_only(text)
    for sentence in sentences(text):
        if word_count(sentence) > MAX_WORDS:
            problems.append(f"sentence of {word_count(sentence)} words: {sentence!r}")
    if ";" in plain:
        problems.append("semicolon")
    if "(" in plain or ")" in plain:
        problems.append("parentheses")
    for name, pattern in ABBREVIATION.items():
        if pattern.search(plain):
            problems.append(f"abbreviation {name!r}")
    for found in GENITIVE.finditer(plain):
        problems.append(f"genitive {found.group(0)!r}")
    for sentence in sentences(text):
        for found in GENITIVE_AFTER_NOUN.finditer(sentence):
            problems.append(f"genitive {found.group(0)!r}")
    for found in SUBJUNCTIVE.finditer(plain):
        problems.append(f"subjunctive {found.group(0)!r}")
    for found in LONG_WORD.finditer(plain):
        problems.append(f"word over {MAX_LETTERS} letters without a hyphen: {found.group(0)!r}")
    for found in ROMAN.finditer(plain):
        if found.group(0):
            problems.append(f"Roman numeral {found.group(0)!r}")
    for found in INFORMAL.finditer(plain):
        problems.append(f"informal address {found.group(0)!r}")
    return problems


def _forms(value: str | tuple[str, ...] | list[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def _placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def entry_problems(message: Message) -> list[str]:
    """Every problem of one catalogue entry: completeness, placeholders, tags and the rules."""
    ids = _forms(message.id)
    strings = _forms(message.string)
    if message.fuzzy:
        return ["fuzzy"]
    if len(strings) != len(ids) or not all(s.strip() for s in strings):
        return ["empty or missing translation"]
    problems: list[str] = []
    allowed = set().union(*(_placeholders(i) for i in ids))
    for index, string in enumerate(strings):
        own = _placeholders(string)
        # The singular of a plural message may leave out the number ("Eine Person").
        needed = _placeholders(ids[-1]) if index else _placeholders(ids[0])
        if not own <= allowed or (len(ids) == 1 and own != needed) or (index and own != needed):
            problems.append(f"placeholders {sorted(own)} instead of {sorted(needed)}")
        if Counter(TAG.findall(string)) != Counter(TAG.findall(ids[min(index, len(ids) - 1)])):
            problems.append("HTML tags differ from the message id")
        problems.extend(rule_breaks(string))
    return problems


def _read(path: Path) -> list[Message]:
    with path.open("rb") as fh:
        return [m for m in read_po(fh, locale="de") if m.id]


def _name(area: str, message: Message) -> str:
    context = f"[{message.context}] " if message.context else ""
    return f"{area}.po: {context}{_forms(message.id)[0]!r}"


# --- the checker itself can fail -------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("Sie können den Termin absagen, wenn Sie an dem Tag keine Zeit haben und lieber an einem "
     "anderen Tag kommen.", "sentence of 20 words"),
    ("Bitte bringen Sie Ihren Ausweis mit; wir prüfen ihn.", "semicolon"),
    ("Bringen Sie z. B. Ihren Ausweis mit.", "abbreviation 'z. B.'"),
    ("Das ist bzw. war Ihr Termin.", "abbreviation 'bzw.'"),
    ("Bitte bringen Sie ggf. Fotos mit.", "abbreviation 'ggf.'"),
    ("Die Uhrzeit des Termins steht hier.", "genitive 'des'"),
    ("Das ist die Nummer Ihres Antrags.", "genitive 'Ihres Antrags'"),
    ("Hier steht der Ort eines neuen Termins.", "genitive 'eines neuen Termins'"),
    ("Die Dauer der Bearbeitung ist kurz.", "genitive 'Dauer der Bearbeitung'"),
    ("Das ist die Nummer Ihrer Karte.", "genitive 'Nummer Ihrer Karte'"),
    ("Sie würden einen Brief bekommen.", "subjunctive 'würden'"),
    ("Sie könnten auch anrufen.", "subjunctive 'könnten'"),
    ("Das sollte gehen.", "subjunctive 'sollte'"),
    ("Sie bekommen einen Gebührenfestsetzungsbescheid.", "word over 20 letters"),
    ("Das steht in Teil II.", "Roman numeral 'II'"),
    ("Bringen Sie Ihren Ausweis (Personal·ausweis) mit.", "parentheses"),
    ("Bitte bring deinen Ausweis mit.", "informal address"),
])
def test_the_checker_finds_a_broken_rule(text: str, expected: str) -> None:
    assert any(expected in problem for problem in rule_breaks(text)), rule_breaks(text)


@pytest.mark.parametrize("text", [
    "Termin buchen",
    "Sie haben einen Termin am %(date)s um %(time)s Uhr.",
    "Gebühren-Bescheid: Das ist ein Brief vom Amt. Darin steht: So viel Geld müssen Sie bezahlen.",
    "Bringen Sie Ihren Personal·ausweis mit.",
    "Wählen Sie eines aus.",
    "Das ist die Nummer von Ihrem Antrag.",
    "Bei der Post abgegeben.",
    "Oder der Link ist zu alt.",
    "Zu Ihrer Person",
    "Geben Sie Ihrer Bank den Auftrag.",
    "Sie möchten einen Termin? Dann klicken Sie hier.",
    "Schreiben Sie an <a href=\"mailto:%(email)s\">%(email)s</a>.",
    "Ihre Termin-Nummer ist %(reference)s.",
])
def test_the_checker_lets_good_text_pass(text: str) -> None:
    assert rule_breaks(text) == []


def test_the_checker_finds_incomplete_entries() -> None:
    assert entry_problems(Message("Book", "")) == ["empty or missing translation"]
    assert entry_problems(Message("Book", "Buchen", flags=["fuzzy"])) == ["fuzzy"]
    lost = entry_problems(Message("Your appointment on %(date)s", "Ihr Termin"))
    assert lost and "placeholders" in lost[0]
    assert entry_problems(Message("<strong>Note</strong>", "Hinweis")) == [
        "HTML tags differ from the message id"]
    assert entry_problems(Message(("%(num)s day", "%(num)s days"),
                                  ("Ein Tag", "%(num)s Tage"))) == []
    assert entry_problems(Message(("%(num)s day", "%(num)s days"), ("%(num)s Tag", "Tage")))


# --- the real catalogues ---------------------------------------------------------------------

def test_every_citizen_area_has_a_leichte_sprache_catalogue() -> None:
    missing = [area for area in AREAS if not (EASY / f"{area}.po").is_file()]
    assert missing == []
    assert {path.stem for path in EASY.glob("*.po")} == set(AREAS)


@pytest.mark.parametrize("area", AREAS)
def test_the_catalogue_has_the_messages_of_the_german_one(area: str) -> None:
    german = [(m.context, m.id) for m in _read(GERMAN / f"{area}.po")]
    easy = [(m.context, m.id) for m in _read(EASY / f"{area}.po")]
    assert [key for key in german if key not in easy] == [], "missing in Leichte Sprache"
    assert [key for key in easy if key not in german] == [], "not in the German catalogue"


@pytest.mark.parametrize("area", AREAS)
def test_every_text_keeps_the_rules(area: str) -> None:
    broken = [f"{_name(area, m)}: {problem}"
              for m in _read(EASY / f"{area}.po") for problem in entry_problems(m)]
    assert broken == [], "\n".join(broken)


def test_catalogues_have_two_plural_forms_and_read_as_german() -> None:
    for area in AREAS:
        with (EASY / f"{area}.po").open("rb") as fh:
            catalog = read_po(fh, locale="de")
        assert catalog.num_plurals == 2, area
        assert str(catalog.locale) == "de", area


def test_a_message_reads_the_same_in_every_area() -> None:
    """The catalogues are merged into one; a message id in two areas must read the same."""
    seen: dict[tuple[str | None, object], tuple[str, object]] = {}
    conflicts = []
    for area in AREAS:
        for message in _read(EASY / f"{area}.po"):
            key = (message.context, message.id)
            if key in seen and seen[key][1] != message.string:
                conflicts.append(f"{_name(area, message)} differs from {seen[key][0]}.po")
            seen.setdefault(key, (area, message.string))
    assert conflicts == []
