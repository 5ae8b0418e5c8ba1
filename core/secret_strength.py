"""How strong a configured secret is: a cautious estimate of its randomness, and whether it is
still a placeholder of the shipped examples (``deploy/.env.example``: ``CHANGE-ME...``)."""

from __future__ import annotations

import math
from collections import Counter

MIN_SECRET_BITS = 256
EXAMPLE_MARKERS = ("change-me", "changeme", "example")


def is_placeholder(value: str) -> bool:
    """A value from the shipped examples (``CHANGE-ME...``) or of that kind."""
    lowered = value.lower()
    return any(marker in lowered for marker in EXAMPLE_MARKERS)


def entropy_bits(value: str) -> float:
    """A cautious estimate of the randomness in ``value``: its length times the bits per
    character of the smallest usual alphabet it is written in (hex 4, base64 6, printable 6.5),
    capped by how varied its characters are (a repeated pattern counts for little)."""
    if not value:
        return 0.0
    if all(c in "0123456789abcdefABCDEF" for c in value):
        per_char = 4.0
    elif all(c.isascii() and (c.isalnum() or c in "-_+/=") for c in value):
        per_char = 6.0
    else:
        per_char = 6.5
    counts = Counter(value)
    shannon = -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())
    # Random text of this length shows about this many bits per character; far less means a
    # pattern (aaaa..., abcabc...).
    if shannon < min(per_char, math.log2(len(value))) * 0.6:
        per_char = shannon
    return len(value) * per_char
