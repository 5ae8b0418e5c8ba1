"""Sign-language (DGS) videos: an admin uploads a short MP4 or WebM with its captions (WebVTT);
the start page and the accessibility statement show them with the browser's own player. The
type is read from the file's first bytes, never from its name or the browser's claim; the
captions must be a valid WebVTT file with at least one cue."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from accessibility.models import SignVideo
from core.audit import Actor, record
from core.errors import Invalid, NotFound
from core.types import utcnow

VIDEO_MAX_BYTES = 40 * 1024 * 1024  # a few minutes of signing at a moderate bit rate
CAPTIONS_MAX_BYTES = 200 * 1024
TITLE_MAX = 200
# Where a video is shown: place -> its name for the admin (a message id).
PLACES = {"start": "Start page", "statement": "Accessibility statement"}

_EBML = b"\x1a\x45\xdf\xa3"
_TIMING = re.compile(
    r"^(?:(\d{2,}):)?([0-5]\d):([0-5]\d)\.(\d{3})[ \t]+-->[ \t]+"
    r"(?:(\d{2,}):)?([0-5]\d):([0-5]\d)\.(\d{3})(?:[ \t]+.*)?$")


@dataclass(frozen=True)
class Listed:
    id: int
    place: str
    title: str
    media_type: str
    size: int


def video_type(data: bytes) -> str | None:
    """``video/mp4`` (an ISO media file: ``ftyp`` box first), ``video/webm`` (an EBML file
    whose document type is webm), or None."""
    if len(data) >= 12 and data[4:8] == b"ftyp":
        brand = data[8:12]
        if brand in (b"isom", b"iso2", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1",
                     b"dash", b"M4V ", b"mmp4"):
            return "video/mp4"
        return None
    if data.startswith(_EBML) and b"\x42\x82\x84webm" in data[:64]:
        return "video/webm"
    return None


def _seconds(hours: str | None, minutes: str, seconds: str, millis: str) -> float:
    return int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds) + int(millis) / 1000


def check_captions(raw: bytes) -> str:
    """The captions as text, or ``Invalid`` naming what is wrong (WebVTT: the signature line,
    then cues whose timings run forward)."""
    if len(raw) > CAPTIONS_MAX_BYTES:
        raise Invalid("The captions file is too large.", field="captions")
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        raise Invalid("The captions must be a WebVTT file (UTF-8).", field="captions") from None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    first = lines[0] if lines else ""
    if not (first == "WEBVTT" or first.startswith(("WEBVTT ", "WEBVTT\t"))) or "\x00" in text:
        raise Invalid("The captions must be a WebVTT file (UTF-8).", field="captions")
    cues = 0
    for line in lines[1:]:
        if "-->" not in line:
            continue
        match = _TIMING.match(line.strip())
        if match is None:
            raise Invalid("The captions have a cue with a wrong timing line.", field="captions")
        groups = match.groups()
        if _seconds(*groups[:4]) > _seconds(*groups[4:]):
            raise Invalid("The captions have a cue with a wrong timing line.", field="captions")
        cues += 1
    if cues == 0:
        raise Invalid("The captions have no cue.", field="captions")
    return text


async def add(session: AsyncSession, actor: Actor, *, place: str, title: str, video: bytes,
              captions: bytes) -> SignVideo:
    problems = Invalid()
    title = " ".join(title.split())
    if place not in PLACES:
        problems.add("place", "Please choose where the video is shown.")
    if not title:
        problems.add("title", "Please enter a title.")
    elif len(title) > TITLE_MAX:
        problems.add("title", "At most %(max)s characters, please.", max=TITLE_MAX)
    media_type = video_type(video)
    if not video:
        problems.add("video", "Please choose a file.")
    elif len(video) > VIDEO_MAX_BYTES:
        problems.add("video", "The video is too large (at most %(size)s MB).",
                     size=VIDEO_MAX_BYTES // (1024 * 1024))
    elif media_type is None:
        problems.add("video", "The video must be an MP4 or WebM file.")
    text = ""
    try:
        text = check_captions(captions)
    except Invalid as exc:
        problems.add("captions", exc.msgid, **exc.params)
    if problems.problems or media_type is None:
        raise problems
    found = SignVideo(place=place, title=title, media_type=media_type, video=video,
                      captions=text, created_at=utcnow())
    session.add(found)
    await session.flush()
    record(session, actor, "sign_video.added", "sign_video", found.id,
           {"place": place, "bytes": len(video)})
    return found


async def listed(session: AsyncSession, place: str | None) -> Sequence[Listed]:
    """The videos (without their bytes) of one place, or of all, oldest first."""
    query = select(col(SignVideo.id), col(SignVideo.place), col(SignVideo.title),
                   col(SignVideo.media_type), func.length(col(SignVideo.video)))
    if place is not None:
        query = query.where(col(SignVideo.place) == place)
    rows = (await session.execute(query.order_by(col(SignVideo.id)))).all()
    return [Listed(id=r[0], place=r[1], title=r[2], media_type=r[3], size=int(r[4] or 0))
            for r in rows]


async def video_of(session: AsyncSession, video_id: int) -> tuple[str, bytes]:
    row = (await session.execute(select(col(SignVideo.media_type), col(SignVideo.video))
                                 .where(col(SignVideo.id) == video_id))).first()
    if row is None:
        raise NotFound()
    return str(row[0]), bytes(row[1])


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class RangeNotSatisfiable(Exception):
    """A ``Range`` that lies outside the file (answered 416)."""


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive (first, last) byte of a single ``Range: bytes=…`` (RFC 9110 §14.1.2),
    as browsers ask for a video (Safari only plays what it can seek in); ``None`` for the whole
    file (no header, several ranges, another unit, or a malformed one: ignored, as the RFC
    allows); ``RangeNotSatisfiable`` for one that starts past the end."""
    if not header:
        return None
    found = _RANGE.match(header.strip())
    if found is None or not (found.group(1) or found.group(2)):
        return None
    first, last = found.group(1), found.group(2)
    if not first:  # the last N bytes
        count = int(last[:18])
        if count == 0 or size == 0:
            raise RangeNotSatisfiable()
        return max(0, size - count), size - 1
    start = int(first[:18])
    end = min(int(last[:18]), size - 1) if last else size - 1
    if start >= size:
        raise RangeNotSatisfiable()
    if end < start:
        return None
    return start, end


async def captions_of(session: AsyncSession, video_id: int) -> str:
    row = (await session.execute(select(col(SignVideo.captions))
                                 .where(col(SignVideo.id) == video_id))).first()
    if row is None:
        raise NotFound()
    return str(row[0])


async def remove(session: AsyncSession, actor: Actor, video_id: int) -> None:
    done = await session.execute(delete(SignVideo).where(col(SignVideo.id) == video_id))
    if not done.rowcount:  # type: ignore[attr-defined]
        raise NotFound()
    record(session, actor, "sign_video.removed", "sign_video", video_id)
