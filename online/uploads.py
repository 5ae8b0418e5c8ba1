"""Documents citizens upload for an online request: which files are taken, and the copy kept.

``prepare_upload`` checks a file in this order and refuses it with a domain error:

1. its size: not empty (``EmptyFile``, 422), at most the limit (``FileTooLarge``, 413);
2. its type, by its first bytes, never by its name or the browser's Content-Type: photos
   (JPEG, PNG, WebP) and PDF are taken (``UnsupportedType``, 415); iPhones' HEIC is recognised
   but not taken (no Pillow plugin for it here), browsers mostly send such photos as JPEG;
3. a virus scan of the bytes as sent (``online/scanner.py``: ``MalwareFound``, 422;
   ``ScannerUnavailable``, 503; ``TooLargeToScan``, 413);
4. photos are decoded and encoded afresh with their orientation applied, so that only the
   pixels are kept: EXIF (GPS position, camera, time), XMP, IPTC, comments, thumbnails and
   further frames (MPO depth maps, animations) are gone. The colour profile and the resolution
   stay (not personal, and a passport photo's colours or a scan's print size depend on them).
   A picture Pillow cannot decode is refused (415). PDFs are kept as sent: rewriting one could
   change a signed document;
5. a display filename: the sender's name made safe, with the extension of the type found.

Stored documents are sealed (``core/sealing.py``) for the request they belong to:
``seal_document`` / ``open_document``.

No database and no HTTP here: handlers pass the bytes in and store what comes back.
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Literal

from PIL import Image, ImageOps

from core.errors import DomainError, Invalid
from core.sealing import seal, unseal
from online.scanner import (
    Scanner,
    ScannerUnavailable,
    ScanResult,
    TooLargeToScan,
)

__all__ = [
    "ACCEPTED",
    "EmptyFile",
    "FileTooLarge",
    "MalwareFound",
    "PictureTooLarge",
    "PreparedUpload",
    "ScanResult",
    "Scanner",
    "ScannerUnavailable",
    "TooLargeToScan",
    "UnsupportedType",
    "filename_for",
    "open_document",
    "prepare_upload",
    "seal_document",
    "sniff",
    "strip_metadata",
]

log = logging.getLogger("buergerbuero.uploads")

JPEG, PNG, WEBP, PDF = "image/jpeg", "image/png", "image/webp", "application/pdf"
HEIC, HEIF = "image/heic", "image/heif"
PHOTOS = {JPEG: "JPEG", PNG: "PNG", WEBP: "WEBP"}  # content type -> Pillow's format name
ACCEPTED = frozenset({*PHOTOS, PDF})
EXTENSIONS = {JPEG: "jpg", PNG: "png", WEBP: "webp", PDF: "pdf"}
# Extensions a sender's name may end with that the extension of the type found replaces.
REPLACED_EXTENSIONS = frozenset({"jpg", "jpeg", "jpe", "jfif", "png", "webp", "pdf", "heic",
                                 "heif", "gif", "tif", "tiff", "bmp"})
MAX_FILENAME = 120
DEFAULT_STEM = "document"
# Decoding needs 3 bytes a pixel, twice over while turning upright: 40 megapixels take about
# 240 MB for a moment. Phones save 12 to 24 megapixels unless told otherwise.
MAX_PIXELS = 40_000_000
JPEG_QUALITY = 90
WEBP_QUALITY = 90
SEAL_PURPOSE = b"online-upload"


# --- errors ------------------------------------------------------------------------------------


class EmptyFile(Invalid):
    code = "empty_file"
    message = "The file is empty."


class FileTooLarge(DomainError):
    status = 413
    code = "file_too_large"
    message = "The file is too large. Files may be at most %(max)s."


class PictureTooLarge(FileTooLarge):
    message = "This picture has too many pixels. Please send a smaller picture."


class UnsupportedType(DomainError):
    status = 415
    code = "unsupported_media_type"
    message = "Only photos (JPEG, PNG or WebP) and PDF files can be uploaded."


class MalwareFound(DomainError):
    status = 422
    code = "malware_found"
    message = "The virus scanner found malware in this file. The file was not accepted."

    def __init__(self, signature: str | None = None) -> None:
        super().__init__()
        self.signature = signature  # for the log and the audit trail, not for the citizen


# --- type, filename ----------------------------------------------------------------------------


def sniff(data: bytes) -> str | None:
    """The content type by the file's first bytes: JPEG, PNG, WebP, PDF, HEIC/HEIF; else None.

    A PDF must begin with ``%PDF-`` (readers tolerate up to 1 KiB before it, which would let
    other files pass as PDF)."""
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    if data.startswith(b"%PDF-"):
        return PDF
    if data[4:8] == b"ftyp":  # ISO base media file: the major brand tells which
        brand = data[8:12]
        if brand in (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"):
            return HEIC
        if brand in (b"mif1", b"msf1"):
            return HEIF
    return None


_UNSAFE_IN_NAMES = re.compile(r'[<>:"/\\|?*]')


def filename_for(name: str, content_type: str) -> str:
    """A display filename: the last part of ``name`` (browsers on Windows once sent the whole
    path), without control and format characters (a right-to-left override could show
    ``gpj.exe`` as ``exe.jpg``), at most 120 characters, ending in the extension of
    ``content_type`` (an extension the name had for a picture or PDF type is replaced)."""
    extension = EXTENSIONS.get(content_type)
    if extension is None:
        raise UnsupportedType()
    base = re.split(r"[/\\]", unicodedata.normalize("NFC", name))[-1]
    base = "".join(" " if unicodedata.category(ch).startswith("Z") else ch for ch in base
                   if not unicodedata.category(ch).startswith("C"))
    base = " ".join(_UNSAFE_IN_NAMES.sub("_", base).split())
    stem, dot, suffix = base.rpartition(".")
    if not dot or suffix.lower() not in REPLACED_EXTENSIONS:
        stem = base
    # No leading dot (a hidden file), no trailing dots or spaces (Windows drops them).
    stem = stem.strip(" .")[:MAX_FILENAME - len(extension) - 1].rstrip(" .") or DEFAULT_STEM
    return f"{stem}.{extension}"


# --- metadata ----------------------------------------------------------------------------------


def strip_metadata(data: bytes, content_type: str, *, max_pixels: int = MAX_PIXELS) -> bytes:
    """A photo encoded afresh from its pixels, upright; a PDF as it is. ``UnsupportedType`` for
    what is neither or does not decode, ``PictureTooLarge`` above ``max_pixels``.

    CPU-bound (a 12-megapixel JPEG takes a few hundred ms): call it in a thread."""
    if content_type == PDF:
        return data
    pillow_format = PHOTOS.get(content_type)
    if pillow_format is None:
        raise UnsupportedType()
    try:
        with Image.open(io.BytesIO(data), formats=[pillow_format]) as image:
            if image.width * image.height > max_pixels:
                raise PictureTooLarge()
            image.load()
            return _encoded(image, pillow_format)
    except DomainError:
        raise
    except Image.DecompressionBombError as exc:
        raise PictureTooLarge() from exc
    except Exception as exc:  # Pillow raises many kinds on a damaged file; none may get out
        raise UnsupportedType() from exc


def _encoded(image: Image.Image, pillow_format: str) -> bytes:
    try:
        upright = ImageOps.exif_transpose(image)
    except Exception:  # unreadable EXIF: the pixels as stored
        upright = image.copy()
    kept: dict[str, Any] = {}
    for key in ("icc_profile", "dpi", "transparency"):
        if image.info.get(key) is not None:
            kept[key] = image.info[key]
    upright.info = {}  # nothing of the original's metadata is carried along by the encoder
    if pillow_format == "JPEG":
        kept.pop("transparency", None)
        options: dict[str, Any] = {"quality": JPEG_QUALITY}
    elif pillow_format == "WEBP":
        kept.pop("dpi", None)
        kept.pop("transparency", None)
        options = {"quality": WEBP_QUALITY}
    else:
        options = {}
    out = io.BytesIO()
    upright.save(out, format=pillow_format, **options, **kept)
    return out.getvalue()


# --- the whole path ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PreparedUpload:
    """What to store (``request_document``): the cleaned bytes and what was found out."""

    filename: str
    content_type: str
    data: bytes
    size: int
    scanned: Literal["clean", "unscanned"]


def _size_label(max_bytes: int) -> str:
    mebibytes = max_bytes // (1024 * 1024)
    return f"{mebibytes} MB" if mebibytes else f"{max(max_bytes // 1024, 1)} KB"


async def prepare_upload(data: bytes, filename: str, max_bytes: int,
                         scanner: Scanner) -> PreparedUpload:
    """Check and clean one uploaded file (see the module's docstring for the steps)."""
    if not data:
        raise EmptyFile()
    if len(data) > max_bytes:
        raise FileTooLarge(max=_size_label(max_bytes))
    content_type = sniff(data)
    if content_type not in ACCEPTED:
        raise UnsupportedType()
    result = await scanner.scan(data)
    if result.verdict == "infected":
        log.warning("upload refused: the scanner found %s", result.signature)
        raise MalwareFound(result.signature)
    cleaned = await asyncio.to_thread(strip_metadata, data, content_type)
    return PreparedUpload(
        filename=filename_for(filename, content_type), content_type=content_type,
        data=cleaned, size=len(cleaned),
        scanned="clean" if result.verdict == "clean" else "unscanned")


# --- at rest -----------------------------------------------------------------------------------


def _aad(case_id: int) -> bytes:
    return b"case:%d" % case_id


def seal_document(secret_key: bytes, case_id: int, data: bytes) -> bytes:
    """The bytes to store in ``request_document.sealed``: nonce + ciphertext, bound to the
    request, so a sealed document copied to another request's row does not open there."""
    return seal(secret_key, SEAL_PURPOSE, data, aad=_aad(case_id))


def open_document(secret_key: bytes, case_id: int, sealed: bytes) -> bytes | None:
    """The document, or None under another key, for another request, or when damaged."""
    return unseal(secret_key, SEAL_PURPOSE, sealed, aad=_aad(case_id))
