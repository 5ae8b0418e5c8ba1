"""Jinja2 templates rendered with the request's language and security tokens."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import BytecodeCache, Environment, FileSystemLoader, select_autoescape
from jinja2.bccache import Bucket
from starlette.requests import Request
from starlette.responses import HTMLResponse

from app.i18n import I18n, Translator

TEMPLATES_DIR = Path(__file__).parent / "templates"


class _ProcessBytecode(BytecodeCache):
    """Compiled templates, kept for the process: every environment built here (one per app the
    process starts, and the tests start one per test) loads them instead of compiling each
    template again, which took a few tenths of a second per app. Jinja2 checks each entry
    against the template source's checksum; all these environments have the same options."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


_BYTECODE = _ProcessBytecode()


class Templates:
    def __init__(self, i18n: I18n, directory: Path = TEMPLATES_DIR) -> None:
        self.i18n = i18n
        self.env = Environment(
            loader=FileSystemLoader(directory),
            autoescape=select_autoescape(["html", "xml"]),
            trim_blocks=True,
            lstrip_blocks=True,
            bytecode_cache=_BYTECODE,
        )

    def render_string(self, name: str, translator: Translator, **context: Any) -> str:
        template = self.env.get_template(name)
        return template.render(**translator.as_context(), t=translator, **context)

    def response(
        self, request: Request, name: str, context: dict[str, Any] | None = None, status: int = 200
    ) -> HTMLResponse:
        translator = request_translator(request, self.i18n)
        html = self.render_string(
            name,
            translator,
            request=request,
            csrf_token=getattr(request.state, "csrf_token", ""),
            staff_user=getattr(request.state, "staff_user", None),
            **(context or {}),
        )
        return HTMLResponse(html, status_code=status)


def request_language(request: Request) -> str:
    lang = getattr(request.state, "lang", None)
    return lang if isinstance(lang, str) else "de"


def request_translator(request: Request, i18n: I18n) -> Translator:
    return i18n.translator(request_language(request))
