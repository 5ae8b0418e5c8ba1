"""Sign-language (DGS) videos: the admin's upload (type by the file's first bytes, size limit,
WebVTT captions checked), the start page's player with captions and the link to Leichte
Sprache, the files served by the app itself; in Chromium a real WebM (recorded by the browser)
plays by keyboard with its captions."""

from __future__ import annotations

import base64
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from playwright.async_api import Browser
from starlette.applications import Starlette

from accessibility import videos
from accessibility.videos import check_captions, video_type
from app.main import create_app
from app.settings import Settings
from core.errors import Invalid
from tests.chromium import have_chromium
from tests.conftest import RENDERED_ONLY, live_server, require
from tests.staff.helpers import ADMIN_EMAIL, CLERK_EMAIL, add_user, form_token, page_login

MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 64
WEBM = (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04\x42\xf3\x81\x08"
        b"\x42\x82\x84webm\x42\x87\x81\x04\x42\x85\x81\x02" + b"\x00" * 64)
VTT = (b"WEBVTT\n\n1\n00:00.000 --> 00:02.500\nGuten Tag.\n\n"
       b"00:00:02.500 --> 00:00:05.000 line:90%\nSo buchen Sie einen Termin.\n")


def test_the_type_is_read_from_the_first_bytes() -> None:
    assert video_type(MP4) == "video/mp4"
    assert video_type(WEBM) == "video/webm"
    assert video_type(b"\x89PNG\r\n\x1a\n" + b"\x00" * 32) is None
    assert video_type(b"\x00\x00\x00\x18ftypheic" + b"\x00" * 32) is None  # an image
    assert video_type(b"\x1a\x45\xdf\xa3" + b"\x42\x82\x88matroska" + b"\x00" * 32) is None
    assert video_type(b"") is None


def test_captions_are_checked() -> None:
    assert "Guten Tag." in check_captions(VTT)
    assert check_captions(b"\xef\xbb\xbf" + VTT.replace(b"\n", b"\r\n")).startswith("WEBVTT")
    for bad in (b"1\n00:00.000 --> 00:01.000\nHallo\n",  # no signature line
                b"WEBVTTX\n\n00:00.000 --> 00:01.000\nHallo\n",
                b"WEBVTT\n\nnur Text\n",  # no cue
                b"WEBVTT\n\n00:00.000 -> 00:01.000\nHallo\n",
                b"WEBVTT\n\n00:05.000 --> 00:01.000\nrueckwaerts\n",
                b"WEBVTT\n\n0:00.0 --> 00:01.000\nHallo\n",
                b"WEBVTT\n\n00:00.000 --> 00:01.000\n\xff\xfe\n"):
        with pytest.raises(Invalid):
            check_captions(bad)
    with pytest.raises(Invalid):
        check_captions(b"WEBVTT\n\n" + b"x" * videos.CAPTIONS_MAX_BYTES)


async def upload(client: httpx.AsyncClient, *, video: bytes, captions: bytes = VTT,
                 title: str = "So buchen Sie einen Termin", place: str = "start",
                 video_name: str = "dgs.mp4") -> httpx.Response:
    page = await client.get("/admin/accessibility")
    assert page.status_code == 200
    return await client.post(
        "/admin/accessibility/videos",
        data={"csrf_token": form_token(page.text), "title": title, "place": place},
        files={"video": (video_name, video, "video/mp4"),
               "captions": ("dgs.vtt", captions, "text/vtt")})


async def admin(app: Starlette, client: httpx.AsyncClient) -> None:
    await add_user(app, ADMIN_EMAIL, "admin")
    assert (await page_login(client, ADMIN_EMAIL)).status_code == 303


