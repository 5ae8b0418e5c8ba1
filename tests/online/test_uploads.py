"""Uploads without a virus scanner (``online/uploads.py``): the type by content, sizes,
metadata removed from photos, display filenames, the order of the checks, sealing."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from online import uploads
from online.scanner import NoScanner, ScanResult
from online.uploads import (
    EmptyFile,
    FileTooLarge,
    MalwareFound,
    PictureTooLarge,
    UnsupportedType,
    filename_for,
    open_document,
    prepare_upload,
    seal_document,
    sniff,
    strip_metadata,
)
from tests.online import samples

MB = 1024 * 1024
KEY = b"k" * 32


class Recording:
    """A scanner that answers a given verdict and keeps what it was asked to scan."""

    def __init__(self, result: ScanResult) -> None:
        self.result = result
        self.scanned: list[bytes] = []

    async def scan(self, data: bytes) -> ScanResult:
        self.scanned.append(data)
        return self.result

    async def ping(self) -> bool:
        return True


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


# --- sniffing ----------------------------------------------------------------------------------


def test_the_type_is_read_from_the_content() -> None:
    assert sniff(samples.jpeg()) == "image/jpeg"
    assert sniff(samples.png()) == "image/png"
    assert sniff(samples.webp()) == "image/webp"
    assert sniff(samples.pdf()) == "application/pdf"
    heic = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"
    assert sniff(heic) == "image/heic"
    assert sniff(b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00") == "image/heif"


@pytest.mark.parametrize("data", [
    b"", b"GIF89a\x01\x00\x01\x00", b"MZ\x90\x00\x03", b"<!DOCTYPE html><html>",
    b"PK\x03\x04", b"\x7fELF", b"RIFF\x00\x00\x00\x00WAVEfmt ", b" %PDF-1.7", b"\xff\xd8",
    b"\x00\x00\x00\x18ftypisom",
])
def test_other_content_is_not_recognised(data: bytes) -> None:
    assert sniff(data) is None


# --- metadata ----------------------------------------------------------------------------------


def test_a_jpeg_loses_exif_gps_xmp_and_comment_and_is_turned_upright() -> None:
    original = samples.jpeg(orientation=6)
    assert len(samples.leaks(original)) >= 5  # the sample does carry them
    assert opened(original).getexif().get_ifd(0x8825)  # GPS

    cleaned = strip_metadata(original, "image/jpeg")
    assert samples.leaks(cleaned) == []
    image = opened(cleaned)
    assert image.format == "JPEG"
    assert not image.getexif() and "xmp" not in image.info and "comment" not in image.info
    # Orientation 6 applied: the 64 x 32 picture is now 32 x 64, red (the left) on top.
    assert image.size == (samples.HEIGHT, samples.WIDTH)
    top, bottom = image.getpixel((16, 8)), image.getpixel((16, 56))
    assert isinstance(top, tuple) and isinstance(bottom, tuple)
    assert top[0] > 180 > top[2] and bottom[2] > 180 > bottom[0]


def test_png_and_webp_lose_their_metadata_and_keep_their_pixels() -> None:
    for data, content_type in ((samples.png(), "image/png"), (samples.webp(), "image/webp")):
        assert samples.leaks(data)
        cleaned = strip_metadata(data, content_type)
        assert samples.leaks(cleaned) == [], content_type
        image = opened(cleaned)
        assert image.size == (samples.WIDTH, samples.HEIGHT) and not image.getexif()
        left = image.getpixel((4, 4))
        assert isinstance(left, tuple) and left[0] > 180 > left[2]
    assert opened(strip_metadata(samples.png(), "image/png")).mode == "RGBA"


def test_a_colour_profile_stays() -> None:
    from PIL import ImageCms

    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    out = io.BytesIO()
    samples.picture().save(out, "JPEG", icc_profile=profile, exif=samples.phone_exif())
    cleaned = strip_metadata(out.getvalue(), "image/jpeg")
    assert opened(cleaned).info.get("icc_profile") == profile
    assert samples.leaks(cleaned) == []


def test_a_pdf_is_kept_as_sent() -> None:
    document = samples.pdf()
    assert strip_metadata(document, "application/pdf") == document


@pytest.mark.parametrize(("data", "content_type"), [
    (b"\xff\xd8\xff\xe0" + b"\x00" * 200, "image/jpeg"),  # a JPEG header, then nothing
    (samples.png()[:60], "image/png"),  # cut off
    (samples.pdf(), "image/png"),  # not what it claims
    (samples.jpeg(), "image/gif"),
])
def test_a_picture_that_does_not_decode_is_refused(data: bytes, content_type: str) -> None:
    with pytest.raises(UnsupportedType) as refused:
        strip_metadata(data, content_type)
    assert refused.value.status == 415


def test_too_many_pixels_are_refused_before_decoding() -> None:
    big = samples.jpeg(orientation=1, image=samples.picture(400, 300))
    assert opened(strip_metadata(big, "image/jpeg", max_pixels=120_000)).size == (400, 300)
    with pytest.raises(PictureTooLarge) as refused:
        strip_metadata(big, "image/jpeg", max_pixels=119_999)
    assert refused.value.status == 413 and refused.value.code == "file_too_large"


# --- filenames ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "content_type", "expected"), [
    ("Ausweis.JPG", "image/jpeg", "Ausweis.jpg"),
    ("C:\\Users\\erika\\Desktop\\Meldebescheinigung.pdf", "application/pdf",
     "Meldebescheinigung.pdf"),
    ("../../etc/passwd", "application/pdf", "passwd.pdf"),
    ("scan.png", "image/jpeg", "scan.jpg"),  # the extension follows the content
    ("Rechnung.exe", "application/pdf", "Rechnung.exe.pdf"),
    ("Antrag v1.2", "application/pdf", "Antrag v1.2.pdf"),
    ("rechnung\u202egpj.exe", "image/jpeg", "rechnunggpj.exe.jpg"),  # no right-to-left override
    ("a\x00b\x1b[31mc\r\n.pdf", "application/pdf", "ab[31mc.pdf"),
    ('x<y>:"z"|?*.png', "image/png", "x_y___z____.png"),
    ("Bu\u0308rgerbu\u0308ro\u00a0 Foto.webp", "image/webp", "Bürgerbüro Foto.webp"),
    ("", "application/pdf", "document.pdf"),
    ("...", "image/png", "document.png"),
    (".pdf", "application/pdf", "document.pdf"),
    ("C:\\", "image/jpeg", "document.jpg"),
])
def test_display_filenames(name: str, content_type: str, expected: str) -> None:
    assert filename_for(name, content_type) == expected


def test_long_filenames_are_cut_to_120_characters() -> None:
    name = filename_for("ä" * 300 + ".pdf", "application/pdf")
    assert len(name) == 120 and name.endswith("ä.pdf")
    assert filename_for("x" * 115 + ". . .pdf", "application/pdf") == "x" * 115 + ".pdf"


def test_no_filename_for_a_type_not_taken() -> None:
    with pytest.raises(UnsupportedType):
        filename_for("a.gif", "image/gif")


# --- the whole path ----------------------------------------------------------------------------


async def test_a_photo_is_checked_scanned_and_cleaned() -> None:
    scanner = Recording(ScanResult("clean"))
    original = samples.jpeg()
    upload = await prepare_upload(original, "IMG_0001.HEIC.jpeg", 10 * MB, scanner)
    assert scanner.scanned == [original]  # the bytes as sent are scanned
    assert upload.content_type == "image/jpeg" and upload.filename == "IMG_0001.HEIC.jpg"
    assert upload.scanned == "clean" and upload.size == len(upload.data)
    assert samples.leaks(upload.data) == []


async def test_without_a_scanner_an_upload_is_unscanned() -> None:
    upload = await prepare_upload(samples.pdf(), "Antrag.pdf", MB, NoScanner())
    assert upload.scanned == "unscanned" and upload.data == samples.pdf()


async def test_the_name_does_not_decide_the_type() -> None:
    scanner = Recording(ScanResult("clean"))
    upload = await prepare_upload(samples.pdf(), "Foto.jpg", MB, scanner)
    assert upload.content_type == "application/pdf" and upload.filename == "Foto.pdf"
    for data in (b"MZ\x90\x00" + b"\x00" * 100, b"<html><script>alert(1)</script></html>",
                 b"GIF89a" + b"\x00" * 20):
        with pytest.raises(UnsupportedType) as refused:
            await prepare_upload(data, "Ausweis.pdf", MB, scanner)
        assert refused.value.code == "unsupported_media_type" and refused.value.status == 415
    assert len(scanner.scanned) == 1  # refused types never reach the scanner


async def test_size_limits() -> None:
    scanner = Recording(ScanResult("clean"))
    document = samples.pdf()
    assert (await prepare_upload(document, "a.pdf", len(document), scanner)).size == len(document)
    with pytest.raises(FileTooLarge) as refused:
        await prepare_upload(document + b"\n", "a.pdf", len(document), scanner)
    assert refused.value.status == 413 and refused.value.code == "file_too_large"
    with pytest.raises(FileTooLarge) as refused:
        await prepare_upload(b"%PDF-" + b"0" * (2 * MB), "a.pdf", 2 * MB, scanner)
    assert str(refused.value) == "The file is too large. Files may be at most 2 MB."
    with pytest.raises(EmptyFile) as empty:
        await prepare_upload(b"", "a.pdf", MB, scanner)
    assert empty.value.status == 422
    assert len(scanner.scanned) == 1


async def test_malware_found_by_the_scanner_is_refused() -> None:
    scanner = Recording(ScanResult("infected", "Eicar-Test-Signature"))
    with pytest.raises(MalwareFound) as refused:
        await prepare_upload(samples.pdf(), "a.pdf", MB, scanner)
    assert refused.value.status == 422 and refused.value.code == "malware_found"
    assert refused.value.signature == "Eicar-Test-Signature"
    assert "Eicar" not in str(refused.value)  # the citizen reads no scanner internals


async def test_a_broken_picture_is_refused_after_the_scan() -> None:
    with pytest.raises(UnsupportedType):
        await prepare_upload(b"\xff\xd8\xff\xe0garbage", "a.jpg", MB, NoScanner())


def test_a_sealed_document_opens_only_for_its_request() -> None:
    document = samples.pdf("Erika Mustermann, Hauptstrasse 1")
    sealed = seal_document(KEY, 17, document)
    assert b"%PDF" not in sealed and b"Mustermann" not in sealed
    assert open_document(KEY, 17, sealed) == document
    assert open_document(KEY, 18, sealed) is None
    assert open_document(b"x" * 32, 17, sealed) is None
    assert open_document(KEY, 17, sealed[:-1] + bytes([sealed[-1] ^ 1])) is None


def test_the_public_names() -> None:
    for name in uploads.__all__:
        assert hasattr(uploads, name), name
