"""Jinja2 templates of one folder rendered in a language: the pages (``app/templates``) and the
e-mails (``mail/templates``) share this."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from core.i18n import Translator


class Renderer:
    def __init__(self, directory: Path) -> None:
        self.env = Environment(
            loader=FileSystemLoader(directory),
            autoescape=select_autoescape(["html", "xml"]),
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def render_string(self, name: str, translator: Translator, **context: Any) -> str:
        template = self.env.get_template(name)
        return template.render(**translator.as_context(), t=translator, **context)
