"""Who posts the letters: the town's own print room, or a hybrid-mail service.

``DispatchProvider`` is what the worker and the staff pages talk to:

* ``PrintRoomProvider`` (default) hands nothing over by itself. Staff download the day's batch
  (``postcall.dispatch.batch_members``): one PDF to print duplex, every letter starting on a
  fresh sheet, and a CSV manifest to check the envelopes against; then they mark the batch
  printed and posted.
* ``HybridMailProvider`` speaks the HTTP API of a hybrid-mail service shaped like Pingen's v2:
  an OAuth client-credentials token (``POST {identity}/auth/access-tokens``), a pre-signed
  upload (``GET /file-upload``, ``PUT`` the PDF to the URL it names), the letter created as a
  draft (``POST /organisations/{org}/letters``; the id is stored before anything is sent, so a
  retry never posts twice) and sent (``PATCH .../letters/{id}/send``); its status is read with
  ``GET .../letters/{id}``. Status changes arrive as webhooks signed with HMAC-SHA256 over the
  raw body in the ``Signature`` header (hex).

Webhooks are replay-safe twice over: the event's own time (``data.attributes.created_at``,
covered by the signature) must lie within ``WEBHOOK_TOLERANCE`` of now, and every event id is
stored unique (``HybridMailEvent``), so a captured request sent again is refused.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from core.errors import DomainError
from postcall.dispatch_models import DispatchState
from postcall.documents import BatchLetter
from postcall.print_batch import PrintBatch, build_batch, manifest_csv

JSON_API = "application/vnd.api+json"
WEBHOOK_TOLERANCE = dt.timedelta(minutes=5)
TOKEN_MARGIN_SECONDS = 300  # fetch a new token this long before the old one expires
SCOPE = "letter batch webhook organisation_read"

# Webhook event types and letter statuses of the provider, as our dispatch states.
WEBHOOK_STATES = {
    "webhook_sent": DispatchState.posted,
    "webhook_delivered": DispatchState.delivered,
    "webhook_undeliverable": DispatchState.returned,
    "webhook_issues": None,  # a problem to look at; the letter stays where it is
}
LETTER_STATES = {
    "sent": DispatchState.posted,
    "delivered": DispatchState.delivered,
    "undeliverable": DispatchState.returned,
}


Remember = Callable[[str], Awaitable[None]]


class HybridMailError(RuntimeError):
    """The provider refused or failed a request (the job is retried)."""


class WebhookRejected(DomainError):
    status = 400
    code = "webhook_rejected"
    message = "The webhook was refused."


@dataclass(frozen=True)
class OutgoingLetter:
    dispatch_id: int
    case_number: str
    pdf: bytes

    @property
    def filename(self) -> str:
        safe = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in self.case_number)
        return f"brief-{safe}-{self.dispatch_id}.pdf"


class DispatchProvider(Protocol):
    name: str
    # True: the worker hands each queued letter over; False: staff print the batches.
    automatic: bool

    async def hand_over(self, letter: OutgoingLetter, reference: str | None,
                        remember: Remember) -> str | None:
        """Give the letter to the provider; returns the provider's status (None: nothing to
        do, staff print it). ``remember`` stores the provider's id before the letter is sent;
        ``reference`` is that id from an earlier, interrupted try.
        """

    async def state_of(self, reference: str) -> DispatchState | None:
        """The letter's state as the provider reports it now (None: nothing new)."""


# --- the print room ------------------------------------------------------------------------


class PrintRoomProvider:
    name = "print_room"
    automatic = False

    async def hand_over(self, letter: OutgoingLetter, reference: str | None,
                        remember: Remember) -> str | None:
        return None  # staff print the batch

    async def state_of(self, reference: str) -> DispatchState | None:
        return None

    async def batch(self, letters: Sequence[BatchLetter]) -> PrintBatch:
        """One PDF for duplex printing with its manifest (joining runs in a thread)."""
        return await asyncio.to_thread(build_batch, letters)

    @staticmethod
    def manifest(batch: PrintBatch) -> str:
        return manifest_csv(batch.entries)


# --- the hybrid-mail service -------------------------------------------------------------------


@dataclass(frozen=True)
class HybridMailConfig:
    api_base: str
    identity_base: str
    client_id: str
    client_secret: str
    organisation_id: str
    delivery_product: str = "cheap"
    print_mode: str = "duplex"
    print_spectrum: str = "grayscale"
    timeout: float = 20.0