async def test_an_admin_uploads_a_video_and_the_start_page_shows_it(
        app: Starlette, client: httpx.AsyncClient) -> None:
    r = await client.get("/")
    assert 'id="easy-language-link"' in r.text and 'href="/?lang=de-x-ls"' in r.text
    assert "<video" not in r.text
    await admin(app, client)
    r = await upload(client, video=MP4)
    assert r.status_code == 303, r.text
    r = await upload(client, video=WEBM, title="Barrierefreiheit erklärt", place="statement",
                     video_name="x.webm")
    assert r.status_code == 303, r.text

    r = await client.get("/")
    assert r.status_code == 200
    found = re.search(r'<video controls[^>]*id="sign-video-(\d+)"', r.text)
    assert found, r.text
    vid = found.group(1)
    assert f'<source src="/sign-videos/{vid}" type="video/mp4">' in r.text
    assert (f'<track kind="captions" src="/sign-videos/{vid}/captions.vtt" srclang="de"'
            in r.text)
    assert "Erklärungen in Deutscher Gebärdensprache (DGS)" in r.text
    assert "Barrierefreiheit erklärt" not in r.text  # that one is for the statement
    assert "Barrierefreiheit erklärt" in (await client.get("/barrierefreiheit")).text
    # In Leichte Sprache the start page does not link to itself.
    assert 'id="easy-language-link"' not in (await client.get("/?lang=de-x-ls")).text

    client.cookies.clear()  # served to anyone, from this installation
    r = await client.get(f"/sign-videos/{vid}")
    assert r.status_code == 200 and r.headers["content-type"] == "video/mp4"
    assert r.content == MP4 and r.headers["accept-ranges"] == "bytes"
    # A player seeks by byte ranges (Safari plays nothing without them).
    size = len(MP4)
    for asked, first, last in (("bytes=0-3", 0, 3), ("bytes=4-", 4, size - 1),
                               ("bytes=-5", size - 5, size - 1), ("bytes=2-99999", 2, size - 1)):
        r = await client.get(f"/sign-videos/{vid}", headers={"Range": asked})
        assert r.status_code == 206, asked
        assert r.headers["content-range"] == f"bytes {first}-{last}/{size}"
        assert r.content == MP4[first:last + 1]
    r = await client.get(f"/sign-videos/{vid}", headers={"Range": f"bytes={size}-"})
    assert r.status_code == 416 and r.headers["content-range"] == f"bytes */{size}"
    for ignored in ("bytes=0-1,4-5", "items=0-1", "bytes=x-y", "bytes=5-2"):
        r = await client.get(f"/sign-videos/{vid}", headers={"Range": ignored})
        assert r.status_code == 200 and r.content == MP4, ignored
    r = await client.get(f"/sign-videos/{vid}/captions.vtt")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/vtt")
    assert "So buchen Sie einen Termin." in r.text
    assert (await client.get("/sign-videos/999")).status_code == 404
    assert (await client.get("/sign-videos/999/captions.vtt")).status_code == 404


@pytest.mark.parametrize(("video", "captions", "field"), [
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, VTT, "video"),
    (b"", VTT, "video"),
    (MP4, b"kein WebVTT", "captions"),
    (MP4, b"WEBVTT\n\nohne Zeiten\n", "captions"),
])
async def test_a_wrong_file_is_refused_beside_its_field(
        app: Starlette, client: httpx.AsyncClient, video: bytes, captions: bytes,
        field: str) -> None:
    await admin(app, client)
    r = await upload(client, video=video, captions=captions)
    assert r.status_code == 422
    assert f'id="{field}-error"' in r.text
    assert 'id="videos-empty"' in r.text


