"""The device check as a pre-join screen, in real Chromium with a fake camera and microphone
against a real uvicorn: the microphone level moves without any click; speaker choice and a test
sound; joining with the camera off gives the clerk a call without a picture from the citizen
while the citizen's camera button shows it off; the appointment page's connection test checks
the sound too. And axe-core and the keyboard on the pages touched."""

from __future__ import annotations

import pytest

from tests.app.browser.test_call_browser import (
    DESK,
    PHONE,
    PLAY_TIMEOUT_MS,
    Browsers,
    Site,
    browsers,
    clerk_login,
    site,
    tab_to,
    wait_picture,
    wait_playing,
    wait_state,
)
from tests.app.browser.test_waiting_room_browser import COUNT_TONES
from tests.app.pages.call_helpers import quick_hashes
from tests.axe import axe_violations, describe

__all__ = ["browsers", "quick_hashes", "site"]
pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("quick_hashes")]

METER_MOVES = "() => Number(document.querySelector('#mic-level').value) > 0"

# The mean brightness of the clerk's remote video, or -1 while it shows no frame.
BRIGHTNESS = """() => {
    const v = document.querySelector('#remote-video');
    if (!v || v.videoWidth === 0) return -1;
    const canvas = document.createElement('canvas');
    canvas.width = 32; canvas.height = 24;
    const g = canvas.getContext('2d');
    g.drawImage(v, 0, 0, 32, 24);
    const d = g.getImageData(0, 0, 32, 24).data;
    let sum = 0;
    for (let i = 0; i < d.length; i += 4) sum += d[i] + d[i + 1] + d[i + 2];
    return sum / (d.length / 4) / 3;
}"""


async def test_the_microphone_level_moves_without_a_click(site: Site, browsers: Browsers) -> None:
    citizen = await browsers.page("citizen", PHONE)
    await citizen.context.add_init_script(COUNT_TONES)
    await citizen.goto(f"{site.base}/t/{site.token}/call")
    await wait_playing(citizen, "#local-video")
    # No click, no key: the fake microphone's beeps move the meter.
    await citizen.wait_for_function(METER_MOVES, timeout=PLAY_TIMEOUT_MS)
    assert await citizen.get_attribute("#mic-level", "data-audio") == "running"
    assert await citizen.is_hidden("#mic-level-prompt")  # no prompt needed here
    # The speaker: a choice where the browser offers one (Chromium does), and a test sound.
    assert await citizen.evaluate("() => 'setSinkId' in HTMLMediaElement.prototype")
    outputs = await citizen.locator("#speaker option").count()
    assert await citizen.is_visible("#speaker") == (outputs > 1)
    assert await citizen.is_hidden("#speaker-note")
    await tab_to(citizen, "#speaker-test")
    await citizen.keyboard.press("Enter")
    await citizen.wait_for_function("() => window.__tones >= 3", timeout=PLAY_TIMEOUT_MS)
    assert "kurze Tonfolge" in await citizen.inner_text("#speaker-test-state")
    if outputs > 1:
        second = await citizen.locator("#speaker option").nth(1).get_attribute("value")
        assert second
        await citizen.select_option("#speaker", second)
        await citizen.wait_for_function(
            "(id) => document.querySelector('#remote-video').sinkId === id", arg=second)
    violations = await axe_violations(citizen)
    assert not violations, describe(violations)


