"""The one guard against ID document numbers in free text (PAuswG §20: a number is not to be
kept without need). Every text field that staff or citizens fill runs through it.

Refused: anything shaped like the serial number of a German ID card, passport or electronic
residence permit (nine or ten characters from the alphabet those numbers use, which has no
vowels, with at least one digit), also when written in parts with spaces, hyphens, dots or
slashes between them, or after a prefix (``Nr. L01X 00T47``, ``L01X-00T47``,
``T 2200 0129``); and machine-readable-zone lines (``<<``). Ordinary German text passes: the
alphabet has no vowels, so words do not match, and a number made of parts only counts when it
mixes letters and digits the way serial numbers do (a phone number written in groups does not).
"""

from __future__ import annotations

import re

from core.errors import Invalid

# German document serial numbers use these characters (no vowels, so no words).
_DOC_ALPHABET = re.compile(r"^[CFGHJKLMNPRTVWXYZ0-9]{9,10}$")
_TOKEN = re.compile(r"[A-Za-z0-9]+")
# What may stand between the parts of one number as people write it.
_JOINERS = re.compile(r"^[\s\-./]{1,3}$")


def _serial(candidate: str, *, mixed: bool) -> bool:
    upper = candidate.upper()
    if not _DOC_ALPHABET.match(upper) or not any(c.isdigit() for c in upper):
        return False
    return not mixed or any(c.isalpha() for c in upper)


def looks_like_document_number(text: str, *, strict: bool = True) -> bool:
    """True for text that holds something shaped like an ID document number or an MRZ line.

    ``strict`` (identity-check fields) also refuses any code of six or more characters with two
    or more digits: there is no reason to write such a thing into an identity check's note.
    """
    if "<<" in text:
        return True
    matches = list(_TOKEN.finditer(text))
    for index, match in enumerate(matches):
        token = match.group()
        if _serial(token, mixed=False):
            return True
        if strict and len(token) >= 6 and sum(c.isdigit() for c in token) >= 2:
            return True
        # The same number written in two to four parts.
        joined = token
        for following, previous in zip(matches[index + 1:index + 4], matches[index:index + 3],
                                       strict=False):
            if not _JOINERS.match(text[previous.end():following.start()]):
                break
            joined += following.group()
            if _serial(joined, mixed=True):
                return True
    return False


def no_document_number(value: str, field_name: str, *, strict: bool = True) -> str:
    """``value``, or ``Invalid`` naming ``field_name`` when it holds a document number."""
    if looks_like_document_number(value, strict=strict):
        raise Invalid("Please do not write ID document numbers or lines of a document's "
                      "machine-readable zone here.", field=field_name)
    return value