async def test_a_video_over_the_size_limit_is_refused(
        app: Starlette, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(videos, "VIDEO_MAX_BYTES", 1024)
    await admin(app, client)
    r = await upload(client, video=MP4 + b"\x00" * 2048)
    assert r.status_code == 422 and 'id="video-error"' in r.text
    assert "Das Video ist zu groß" in r.text


async def test_only_admins_upload_and_delete(app: Starlette, client: httpx.AsyncClient) -> None:
    await admin(app, client)
    assert (await upload(client, video=MP4)).status_code == 303
    page = await client.get("/admin/accessibility")
    vid = re.search(r'action="/admin/accessibility/videos/(\d+)/delete"', page.text)
    assert vid
    client.cookies.clear()
    await add_user(app, CLERK_EMAIL, "clerk")
    assert (await page_login(client, CLERK_EMAIL)).status_code == 303
    assert (await upload_as_clerk(client)).status_code == 403
    client.cookies.clear()
    assert (await page_login(client, ADMIN_EMAIL)).status_code == 303
    page = await client.get("/admin/accessibility")
    r = await client.post(f"/admin/accessibility/videos/{vid.group(1)}/delete",
                          data={"csrf_token": form_token(page.text)})
    assert r.status_code == 303
    assert (await client.get(f"/sign-videos/{vid.group(1)}")).status_code == 404


async def upload_as_clerk(client: httpx.AsyncClient) -> httpx.Response:
    page = await client.get("/staff/barriers")
    return await client.post(
        "/admin/accessibility/videos", data={"csrf_token": form_token(page.text),
                                             "title": "x", "place": "start"},
        files={"video": ("a.mp4", MP4, "video/mp4"), "captions": ("a.vtt", VTT, "text/vtt")})


# --- in Chromium: a real video, played by keyboard, with captions ----------------------------

RECORD = """async () => {
    const canvas = document.createElement("canvas");
    canvas.width = 160; canvas.height = 120;
    const g = canvas.getContext("2d");
    const stream = canvas.captureStream(25);
    const recorder = new MediaRecorder(stream, {mimeType: "video/webm"});
    const parts = [];
    recorder.ondataavailable = (e) => parts.push(e.data);
    const done = new Promise((resolve) => { recorder.onstop = resolve; });
    recorder.start(100);
    for (let i = 0; i < 40; i++) {
        g.fillStyle = `hsl(${i * 9}, 70%, 50%)`;
        g.fillRect(0, 0, 160, 120);
        await new Promise((r) => setTimeout(r, 40));
    }
    recorder.stop();
    await done;
    const bytes = new Uint8Array(await new Blob(parts, {type: "video/webm"}).arrayBuffer());
    let text = "";
    for (const b of bytes) text += String.fromCharCode(b);
    return btoa(text);
}"""


@pytest.fixture
async def live(settings: Settings) -> AsyncIterator[tuple[Starlette, str]]:
    require(have_chromium(), "chromium")
    application = create_app(settings)
    async with live_server(application) as base:
        yield application, base


@pytest.mark.browser
@RENDERED_ONLY
async def test_the_video_plays_by_keyboard_with_captions(
        live: tuple[Starlette, str], browser: Browser) -> None:
    application, base = live
    context = await browser.new_context(viewport={"width": 375, "height": 812})
    page = await context.new_page()
    await page.goto(f"{base}/")
    recorded = base64.b64decode(await page.evaluate(RECORD))
    assert video_type(recorded) == "video/webm"
    async with httpx.AsyncClient(base_url=base) as client:
        await admin(application, client)
        r = await upload(client, video=recorded, video_name="dgs.webm")
        assert r.status_code == 303, r.text

    await page.goto(f"{base}/")
    assert await page.is_visible("#sign-language video[controls]")
    # Tab reaches the player; Space starts it (the browser's own controls).
    for _ in range(40):
        await page.keyboard.press("Tab")
        if await page.evaluate("() => document.activeElement.tagName === 'VIDEO'"):
            break
    else:
        raise AssertionError("Tab never reached the video")
    await page.keyboard.press("Space")
    await page.wait_for_function("() => { const v = document.querySelector('video');"
                                 " return !v.paused && v.currentTime > 0; }", timeout=10_000)
    track = await page.evaluate("""async () => {
        const v = document.querySelector('video');
        const t = v.textTracks[0];
        for (let i = 0; i < 50 && !(t.cues && t.cues.length); i++)
            await new Promise((r) => setTimeout(r, 100));
        return {kind: t.kind, mode: t.mode, cues: t.cues ? t.cues.length : 0,
                first: t.cues && t.cues.length ? t.cues[0].text : ""};
    }""")
    assert track == {"kind": "captions", "mode": "showing", "cues": 2, "first": "Guten Tag."}
    await context.close()
