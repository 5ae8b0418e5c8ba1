"""The call's tools as the server renders them: the page hooks of CONTRACT §5 on both call pages,
their texts for the scripts in German and English, and every new text translated."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from babel.messages.pofile import read_po
from jinja2.ext import babel_extract
from starlette.applications import Starlette

from app.pages.call_tools import CHAT_TEXTS, CITIZEN_TOOL_TEXTS, CLERK_TOOL_TEXTS
from core.i18n import I18n
from tests.app.pages.call_helpers import CallSeed, add_appointment, add_clerk, login, seed_offices
from tests.app.pages.call_helpers import quick_hashes as quick_hashes
from tests.app.pages.test_call_pages import messages_of

pytestmark = pytest.mark.usefixtures("quick_hashes")

ROOT = Path(__file__).resolve().parents[3]
PO = ROOT / "core/locales/de/LC_MESSAGES/call_tools.po"
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


@pytest.fixture
async def seeded(app: Starlette) -> CallSeed:
    return await seed_offices(app)


async def test_the_clerk_page_has_the_tools(
        app: Starlette, client: httpx.AsyncClient, seeded: CallSeed) -> None:
    reference, _ = await add_appointment(app, seeded)
    await add_clerk(app, [seeded.office_id])
    await login(client)
    html = (await client.get(f"/staff/call/{reference}")).text
    for hook in ('id="chat"', 'id="chat-input"', 'id="chat-send"', 'id="identity-panel"',
                 'id="completion-panel"', 'id="still-frame"', 'id="document-mode"',
                 'id="screen-share"', 'id="screen-share-indicator"', 'id="still-canvas"',
                 'id="remote-zoom"', 'id="remote-fullscreen"', 'id="document-resolution"'):
        assert hook in html, hook
    assert re.search(r'id="chat"[^>]*role="log"[^>]*aria-live="polite"', html)
    assert re.search(r'<label for="chat-input">Ihre Nachricht</label>', html)
    assert 'maxlength="1000"' in html.split('id="chat-input"', 1)[1].split(">", 1)[0]
    texts = messages_of(html)
    assert texts["screen-shared"] == "Bildschirm wird geteilt"
    assert texts["document-mode-ask"] == "Um die Rückkamera bitten"
    assert texts["chat-citizen"] == "Bürger/in"
    english = messages_of((await client.get(f"/staff/call/{reference}?lang=en")).text)
    assert english["screen-shared"] == "Screen is being shared"
    assert set(CHAT_TEXTS) | set(CLERK_TOOL_TEXTS) <= set(texts)


async def test_the_citizen_page_has_the_chat_and_the_question(
        app: Starlette, client: httpx.AsyncClient, seeded: CallSeed) -> None:
    _, token = await add_appointment(app, seeded)
    html = (await client.get(f"/t/{token}/call")).text
    for hook in ('id="chat"', 'id="chat-input"', 'id="chat-send"', 'id="chat-toggle"',
                 'id="document-mode-dialog"', 'id="document-mode-accept"',
                 'id="document-mode-refuse"', 'id="screen-share-indicator"', 'id="leave"',
                 "/static/css/call-tools.css"):
        assert hook in html, hook
    assert re.search(r'<dialog id="document-mode-dialog"[^>]*aria-labelledby="document-mode-title"',
                     html)
    assert "Sie können ablehnen." in html
    texts = messages_of(html)
    assert set(CHAT_TEXTS) | set(CITIZEN_TOOL_TEXTS) <= set(texts)
    assert texts["chat-clerk"] == "Sachbearbeitung"


# --- translations --------------------------------------------------------------------------------

TEMPLATES = ["call/clerk.html", "call/citizen.html", "call/_call_parts.html",
             "call/_desk_macros.html", "citizen/privacy.html"]


def template_msgids() -> set[str]:
    found: set[str] = set()
    for name in TEMPLATES:
        with (ROOT / "app/templates" / name).open("rb") as fh:
            for _line, _func, message, _comments in babel_extract(
                    fh, ["_", "gettext", "ngettext"], [], {"trimmed": "false"}):
                if isinstance(message, str):
                    found.add(message)
    return found


def test_every_tool_text_is_translated() -> None:
    german = I18n().translator("de")
    ids = set(CHAT_TEXTS.values()) | set(CITIZEN_TOOL_TEXTS.values()) | set(
        CLERK_TOOL_TEXTS.values()) | template_msgids()
    assert "Take a still frame" in ids and "Record another check" in ids
    same_in_german = {"Video", "Name", "Status"}
    missing = sorted(i for i in ids if german.gettext(i) == i and i not in same_in_german)
    assert missing == []


def test_the_catalogue_keeps_its_placeholders() -> None:
    with PO.open("rb") as fh:
        catalog = read_po(fh, locale="de")
    count = 0
    for message in catalog:
        if not message.id:
            continue
        count += 1
        assert isinstance(message.id, str) and isinstance(message.string, str)
        assert message.string, message.id
        assert sorted(PLACEHOLDER.findall(message.id)) == sorted(
            PLACEHOLDER.findall(message.string)), message.id
        assert "%" not in PLACEHOLDER.sub("", message.string), message.id
    assert count > 30
