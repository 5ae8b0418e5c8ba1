"""Fuzzing the signalling endpoint ``/ws/call`` (CONTRACT §4): random bytes, random and
malformed JSON, huge frames, values of the wrong type, a valid hello followed by garbage, floods.
Every connection must end with a documented close code, announced by an ``error`` message
carrying the same code, while a call in another room keeps relaying.

The cases come from a seeded generator (the same every run); ``BUERO_FUZZ_FRAMES`` sets how
many (default 60), ``BUERO_FUZZ_SEED`` the seed.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass

import pytest
from argon2 import PasswordHasher
from websockets.exceptions import ConnectionClosed

from app.settings import Settings
from staff import passwords
from tests.calls.conftest import CallSite, serve_site
from tests.calls.peers import Signal
from tests.calls.test_close_codes import Room

CASES = int(os.environ.get("BUERO_FUZZ_FRAMES", "60"))
SEED = int(os.environ.get("BUERO_FUZZ_SEED", "20261121"))
DOCUMENTED = {4400, 4401, 4403, 4408, 4413, 4429}
BATCH = 4  # connections fuzzed at the same time, each with its own appointment
KNOWN_TYPES = ["hello", "admit", "offer", "answer", "candidate", "bye", "end", "ping"]

Frame = str | bytes


@pytest.fixture(autouse=True)
def quick_hashes(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Real argon2id with small cost parameters (see tests/calls/conftest.py)."""
    monkeypatch.setattr(passwords, "_hasher",
                        PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1))
    passwords._dummy_hash.cache_clear()
    yield
    passwords._dummy_hash.cache_clear()


@pytest.fixture
def settings(settings_factory: Callable[..., Settings]) -> Settings:
    return settings_factory(call_hello_timeout_seconds=1.0)


@pytest.fixture
async def site(settings: Settings) -> AsyncIterator[CallSite]:
    async with serve_site(settings) as served:
        yield served


@dataclass
class Case:
    name: str
    hello: bool  # send a valid hello with the citizen's token first
    frames: list[Frame]


def _random_json(rng: random.Random, depth: int = 0) -> object:
    kind = rng.randrange(7 if depth < 3 else 4)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False, 0, -1, 2**70, 1.5e308, float("-0.0")])
    if kind == 2:
        return "".join(chr(rng.randrange(0x20, 0x2FFF)) for _ in range(rng.randrange(12)))
    if kind == 3:
        return rng.choice(KNOWN_TYPES)
    if kind == 4:
        return [_random_json(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {rng.choice([*KNOWN_TYPES, "type", "sdp", "token", "candidate", "x"]):
            _random_json(rng, depth + 1) for _ in range(rng.randrange(4))}


def _garbage_message(rng: random.Random) -> Frame:
    """A frame no client may send: never a valid message, whatever the state."""
    choice = rng.randrange(9)
    if choice == 0:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))
    if choice == 1:
        return "".join(chr(rng.randrange(1, 0x7F)) for _ in range(rng.randrange(1, 80))) + "{"
    if choice == 2:
        return json.dumps(_random_json(rng, 3))  # a scalar or a list: not an object
    if choice == 3:
        # A known type with an unknown top-level field.
        return json.dumps({"type": rng.choice(KNOWN_TYPES), f"x{rng.randrange(999)}": 1})
    if choice == 4:
        return json.dumps(rng.choice([
            {"type": "offer", "sdp": rng.choice([None, 5, [], {}])},
            {"type": "answer"},
            {"type": "candidate", "candidate": rng.choice(["x", 3, [], True])},
            {"type": "candidate", "candidate": {"candidate": 7, "sdpMid": "0"}},
            {"type": "candidate", "candidate": {"candidate": "c", "sdpMLineIndex": "zero"}},
            {"type": 5}, {"type": None}, {"type": ["hello"]}, {}, {"token": "x"},
        ]))
    if choice == 5:
        return json.dumps({"type": "hello", "token": rng.choice([None, 1, [], {}, "t" * 5000])})
    if choice == 6:
        return "x" * rng.choice([64 * 1024 + 1, 200 * 1024])  # too big
    if choice == 7:
        return json.dumps({"type": "offer", "sdp": "v=0\r\n" + "a" * (65 * 1024)})
    return json.dumps({"type": "teleport" + str(rng.randrange(99)), "sdp": "v=0"})


def make_case(rng: random.Random, index: int) -> Case:
    kind = index % 6
    if kind == 0:
        return Case("garbage before hello", False, [_garbage_message(rng)])
    if kind == 1:
        return Case("valid hello, then garbage", True, [_garbage_message(rng)])
    if kind == 2:
        token = rng.choice(["", "a" * 43, "ct-" + "b" * 43, "é" * 43, "x" * 1000])
        return Case("hello with a wrong token", False,
                    [json.dumps({"type": "hello", "token": token})])
    if kind == 3:
        return Case("hello with garbage after it in one frame", False,
                    ['{"type": "hello", "token": "%s"}' % ("c" * 43)
                     + rng.choice(["x", "}", " {", "\x00", ",[]"])])
    if kind == 4:
        # A flood of harmless pings: the per-connection limit closes it.
        return Case("flood after hello", True, [json.dumps({"type": "ping"})] * 400)
    return Case("nothing at all", False, [])  # the hello timeout


async def run_case(site: CallSite, token: str, case: Case) -> tuple[str, int | None, list[object]]:
    sig = await Signal.open(site.base)
    if case.hello:
        await sig.hello(token)
        await sig.expect("waiting")
    for frame in case.frames:
        try:
            await sig.ws.send(frame)
        except ConnectionClosed:  # the server closed while we were still sending
            break
    seen: list[object] = []
    try:
        async with asyncio.timeout(8):
            while True:
                raw = await sig.ws.recv()
                seen.append(json.loads(raw))
    except TimeoutError:
        await sig.close()
        return case.name, None, seen
    except ConnectionClosed:  # the answer we wait for
        pass
    return case.name, sig.ws.close_code, seen


async def test_malformed_frames_get_documented_close_codes(site: CallSite) -> None:
    rng = random.Random(SEED)
    room = await Room.open(site)
    tokens = [(await site.appointment())[1] for _ in range(BATCH)]
    cases = [make_case(rng, i) for i in range(CASES)]
    problems: list[str] = []
    codes: set[int] = set()
    for start in range(0, len(cases), BATCH):
        batch = cases[start:start + BATCH]
        results = await asyncio.gather(*(
            run_case(site, tokens[i], case) for i, case in enumerate(batch)
        ))
        for case, (name, code, seen) in zip(batch, results, strict=True):
            if code not in DOCUMENTED:
                problems.append(f"{name}: closed with {code}; frames {case.frames[:1]!r:.200}")
                continue
            codes.add(code)
            errors = [m for m in seen if isinstance(m, dict) and m.get("type") == "error"]
            if not errors or errors[-1] != {"type": "error", "code": code}:
                problems.append(f"{name}: close {code} without its error message: {seen!r:.200}")
        await room.still_works()  # the other room kept relaying throughout
    assert problems == []
    # The generator reaches the main codes (a broken generator cannot pass silently).
    assert {4400, 4401, 4408, 4413, 4429} <= codes
    await room.citizen.close()
    await room.clerk.close()
