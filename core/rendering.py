"""Jinja2 templates of one folder rendered in a language: the pages (``app/templates``) and the
e-mails (``mail/templates``) share this."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import BytecodeCache, Environment, FileSystemLoader, select_autoescape
from jinja2.bccache import Bucket

from core.i18n import Translator


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


class Renderer:
    def __init__(self, directory: Path) -> None:
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
