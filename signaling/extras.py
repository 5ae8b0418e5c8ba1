"""Messages during a running call that one party sends to the other (an addition to CONTRACT §4).

They are table-driven: each kind names who may send it, its fields and their checks. The hub
checks a frame against its kind's entry (unknown fields, wrong types and oversized values close
the connection with 4400, a kind the sender's role may not send with 4403) and relays the
checked message to the other party; the server adds nothing but ``from`` (the sender's role)
where the table says so. Nothing of these messages is stored or logged by the server: a chat
line lives in the two browsers for the call's lifetime.

- ``chat`` (either party): ``text``, 1..1000 characters, control characters removed; the
  other party gets it with ``from``. A line that is empty once cleaned is dropped.
- ``document-mode`` (clerk): ``on`` (bool): asks the citizen's browser for the rear camera at
  its highest resolution, or (``false``) back to the usual camera.
- ``document-mode-reply`` (citizen): ``on`` (bool), ``outcome`` (``accepted`` · ``refused`` ·
  ``failed``), optional ``width`` and ``height`` (1..16384 or null): the citizen's answer and
  the resolution the camera gives now.
- ``screen-share`` (clerk): ``active`` (bool): the clerk shares the screen, or stopped; both
  pages show an indicator.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from signaling.checks import bad, check_fields
from signaling.errors import CloseCode, ProtocolError
from signaling.grants import ROLES, Role

MAX_CHAT_CHARS = 1000
MAX_VIDEO_SIDE = 16384
# C0 and C1 control characters (newlines too: a chat line is one line) and the bidirectional
# overrides and isolates, which could make a line read differently than it was written.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")




Check = Callable[[Any, str], Any]


def _bool(value: Any, what: str) -> bool:
    if not isinstance(value, bool):
        bad(f"{what}: not a boolean")
    return value


def _side(value: Any, what: str) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_VIDEO_SIDE:
        bad(f"{what}: not an integer in 1..{MAX_VIDEO_SIDE}")
    return value


def _chat_text(value: Any, what: str) -> str:
    # The reason never quotes the text: a refused line must not reach a log either.
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_CHAT_CHARS:
        bad(f"{what}: not a string of 1..{MAX_CHAT_CHARS} characters")
    return _CONTROL.sub("", value).strip()


def _one_of(*allowed: str) -> Check:
    def check(value: Any, what: str) -> str:
        if value not in allowed:
            bad(f"{what}: not one of {', '.join(allowed)}")
        return str(value)

    return check


def _role(value: Any, what: str) -> str:
    if value not in ROLES:
        bad(f"{what}: unknown role")
    return str(value)


@dataclass(frozen=True, slots=True)
class Kind:
    """One kind of relayed message: who may send it, its required and optional fields."""

    senders: frozenset[str]
    required: Mapping[str, Check]
    optional: Mapping[str, Check] = field(default_factory=dict)
    stamped: bool = False  # the server adds ``from`` (the sender's role)
    # A message whose value of this field comes out empty is dropped, not relayed.
    drop_if_empty: str | None = None


BOTH = frozenset({"citizen", "clerk"})
KINDS: dict[str, Kind] = {
    "chat": Kind(BOTH, {"text": _chat_text}, stamped=True, drop_if_empty="text"),
    "document-mode": Kind(frozenset({"clerk"}), {"on": _bool}),
    "document-mode-reply": Kind(
        frozenset({"citizen"}),
        {"on": _bool, "outcome": _one_of("accepted", "refused", "failed")},
        {"width": _side, "height": _side},
    ),
    "screen-share": Kind(frozenset({"clerk"}), {"active": _bool}),
}


@dataclass(frozen=True, slots=True)
class Extra:
    """A checked message of one of ``KINDS``; ``data`` is what the other party gets (without
    ``from``, which the hub adds). Never in a repr: it may be a chat line."""

    type: ClassVar[str] = "extra"
    kind: str
    data: dict[str, Any] = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        return self.data

    @property
    def empty(self) -> bool:
        """Nothing left to relay (a chat line of control characters only)."""
        spec = KINDS[self.kind]
        return spec.drop_if_empty is not None and not self.data.get(spec.drop_if_empty)

    def check_sender(self, role: Role | str) -> None:
        if role not in KINDS[self.kind].senders:
            raise ProtocolError(CloseCode.FORBIDDEN, f"{self.kind} is not for the {role}")

    def relayed(self, role: Role | str) -> dict[str, Any]:
        """The message as the other party gets it."""
        if KINDS[self.kind].stamped:
            return {**self.data, "from": role}
        return self.data


def _parse(kind: str, obj: dict[str, Any], *, server: bool) -> Extra:
    spec = KINDS[kind]
    optional: dict[str, Check] = dict(spec.optional)
    if server and spec.stamped:
        optional["from"] = _role
    check_fields(obj, spec.required.keys(), optional.keys())
    data: dict[str, Any] = {"type": kind}
    for name, check in spec.required.items():
        data[name] = check(obj[name], f"{kind}.{name}")
    for name, check in optional.items():
        if name in obj:
            data[name] = check(obj[name], f"{kind}.{name}")
    return Extra(kind, data)


def _parser(kind: str, *, server: bool) -> Callable[[dict[str, Any]], Extra]:
    def parse(obj: dict[str, Any]) -> Extra:
        return _parse(kind, obj, server=server)

    return parse


def client_parsers() -> dict[str, Callable[[dict[str, Any]], Extra]]:
    """One parser per kind, for the codec's table of client messages."""
    return {kind: _parser(kind, server=False) for kind in KINDS}


def server_parsers() -> dict[str, Callable[[dict[str, Any]], Extra]]:
    """The same kinds as the server relays them (``from`` allowed where stamped)."""
    return {kind: _parser(kind, server=True) for kind in KINDS}
