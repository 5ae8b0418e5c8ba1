"""Document numbers: how people type them, and the keyed hash that is stored instead.

The number ("Seriennummer") of a German ID card or passport has nine characters from the
digits and ``C F G H J K L M N P R T V W X Y Z`` (no vowels, so no O next to the zero). Both
generations fit: the older cards' letter and digits and today's numbers. People copy it with
spaces or hyphens and in lower case; those are tolerated, anything else is refused with a
message that names the characters allowed.

Only ``HMAC-SHA256(key, number)`` is stored, the key derived from the server's secret and never
in the database: a copy of the database alone does not tell a number. With the key, though, the
numbers of one issuing office (whose first four characters are its authority code) could be
searched through, so the key is guarded like the secret itself. A new secret makes every stored
entry unfindable until the passport software sends it again.
"""

from __future__ import annotations

import hashlib
import hmac

from core.errors import Invalid

ALPHABET = frozenset("0123456789CFGHJKLMNPRTVWXYZ")
LENGTH = 9
# Hyphens as people (and word processors) write them.
_SEPARATORS = frozenset("-\u2010\u2011\u2012\u2013")
INPUT_MAX = 40  # characters with separators; beyond this it is not a document number

SERIAL_MESSAGE = ("Please enter the 9-character document number: digits and the letters C, F, G, "
                  "H, J, K, L, M, N, P, R, T, V, W, X, Y and Z (there is no letter O, only the "
                  "digit 0).")


class InvalidSerial(Invalid):
    code = "invalid_serial"
    message = SERIAL_MESSAGE


def normalize_serial(value: object, field: str = "serial") -> str:
    """The number in upper case without spaces and hyphens; ``InvalidSerial`` otherwise."""
    if not isinstance(value, str) or len(value) > INPUT_MAX:
        raise InvalidSerial(field=field)
    kept = "".join(ch for ch in value if not ch.isspace() and ch not in _SEPARATORS)
    # ASCII first: upper() turns some other letters into ours (the ligature "ﬀ" into "FF").
    kept = kept.upper() if kept.isascii() else ""
    if len(kept) != LENGTH or not set(kept) <= ALPHABET:
        raise InvalidSerial(field=field)
    return kept


class SerialKeys:
    """The keyed hash of document numbers, under a key derived from the server's secret."""

    def __init__(self, secret_key: bytes) -> None:
        self._key = hmac.new(secret_key, b"buergerbuero-document-serial", hashlib.sha256).digest()

    def hash(self, serial: str) -> str:
        """Of a normalised number (``normalize_serial``)."""
        return hmac.new(self._key, serial.encode("ascii"), hashlib.sha256).hexdigest()
