"""One Chromium per test process (pytest-xdist worker) for the browser tests; each test connects
to it and gets fresh browser contexts of its own (cookies, storage and permissions start empty).

Starting Chromium costs a second or two per launch; the browser tests used to launch one per
test, or one per person in a call. Chromium is started here, not by Playwright's ``launch``:
a browser launched by Playwright belongs to the event loop that launched it, and each test runs
in a loop of its own. Playwright reaches this one over the DevTools protocol
(``connect_over_cdp``) from any test's loop.

Registered as a pytest plugin by the root conftest, so any test can use ``browser``.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright

from tests.conftest import require

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run",
    # A fake camera and microphone, allowed without asking.
    "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
    # As Playwright starts a headless Chromium: no scrollbars taking width, no sound, and pages
    # of two people in one call both kept running at full speed.
    "--hide-scrollbars", "--mute-audio", "--disable-background-timer-throttling",
    "--disable-backgrounding-occluded-windows", "--disable-renderer-backgrounding",
]


def have_chromium() -> bool:
    return shutil.which("chromium") is not None or Path(CHROMIUM).exists()


class SharedChromium:
    """The worker's Chromium: started on first use with a fresh profile directory, started
    again should it have died, stopped at the end of the session."""

    def __init__(self, profiles: pytest.TempPathFactory) -> None:
        self._profiles = profiles
        self._process: subprocess.Popen[bytes] | None = None
        self._endpoint = ""

    def endpoint(self) -> str:
        if self._process is None or self._process.poll() is not None:
            self._start()
        return self._endpoint

    def _start(self) -> None:
        profile = self._profiles.mktemp("chromium-profile")
        log = profile.parent / f"{profile.name}.log"
        with log.open("wb") as out:  # the child keeps its own descriptor
            self._process = subprocess.Popen(
                [CHROMIUM, *CHROMIUM_ARGS, f"--user-data-dir={profile}",
                 "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
                 "about:blank"],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            )
        # Chromium writes the port it chose into the profile once it listens.
        active = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not active.exists() or not active.read_text().strip():
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"Chromium did not start:\n{log.read_text()}")
            time.sleep(0.05)
        port = active.read_text().split()[0]
        self._endpoint = f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def shared_chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SharedChromium]:
    chromium = SharedChromium(tmp_path_factory)
    try:
        yield chromium
    finally:
        chromium.stop()


@pytest.fixture
async def browser(shared_chromium: SharedChromium) -> AsyncIterator[Browser]:
    """The worker's Chromium, for this test: the contexts it opens are closed after it."""
    require(have_chromium(), "chromium")
    endpoint = shared_chromium.endpoint()
    async with async_playwright() as playwright:
        connected = await playwright.chromium.connect_over_cdp(endpoint)
        try:
            yield connected
        finally:
            for context in connected.contexts:
                # The default context belongs to the browser; the tests open their own.
                if context is not connected.contexts[0]:
                    await context.close()
            await connected.close()
