"""An office's letter template: logo, greeting, closing, signature line, legal-remedy text.

Admins adapt the letters of their office (``/admin/offices/{id}/letters``); the letters' layout
stays the DIN 5008 frame of ``postcall/templates/letters``. Saving renders a sample fee notice
with the new template first: a template that cannot be rendered (a broken logo, say) is refused
when it is saved, not when a letter is due. The same sample is the admin's preview.

A logo is SVG or PNG, at most 512 KB. A PNG is decoded by Pillow and stored again as an opaque
RGB PNG on white (no transparency in a PDF/A letter, no metadata kept); an SVG must be an
``<svg>`` document without a DOCTYPE, scripts, event handlers or references outside itself.
Services take a session, raise domain errors and never commit.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from typing import Any

from PIL import Image, UnidentifiedImageError
from sqlalchemy.ext.asyncio import AsyncSession

from core.audit import Actor, record
from core.errors import Invalid
from core.types import utcnow
from postcall.documents import Authority, FeeLine, FeeNoticeData, LetterAddress, LetterStyle
from postcall.fee_notice import render_fee_notice
from postcall.letter_models import OfficeLetter

LOGO_MAX_BYTES = 512 * 1024
LOGO_MAX_PIXELS = 4000 * 4000
SVG = "image/svg+xml"
PNG = "image/png"
_LIMITS = {"greeting": 100, "closing": 100, "signature": 300, "legal_remedy": 3000}
_SVG_FORBIDDEN = re.compile(rb"<!DOCTYPE|<!ENTITY|<script|<foreignObject|\son\w+\s*=",
                            re.IGNORECASE)
_HREF = re.compile(r"\{http://www\.w3\.org/1999/xlink\}href|^href$")


class TemplateRefused(Invalid):
    code = "letter_template_refused"
    message = "The letter template cannot be rendered: %(reason)s"


def letter_style(letter: OfficeLetter | None) -> LetterStyle:
    if letter is None:
        return LetterStyle()
    return LetterStyle(
        logo=letter.logo, logo_type=letter.logo_type,
        greeting=letter.greeting or LetterStyle.greeting,
        closing=letter.closing or LetterStyle.closing,
        signature=letter.signature,
    )


async def office_letter(session: AsyncSession, office_id: int | None) -> OfficeLetter | None:
    if office_id is None:
        return None
    return await session.get(OfficeLetter, office_id)


# --- the logo ---------------------------------------------------------------------------------


def check_logo(content: bytes) -> tuple[bytes, str]:
    """The logo as stored (PNG made opaque, SVG checked) and its media type; Invalid else."""
    if not content:
        raise Invalid("The logo file is empty.", field="logo")
    if len(content) > LOGO_MAX_BYTES:
        raise Invalid("The logo may have at most %(max)s KB.", field="logo",
                      max=LOGO_MAX_BYTES // 1024)
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return _png(content), PNG
    head = content.lstrip()[:512].lower()
    if head.startswith(b"<?xml") or head.startswith(b"<svg"):
        return _svg(content), SVG
    raise Invalid("The logo must be an SVG or PNG file.", field="logo")


def _png(content: bytes) -> bytes:
    try:
        with Image.open(io.BytesIO(content)) as image:
            if image.width * image.height > LOGO_MAX_PIXELS:
                raise Invalid("The logo image is too large.", field="logo")
            image.load()
            rgba = image.convert("RGBA")
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise Invalid("The logo is not a readable PNG image.", field="logo") from exc
    flat = Image.new("RGB", rgba.size, (255, 255, 255))
    flat.paste(rgba, mask=rgba.getchannel("A"))
    out = io.BytesIO()
    flat.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _svg(content: bytes) -> bytes:
    if _SVG_FORBIDDEN.search(content):
        raise Invalid("The SVG logo must not contain scripts, event handlers or a DOCTYPE.",
                      field="logo")
    try:
        # No DOCTYPE and no ENTITY got this far (_SVG_FORBIDDEN): entity expansion and
        # external entities, the XML attacks S314 warns of, need one of them.
        root = ET.fromstring(content)  # noqa: S314
    except ET.ParseError as exc:
        raise Invalid("The logo is not a readable SVG file.", field="logo") from exc
    if root.tag not in ("{http://www.w3.org/2000/svg}svg", "svg"):
        raise Invalid("The logo must be an SVG or PNG file.", field="logo")
    for element in root.iter():
        for name, value in element.attrib.items():
            if _HREF.search(name) and not value.startswith(("#", "data:image/png")):
                raise Invalid("The SVG logo may not refer to other files.", field="logo")
    return content


# --- saving and previewing ----------------------------------------------------------------------


def sample_notice(authority: Authority, today: dt.date) -> FeeNoticeData:
    """A fee notice with made-up data: the preview, and the check that a template renders."""
    return FeeNoticeData(
        authority=authority,
        recipient=LetterAddress.of("Erika Mustermann", "Heidestraße 17", "51147", "Köln"),
        case_number="2026-000001", issue_date=today, due_date=today + dt.timedelta(days=14),
        service="Beispielleistung (Vorschau)",
        lines=(FeeLine(description="Meldebescheinigung", legal_basis="GebVerz. Nr. 1.1",
                       unit_cents=1250),),
    )


def render_sample(authority: Authority, today: dt.date) -> bytes:
    """The sample fee notice as PDF; TemplateRefused when it cannot be rendered."""
    try:
        return render_fee_notice(sample_notice(authority, today))
    except Exception as exc:  # any failure of the template is the admin's to fix, not a 500
        raise TemplateRefused(reason=str(exc)[:200] or type(exc).__name__) from exc


def clean_template(values: dict[str, Any]) -> dict[str, str]:
    cleaned: dict[str, str] = {}
    for name, limit in _LIMITS.items():
        value = values.get(name, "")
        if not isinstance(value, str):
            raise Invalid("Please enter text.", field=name)
        value = value.replace("\r\n", "\n").strip()
        if name in ("greeting", "closing") and "\n" in value:
            raise Invalid("Please enter a single line.", field=name)
        if len(value) > limit:
            raise Invalid("At most %(max)s characters.", field=name, max=limit)
        cleaned[name] = value
    return cleaned


def apply_template(letter: OfficeLetter, values: dict[str, str], logo: tuple[bytes, str] | None,
                   remove_logo: bool) -> None:
    for name, value in values.items():
        setattr(letter, name, value)
    if remove_logo:
        letter.logo, letter.logo_type = b"", ""
    if logo is not None:
        letter.logo, letter.logo_type = logo
    letter.updated_at = utcnow()


async def save_template(session: AsyncSession, actor: Actor, office_id: int,
                        values: dict[str, Any], *, authority: Authority,
                        logo: bytes | None = None, remove_logo: bool = False,
                        today: dt.date) -> OfficeLetter:
    """Store the office's template after rendering a sample letter with it (see the module
    doc). ``authority`` is the office's letterhead without the new template."""
    cleaned = clean_template(values)
    checked = check_logo(logo) if logo else None
    letter = await session.get(OfficeLetter, office_id)
    created = letter is None
    if letter is None:
        letter = OfficeLetter(office_id=office_id)
    apply_template(letter, cleaned, checked, remove_logo)
    trial = replace(authority, legal_remedy=letter.legal_remedy, style=letter_style(letter))
    render_sample(trial, today)
    if created:
        session.add(letter)
    record(session, actor, "office.letter_template", "office", office_id,
           {"fields": sorted(cleaned), "logo": letter.logo_type or "none"})
    await session.flush()
    return letter
