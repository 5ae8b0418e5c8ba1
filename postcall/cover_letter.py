"""The cover letter (Begleitschreiben) for documents posted without a fee notice.

A postal case that was free of charge or paid online still needs a letter in the window
envelope: it names the request and the enclosed documents, so the print room's batch has a
first page for every envelope. Written in German like the fee notice, on the same DIN 5008 frame
(template ``postcall/templates/letters/cover_letter.html``).
"""

from __future__ import annotations

from dataclasses import dataclass

from postcall.documents import LetterBase
from postcall.letter_frame import letter_frame, salutation
from postcall.letter_render import render_letter

COVER_TITLE = "Ihre Unterlagen"


@dataclass(frozen=True, kw_only=True)
class CoverLetterData(LetterBase):
    payment_note: str = ""  # one sentence about the fee, e.g. "Die Leistung ist gebührenfrei."


def render_cover_letter(data: CoverLetterData) -> bytes:
    auth = data.authority
    frame = letter_frame(data, COVER_TITLE)
    return render_letter("cover_letter.html", frame.context(
        data=data, greeting=salutation(auth.style, data.recipient.name)))
