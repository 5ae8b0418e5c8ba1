"""Text in the letters wraps inside the DIN 5008 text body and loses nothing on the way.

Word boxes come from `pdftotext -bbox`, as the print room's tools would see the page.
"""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

from postcall.rejection import render_rejection_notice
from tests.postcall.fee_support import (
    MM,
    Word,
    flat,
    page_count,
    text,
    words,
    write,
)
from tests.postcall.test_rejection_notice import rejection

# The text body (letter.css): 25 mm from the left, 20 from the right; on later pages below the
# follow header (34 mm), on every page above the page number and footer (30 mm from the foot).
PAGE_W, PAGE_H = 210.0, 297.0
LEFT, RIGHT = 25.0, 20.0
FOLLOW_TOP = 34.0
BOTTOM_MARGIN = 30.0

SENTENCE = (
    "Gegen diesen Bescheid kann innerhalb eines Monats nach Bekanntgabe Widerspruch erhoben "
    "werden; Jürgen Weiß aus der Großen Straße bekommt die Gebühr von 27,95 € erstattet."
)
LONG_WORD = "Donaudampfschifffahrtsgesellschaftskapitänsmützenabzeichen" * 3


def letter(*paragraphs: str) -> bytes:
    """A rejection notice whose reasons are ``paragraphs``."""
    return render_rejection_notice(rejection(reasons="\n\n".join(paragraphs)))


def body_words(path: Path, page: int, first: str | None = None) -> list[Word]:
    """The words of the reasons on a page, in reading order: below the letterhead or the
    follow header (from the first `first` on, if given), above the page number and footer,
    up to the legal-remedy heading."""
    found = [word for word in words(path, page) if word.y0 >= FOLLOW_TOP * MM - 1]
    if first is not None:
        found = found[next(index for index, word in enumerate(found) if word.text == first):]
    found = [word for word in found if word.y1 < (PAGE_H - BOTTOM_MARGIN) * MM]
    end = next((i for i, word in enumerate(found) if word.text == "Rechtsbehelfsbelehrung"),
               len(found))
    return found[:end]


def lines_of(body: list[Word]) -> list[list[Word]]:
    lines: dict[float, list[Word]] = {}
    for word in body:
        lines.setdefault(round(word.y0, 1), []).append(word)
    return [lines[y] for y in sorted(lines)]


def test_a_long_paragraph_wraps_inside_the_text_body(tmp_path: Path) -> None:
    paragraph = " ".join([SENTENCE] * 4)
    path = write(tmp_path, letter(paragraph))
    body = body_words(path, 1, "Gegen")
    assert [word.text for word in body] == paragraph.split()
    lines = lines_of(body)
    assert len(lines) >= 6  # wrapped, not one overlong line
    right = (PAGE_W - RIGHT) * MM
    for word in body:
        assert word.x0 >= LEFT * MM - 0.5 and word.x1 <= right + 0.5, word
    # Each line is filled: the next line's first word would not have fitted after it.
    for line, following in pairwise(lines):
        space = min(b.x0 - a.x1 for a, b in pairwise(line))
        first = following[0]
        assert line[-1].x1 + space + (first.x1 - first.x0) > right - 3 * MM, (line, first)


def test_a_word_longer_than_the_line_is_cut_not_lost(tmp_path: Path) -> None:
    path = write(tmp_path, letter(f"Vorher {LONG_WORD} nachher."))
    body = body_words(path, 1, "Vorher")
    for word in body:
        assert word.x1 <= (PAGE_W - RIGHT) * MM + 0.5, word
    pieces = [word.text for word in body]
    assert pieces[0] == "Vorher" and pieces[-1] == "nachher."
    assert "".join(pieces[1:-1]) == LONG_WORD
    assert len(lines_of(body)) >= 3  # cut over several lines


def test_text_running_over_the_page_continues_under_the_follow_header(tmp_path: Path) -> None:
    paragraphs = [f"Absatz {number}: {SENTENCE}" for number in range(1, 41)]
    path = write(tmp_path, letter(*paragraphs))
    pages = page_count(path)
    assert pages >= 2
    # Page after page, the body holds exactly the paragraphs' words in order: nothing lost,
    # nothing under the follow header or in the footer.
    body = body_words(path, 1, "Absatz")
    for page in range(2, pages + 1):
        second = flat(text(path, page=page))
        assert "Vorgangsnummer OA-7K3Q-M9PX" in second and f"Seite {page} von {pages}" in second
        body += body_words(path, page)
    assert [word.text for word in body] == " ".join(paragraphs).split()
