"""A fake hybrid-mail service shaped like Pingen's API v2, served by a real uvicorn in the tests.

It answers what the adapter uses, with the documented JSON:API shapes: the OAuth
client-credentials token (``POST /auth/access-tokens``), the pre-signed upload
(``GET /file-upload`` then ``PUT`` to the URL it names), letters (``POST
/organisations/{org}/letters``, ``PATCH .../letters/{id}/send``, ``GET .../letters/{id}``), and
it signs webhooks as Pingen does: ``Signature`` = hex HMAC-SHA256 of the raw body.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

JSON_API = "application/vnd.api+json"


@dataclass
class FakeLetter:
    id: str
    file_original_name: str
    pdf: bytes
    status: str = "valid"
    delivery_product: str = ""
    print_mode: str = ""
    sent_requests: int = 0


@dataclass
class FakePingen:
    client_id: str
    client_secret: str
    organisation_id: str
    base_url: str = ""
    tokens: set[str] = field(default_factory=set)
    token_requests: int = 0
    uploads: dict[str, tuple[str, bytes | None]] = field(default_factory=dict)
    letters: dict[str, FakeLetter] = field(default_factory=dict)
    fail_next_send: int = 0  # answer this many sends with HTTP 503

    # --- helpers for tests ----------------------------------------------------------------

    def webhook(self, kind: str, letter_id: str, secret: str, *, event_id: str | None = None,
                created_at: dt.datetime | None = None,
                reason: str = "") -> tuple[bytes, dict[str, str]]:
        """A webhook request as the service sends it: body and headers."""
        when = (created_at or dt.datetime.now(dt.UTC)).astimezone(dt.timezone(
            dt.timedelta(hours=1)))
        org = self.organisation_id
        payload = {
            "data": {
                "type": kind,
                "id": event_id or str(uuid.uuid4()),
                "attributes": {"reason": reason, "url": "https://example.org/hook",
                               "created_at": when.strftime("%Y-%m-%dT%H:%M:%S%z")},
                "relationships": {
                    "organisation": {"data": {"type": "organisations", "id": org}},
                    "letter": {"data": {"type": "letters", "id": letter_id}},
                    "event": {"data": {"type": "letters_events", "id": str(uuid.uuid4())}},
                },
            },
            "included": [{"type": "letters", "id": letter_id,
                          "attributes": {"status": self.letters[letter_id].status
                                         if letter_id in self.letters else "sent"}}],
        }
        body = json.dumps(payload, separators=(",", ":")).encode()
        signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        return body, {"Content-Type": JSON_API, "Signature": signature}

    # --- the HTTP API ---------------------------------------------------------------------

    def _authorised(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        return header.startswith("Bearer ") and header[7:] in self.tokens

    @staticmethod
    def _error(status: int, title: str) -> JSONResponse:
        return JSONResponse({"errors": [{"code": str(status), "title": title}]}, status,
                            media_type=JSON_API)

    async def token(self, request: Request) -> Response:
        form = await request.form()
        self.token_requests += 1
        if form.get("grant_type") != "client_credentials" or form.get("client_id") != \
                self.client_id or form.get("client_secret") != self.client_secret:
            return JSONResponse({"error": "invalid_client"}, 401)
        token = secrets.token_urlsafe(24)
        self.tokens.add(token)
        return JSONResponse({"token_type": "Bearer", "expires_in": 43200,
                             "access_token": token})

    async def file_upload(self, request: Request) -> Response:
        if not self._authorised(request):
            return self._error(401, "Unauthenticated")
        key = uuid.uuid4().hex
        signature = secrets.token_hex(16)
        self.uploads[key] = (signature, None)
        return JSONResponse({"data": {"id": key, "type": "file_uploads", "attributes": {
            "url": f"{self.base_url}/uploads/{key}", "url_signature": signature,
            "expires_at": (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat(),
        }}}, media_type=JSON_API)

    async def put_upload(self, request: Request) -> Response:
        key = request.path_params["key"]
        if key not in self.uploads:
            return Response(status_code=403)
        self.uploads[key] = (self.uploads[key][0], await request.body())
        return Response(status_code=200)

    def _letter_json(self, letter: FakeLetter) -> dict[str, Any]:
        return {"data": {"id": letter.id, "type": "letters", "attributes": {
            "status": letter.status, "file_original_name": letter.file_original_name,
            "file_pages": 1, "address_position": "left", "country": "DE",
            "delivery_product": letter.delivery_product, "print_mode": letter.print_mode,
        }}}

    async def create_letter(self, request: Request) -> Response:
        if not self._authorised(request):
            return self._error(401, "Unauthenticated")
        if request.path_params["org"] != self.organisation_id:
            return self._error(404, "Organisation not found")
        attributes = json.loads(await request.body())["data"]["attributes"]
        key = attributes["file_url"].rsplit("/", 1)[-1]
        signature, pdf = self.uploads.get(key, ("", None))
        if pdf is None or attributes["file_url_signature"] != signature:
            return self._error(422, "The file is missing or its signature does not match")
        letter = FakeLetter(id=str(uuid.uuid4()),
                            file_original_name=attributes["file_original_name"], pdf=pdf)
        self.letters[letter.id] = letter
        return JSONResponse(self._letter_json(letter), 201, media_type=JSON_API)

    async def send_letter(self, request: Request) -> Response:
        if not self._authorised(request):
            return self._error(401, "Unauthenticated")
        letter = self.letters.get(request.path_params["letter"])
        if letter is None:
            return self._error(404, "Letter not found")
        letter.sent_requests += 1
        if self.fail_next_send:
            self.fail_next_send -= 1
            return self._error(503, "Try again later")
        attributes = json.loads(await request.body())["data"]["attributes"]
        letter.delivery_product = attributes["delivery_product"]
        letter.print_mode = attributes["print_mode"]
        letter.status = "submitted"
        return JSONResponse(self._letter_json(letter), media_type=JSON_API)

    async def get_letter(self, request: Request) -> Response:
        if not self._authorised(request):
            return self._error(401, "Unauthenticated")
        letter = self.letters.get(request.path_params["letter"])
        if letter is None:
            return self._error(404, "Letter not found")
        return JSONResponse(self._letter_json(letter), media_type=JSON_API)

    def app(self) -> Starlette:
        letters = "/organisations/{org}/letters"
        return Starlette(routes=[
            Route("/auth/access-tokens", self.token, methods=["POST"]),
            Route("/file-upload", self.file_upload, methods=["GET"]),
            Route("/uploads/{key}", self.put_upload, methods=["PUT"]),
            Route(letters, self.create_letter, methods=["POST"]),
            Route(letters + "/{letter}/send", self.send_letter, methods=["PATCH"]),
            Route(letters + "/{letter}", self.get_letter, methods=["GET"]),
        ])