class HybridMailProvider:
    name = "hybrid"
    automatic = True

    def __init__(self, config: HybridMailConfig,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.config = config
        self._transport = transport
        self._token: str | None = None
        self._token_expires = 0.0
        self._lock = asyncio.Lock()

    def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(timeout=self.config.timeout, transport=self._transport)

    def _letters_url(self, suffix: str = "") -> str:
        base = self.config.api_base.rstrip("/")
        return f"{base}/organisations/{self.config.organisation_id}/letters{suffix}"

    async def _access_token(self, client: httpx.AsyncClient) -> str:
        async with self._lock:
            if self._token is not None and time.monotonic() < self._token_expires:
                return self._token
            response = await client.post(
                f"{self.config.identity_base.rstrip('/')}/auth/access-tokens",
                data={"grant_type": "client_credentials", "client_id": self.config.client_id,
                      "client_secret": self.config.client_secret, "scope": SCOPE},
            )
            body = _json(response, "token")
            token = body.get("access_token")
            if not isinstance(token, str) or not token:
                raise HybridMailError("the token response carries no access_token")
            lifetime = float(body.get("expires_in", 3600))
            self._token = token
            self._token_expires = time.monotonic() + max(lifetime - TOKEN_MARGIN_SECONDS, 30)
            return token

    async def _headers(self, client: httpx.AsyncClient) -> dict[str, str]:
        token = await self._access_token(client)
        return {"Authorization": f"Bearer {token}", "Accept": JSON_API,
                "Content-Type": JSON_API}

    async def create_draft(self, client: httpx.AsyncClient, letter: OutgoingLetter) -> str:
        headers = await self._headers(client)
        base = self.config.api_base.rstrip("/")
        upload = _json(await client.get(f"{base}/file-upload", headers=headers), "file-upload")
        attributes = upload.get("data", {}).get("attributes", {})
        url, signature = attributes.get("url"), attributes.get("url_signature")
        if not isinstance(url, str) or not isinstance(signature, str):
            raise HybridMailError("the upload response names no URL")
        put = await client.put(url, content=letter.pdf,
                               headers={"Content-Type": "application/pdf"})
        if put.status_code >= 300:
            raise HybridMailError(f"upload refused with HTTP {put.status_code}")
        payload = {"data": {"type": "letters", "attributes": {
            "file_original_name": letter.filename, "file_url": url,
            "file_url_signature": signature, "address_position": "left", "auto_send": False,
        }}}
        created = _json(await client.post(self._letters_url(), headers=headers,
                                          content=json.dumps(payload)), "create letter")
        letter_id = created.get("data", {}).get("id")
        if not isinstance(letter_id, str) or not letter_id:
            raise HybridMailError("the letter response carries no id")
        return letter_id

    async def send(self, client: httpx.AsyncClient, reference: str) -> str:
        headers = await self._headers(client)
        payload = {"data": {"id": reference, "type": "letters", "attributes": {
            "delivery_product": self.config.delivery_product,
            "print_mode": self.config.print_mode,
            "print_spectrum": self.config.print_spectrum,
        }}}
        sent = _json(await client.patch(self._letters_url(f"/{reference}/send"),
                                        headers=headers, content=json.dumps(payload)), "send")
        status = sent.get("data", {}).get("attributes", {}).get("status", "")
        return str(status)

    async def hand_over(self, letter: OutgoingLetter, reference: str | None,
                        remember: Remember) -> str | None:
        async with self._client() as client:
            if reference is None:
                reference = await self.create_draft(client, letter)
                # Stored before sending: a retry after a crash sends this draft, not a copy.
                await remember(reference)
            return await self.send(client, reference)

    async def state_of(self, reference: str) -> DispatchState | None:
        async with self._client() as client:
            headers = await self._headers(client)
            body = _json(await client.get(self._letters_url(f"/{reference}"),
                                          headers=headers), "letter")
        status = body.get("data", {}).get("attributes", {}).get("status", "")
        return LETTER_STATES.get(str(status))


def _json(response: httpx.Response, what: str) -> dict[str, Any]:
    if response.status_code >= 300:
        raise HybridMailError(f"{what}: HTTP {response.status_code}")
    try:
        body = response.json()
    except ValueError as exc:
        raise HybridMailError(f"{what}: the response is not JSON") from exc
    if not isinstance(body, dict):
        raise HybridMailError(f"{what}: unexpected response")
    return body


# --- webhooks ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class HybridEvent:
    event_id: str
    kind: str
    letter_ref: str
    created_at: dt.datetime
    target: DispatchState | None
    reason: str = ""


def sign(body: bytes, secret: str) -> str:
    """The provider's signature of a webhook body (also what the test fake sends)."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_webhook(body: bytes, signature: str | None, secret: str, *,
                   now: dt.datetime, tolerance: dt.timedelta = WEBHOOK_TOLERANCE) -> HybridEvent:
    """Check the signature and freshness of a webhook and read it; ``WebhookRejected`` else.

    The signature is compared in constant time before the body is even parsed.
    """
    if not secret:
        raise WebhookRejected("The hybrid-mail webhook is not configured.")
    expected = sign(body, secret)
    if not signature or not hmac.compare_digest(signature.strip().lower().encode(),
                                                expected.encode()):
        raise WebhookRejected("The webhook signature is not valid.")
    try:
        data = json.loads(body)["data"]
        kind = str(data["type"])
        event_id = str(data["id"])
        attributes = data.get("attributes") or {}
        created_at = dt.datetime.fromisoformat(str(attributes["created_at"]))
        letter_ref = str(data["relationships"]["letter"]["data"]["id"])
    except (ValueError, KeyError, TypeError) as exc:
        raise WebhookRejected("The webhook body is not a letter event.") from exc
    if created_at.tzinfo is None:
        raise WebhookRejected("The webhook body is not a letter event.")
    if abs(now - created_at) > tolerance:
        raise WebhookRejected("The webhook is too old or from the future.")
    if kind not in WEBHOOK_STATES or not event_id or not letter_ref:
        raise WebhookRejected("The webhook body is not a letter event.")
    return HybridEvent(event_id=event_id[:100], kind=kind, letter_ref=letter_ref[:100],
                       created_at=created_at, target=WEBHOOK_STATES[kind],
                       reason=str(attributes.get("reason", ""))[:200])
