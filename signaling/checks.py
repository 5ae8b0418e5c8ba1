"""The checks every signalling frame goes through, shared by the codec (``signaling.protocol``)
and the table of in-call messages (``signaling.extras``): a refused frame closes the
connection with 4400, and the reason never quotes a value (it may be a chat line)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NoReturn

from signaling.errors import CloseCode, ProtocolError


def bad(reason: str) -> NoReturn:
    raise ProtocolError(CloseCode.BAD_MESSAGE, reason)


def check_fields(obj: dict[str, Any], required: Iterable[str],
                 optional: Iterable[str] = ()) -> None:
    """Exactly the ``required`` fields (besides ``type``) and any of ``optional``."""
    needed, allowed = set(required), set(optional)
    keys = obj.keys() - {"type"}
    missing = needed - keys
    if missing:
        bad(f"{obj['type']}: missing {sorted(missing)}")
    extra = keys - needed - allowed
    if extra:
        bad(f"{obj['type']}: unknown fields {sorted(extra)[:5]}")
