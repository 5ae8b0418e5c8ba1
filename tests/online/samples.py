"""Files as citizens upload them, made here: photos with what phones write into them (EXIF with
the GPS position and the camera, XMP, a comment, the orientation tag) and a small real PDF."""

from __future__ import annotations

import io

from PIL import ExifTags, Image
from PIL.PngImagePlugin import PngInfo

# What must not survive stripping: every piece of it is looked for in the cleaned bytes.
CAMERA_MAKE = "Buero-Test-Camera-Make"
CAMERA_MODEL = "Buero-Test-Model-X"
XMP_MARKER = "buero-xmp-creator-erika"
COMMENT = b"buero-comment-erika-mustermann"
TEXT_CHUNK = "buero-png-author-erika"
# A 64 x 32 picture: left half red, right half blue. Orientation 6 (turn 90 degrees clockwise
# to show) makes it 32 x 64 with red on top.
WIDTH, HEIGHT = 64, 32
RED, BLUE = (220, 0, 0), (0, 0, 220)
XMP = (f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/'
       f'22-rdf-syntax-ns#"><rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/">'
       f'<dc:creator>{XMP_MARKER}</dc:creator></rdf:Description></rdf:RDF></x:xmpmeta>'
       ).encode()


def picture(width: int = WIDTH, height: int = HEIGHT, mode: str = "RGB") -> Image.Image:
    image = Image.new(mode, (width, height), RED)
    image.paste(Image.new(mode, (width - width // 2, height), BLUE), (width // 2, 0))
    return image


def phone_exif(orientation: int = 6) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = CAMERA_MAKE
    exif[ExifTags.Base.Model] = CAMERA_MODEL
    exif[ExifTags.Base.Orientation] = orientation
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (48.0, 43.0, 12.5)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (9.0, 15.0, 3.25)
    return exif


def jpeg(orientation: int = 6, image: Image.Image | None = None) -> bytes:
    out = io.BytesIO()
    (image or picture()).save(out, "JPEG", quality=95, exif=phone_exif(orientation), xmp=XMP,
                              comment=COMMENT)
    return out.getvalue()


def png() -> bytes:
    info = PngInfo()
    info.add_text("Author", TEXT_CHUNK)
    out = io.BytesIO()
    picture(mode="RGBA").save(out, "PNG", pnginfo=info, exif=phone_exif(1))
    return out.getvalue()


def webp() -> bytes:
    out = io.BytesIO()
    picture().save(out, "WEBP", quality=90, exif=phone_exif(1), xmp=XMP)
    return out.getvalue()


def pdf(text: str = "Meldebescheinigung") -> bytes:
    from weasyprint import HTML

    made = HTML(string=f"<html><body><p>{text}</p></body></html>").write_pdf()
    assert isinstance(made, bytes)
    return made


def leaks(data: bytes) -> list[str]:
    """Which of the markers the photo samples carry are in ``data``."""
    markers = [CAMERA_MAKE.encode(), CAMERA_MODEL.encode(), XMP_MARKER.encode(), COMMENT,
               TEXT_CHUNK.encode(), b"Exif\x00\x00", b"eXIf", b"http://ns.adobe.com/xap"]
    return [m.decode("latin-1") for m in markers if m in data]
