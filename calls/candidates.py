"""Which ICE candidates the connection-test peer may use and announce.

The echo peer (``calls/echo.py``) runs inside the town's network. Left alone it would send STUN
checks to any address a client writes into its offer — loopback, the town's private ranges — and
list every address of the server in its answer. So:

- **from the offer** only candidates with a globally routable address are kept (no loopback,
  private, link-local, shared/CGNAT, unique-local, documentation or multicast range, no
  ``.local`` mDNS name), unless the installation allows private ones
  (``BUERO_CONNECTION_TEST_PRIVATE_CANDIDATES``, for a test setup or an intranet);
- **in the answer** only relay (TURN) and server-reflexive (STUN) candidates and host candidates
  on the configured public addresses (``BUERO_CONNECTION_TEST_PUBLIC_ADDRESSES``) are announced,
  unless private ones are allowed.

Candidates are SDP attribute lines (RFC 8839 §5.1):
``a=candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type> ...``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Collection


def is_public(address: str) -> bool:
    """A globally routable unicast IP address (a name, e.g. mDNS ``*.local``, is not)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return ip.is_global and not ip.is_multicast  # ipaddress counts some multicast as global


def _fields(line: str) -> list[str] | None:
    """The fields of an ``a=candidate:`` line; ``None`` for any other line."""
    if not line.startswith("a=candidate:"):
        return None
    fields = line[len("a=candidate:"):].split()
    return fields if len(fields) >= 8 and fields[6] == "typ" else []


def _masked(fields: list[str]) -> str:
    """The candidate line with its related address (``raddr``/``rport``: the address behind a
    reflexive or relayed one) hidden, as browsers do."""
    out = list(fields)
    for i in range(8, len(out) - 1):
        if out[i] == "raddr":
            out[i + 1] = "::" if ":" in out[i + 1] else "0.0.0.0"  # noqa: S104 (not a bind)
        elif out[i] == "rport":
            out[i + 1] = "0"
    return "a=candidate:" + " ".join(out)


def _keep(sdp: str, wanted: Callable[[list[str]], bool], *, mask: bool = False) -> str:
    newline = "\r\n" if "\r\n" in sdp else "\n"
    kept = []
    for line in sdp.split(newline):
        fields = _fields(line)
        if fields is None:
            kept.append(line)
        elif fields and wanted(fields):
            kept.append(_masked(fields) if mask else line)
    return newline.join(kept)


def screen_offer(sdp: str, *, allow_private: bool) -> str:
    """The offer without candidates the echo peer must not contact."""
    if allow_private:
        return sdp
    return _keep(sdp, lambda fields: is_public(fields[4]))


def screen_answer(sdp: str, *, public_addresses: Collection[str], allow_private: bool) -> str:
    """The answer without the server's addresses that are not to be announced."""
    if allow_private:
        return sdp
    public = {str(ipaddress.ip_address(a)) for a in public_addresses}

    def announced(fields: list[str]) -> bool:
        kind, address = fields[7], fields[4]
        if kind in ("relay", "srflx"):
            return True
        try:
            return str(ipaddress.ip_address(address)) in public
        except ValueError:
            return False

    return _keep(sdp, announced, mask=True)