async def test_a_browser_that_holds_audio_back_gets_a_clear_prompt(
        site: Site, browsers: Browsers) -> None:
    citizen = await browsers.page("citizen", PHONE)
    # As Safari or a strict autoplay policy behave: audio stays suspended until a gesture.
    await citizen.context.add_init_script("""(() => {
        const resume = AudioContext.prototype.resume;
        let allowed = false;
        document.addEventListener('click', () => { allowed = true; }, true);
        AudioContext.prototype.resume = function () {
            return allowed ? resume.call(this) : new Promise(() => {});
        };
        const Original = AudioContext;
        window.AudioContext = function (...args) {
            const ctx = new Original(...args);
            ctx.suspend();
            return ctx;
        };
        window.AudioContext.prototype = Original.prototype;
    })();""")
    await citizen.goto(f"{site.base}/t/{site.token}/call")
    await wait_playing(citizen, "#local-video")
    await citizen.wait_for_selector("#mic-level-prompt", state="visible", timeout=PLAY_TIMEOUT_MS)
    assert "Mikrofonpegel anzeigen" in await citizen.inner_text("#mic-level-start")
    violations = await axe_violations(citizen)
    assert not violations, describe(violations)
    await citizen.click("#mic-level-start")
    await citizen.wait_for_function(METER_MOVES, timeout=PLAY_TIMEOUT_MS)
    await citizen.wait_for_selector("#mic-level-prompt", state="hidden")


async def test_joining_with_the_camera_off(site: Site, browsers: Browsers) -> None:
    citizen = await browsers.page("citizen", PHONE)
    clerk = await browsers.page("clerk", DESK)
    await citizen.goto(f"{site.base}/t/{site.token}/call")
    await wait_playing(citizen, "#local-video")
    # By keyboard: tick "join with the camera off", then join.
    await tab_to(citizen, "#join-camera-off")
    await citizen.keyboard.press("Space")
    assert await citizen.is_checked("#join-camera-off")
    assert await citizen.get_attribute("#camera-off", "aria-pressed") == "true"
    assert not await citizen.is_checked("#join-muted")
    await tab_to(citizen, "#join")
    await citizen.keyboard.press("Enter")
    await wait_state(citizen, "#connection-state", "data-state", "waiting")

    await clerk_login(clerk, site.base, site.reference)
    await wait_state(clerk, "#waiting-indicator", "data-waiting", "yes")
    await clerk.click("#admit")
    await wait_state(clerk, "#connection-state", "data-state", "connected")
    await wait_state(citizen, "#connection-state", "data-state", "connected")
    # The citizen's camera button says "off", and the camera track is switched off.
    assert await citizen.get_attribute("#camera-off", "aria-pressed") == "true"
    assert await citizen.evaluate("""() => {
        const tracks = document.querySelector('#local-video').srcObject.getVideoTracks();
        return tracks.length > 0 && tracks.every((t) => !t.enabled);
    }""")
    # The clerk hears the citizen but sees no picture: black frames, never the green camera.
    await clerk.wait_for_function(
        "() => document.querySelector('#remote-video').srcObject?.getAudioTracks().length > 0",
        timeout=PLAY_TIMEOUT_MS)
    for _ in range(5):
        brightness = await clerk.evaluate(BRIGHTNESS)
        assert brightness < 20, brightness
        await clerk.wait_for_timeout(300)
    # The citizen switches the camera on in the call: the box follows, the picture comes.
    await citizen.click("#camera-off")
    assert not await citizen.is_checked("#join-camera-off")
    await wait_picture(clerk, "#remote-video")


async def test_the_connection_test_checks_the_sound(site: Site, browsers: Browsers) -> None:
    page = await browsers.page("citizen", PHONE)
    await page.goto(f"{site.base}/t/{site.token}")
    assert "Mikrofon" in await page.inner_text("#connection-test")
    await tab_to(page, "#connection-test-start")
    await page.keyboard.press("Enter")
    await page.wait_for_function(
        "() => (document.querySelector('#connection-test-status').dataset.state || '')"
        ".startsWith('connected-')", timeout=PLAY_TIMEOUT_MS)
    await wait_state(page, "#connection-test-audio", "data-state", "ok")
    assert "Ihr Mikrofon funktioniert und Ihr Ton kommt bei unserem Server an" in \
        await page.inner_text("#connection-test-audio")
    assert await page.evaluate("() => Number(document.querySelector('#test-mic-level').value)"
                               " >= 0")
    violations = await axe_violations(page)
    assert not violations, describe(violations)
    await page.screenshot(path="/tmp/connection-test-audio-375.png", full_page=True)
    await page.click("#connection-test-stop")
    await page.wait_for_selector("#test-mic-field", state="hidden")


