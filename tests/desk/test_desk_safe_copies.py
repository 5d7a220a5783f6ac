"""Safe copies are pixels only (audit F-05): nothing of a hostile PDF or photo survives.

The files are made here, in Python: a PDF with a phone photo that keeps its EXIF (GPS,
maker, serial), a comment with its author, an attached file, JavaScript, XMP, document
information and a permanent ``/ID``; photos with EXIF/GPS, an ICC profile and comments.
Each canary is checked in the copy's bytes, and the copy is parsed again.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import cast

import pytest

from service.desk.casework.desk import Desk
from service.desk.inbox.strip import stripped
from tests.desk.test_desk_strip import attach

pytest.importorskip("PIL.Image", reason="Pillow (desk extra) is not installed")
pikepdf = pytest.importorskip("pikepdf", reason="pikepdf (desk extra) is not installed")
pypdfium2 = pytest.importorskip("pypdfium2", reason="pypdfium2 (desk extra) is not installed")

from PIL import Image, ImageCms  # noqa: E402 - after the skip

GPS_CANARY = "CANARYGPS"
CANARIES = {
    "maker": b"CANARYCAM",
    "serial": b"SERIAL-CANARY-123456",
    "artist": b"CANARY-Artist-Nurlanova",
    "comment": b"CANARY-comment-Marat",
    "author": b"CANARYAUTHOR Aigerim",
    "annotation": b"CANARY-annotation-text",
    "attachment": b"CANARY-witnesses +7 701 000 0000",
    "script": b"CANARY-script",
    "xmp": b"CANARY-xmp-creator",
    "id": b"CANARYID0123456",
    "png_text": b"CANARY-png-text",
}


def forms(canary: bytes) -> list[bytes]:
    """A canary as it may be written in a PDF: literal, or as a hex string."""
    return [canary, canary.hex().encode(), canary.hex().upper().encode()]


def photo(kind: str = "JPEG", size: tuple[int, int] = (64, 48)) -> bytes:
    """A red photo carrying EXIF (maker, serial, artist, GPS), an ICC profile, a comment."""
    image = Image.new("RGB", size, (220, 20, 20))
    exif = image.getexif()
    exif[0x010F] = CANARIES["maker"].decode()  # Make
    exif[0xA431] = CANARIES["serial"].decode()  # BodySerialNumber
    exif[0x013B] = CANARIES["artist"].decode()  # Artist
    exif[0x8825] = {1: "N", 2: (43.0, 14.0, 20.0), 3: "E", 4: (76.0, 53.0, 23.0), 27: GPS_CANARY}
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    out = io.BytesIO()
    if kind == "JPEG":
        image.save(out, "JPEG", exif=exif, icc_profile=icc, comment=CANARIES["comment"])
    else:
        from PIL import PngImagePlugin

        info = PngImagePlugin.PngInfo()
        info.add_text("Author", CANARIES["png_text"].decode())
        info.add_itxt("Comment", CANARIES["comment"].decode(), zip=False)
        info.add_text("Description", CANARIES["png_text"].decode(), zip=True)
        image.save(out, "PNG", exif=exif, icc_profile=icc, pnginfo=info)
    return out.getvalue()


def hostile_pdf() -> bytes:
    """One page with a red photo (EXIF kept in its DCT stream), and every kind of extra."""
    jpeg = photo()
    assert b"Exif" in jpeg
    assert CANARIES["serial"] in jpeg
    pdf = pikepdf.new()
    image = pikepdf.Stream(pdf, jpeg)
    image.Type = pikepdf.Name.XObject
    image.Subtype = pikepdf.Name.Image
    image.Width, image.Height = 64, 48
    image.ColorSpace = pikepdf.Name.DeviceRGB
    image.BitsPerComponent = 8
    image.Filter = pikepdf.Name.DCTDecode
    content = pikepdf.Stream(pdf, b"q 400 0 0 300 100 400 cm /Photo Do Q")
    page = pikepdf.Dictionary(
        Type=pikepdf.Name.Page,
        MediaBox=[0, 0, 612, 792],
        Contents=content,
        Resources=pikepdf.Dictionary(XObject=pikepdf.Dictionary(Photo=image)),
    )
    pdf.pages.append(pikepdf.Page(page))
    page = pdf.pages[0].obj
    comment = pikepdf.Dictionary(
        Type=pikepdf.Name.Annot,
        Subtype=pikepdf.Name.Text,
        Rect=[10, 10, 30, 30],
        T=pikepdf.String(CANARIES["author"].decode()),
        Contents=pikepdf.String(CANARIES["annotation"].decode()),
    )
    page.Annots = pdf.make_indirect(pikepdf.Array([comment]))
    attached = pikepdf.AttachedFileSpec(pdf, CANARIES["attachment"], filename="witnesses.txt")
    pdf.attachments["witnesses.txt"] = attached
    script = pikepdf.Dictionary(
        S=pikepdf.Name.JavaScript, JS=pikepdf.String(f"app.alert('{CANARIES['script'].decode()}')")
    )
    pdf.Root.OpenAction = script
    pdf.Root.Names.JavaScript = pikepdf.Dictionary(
        Names=[pikepdf.String("a"), pdf.make_indirect(script)]
    )
    with pdf.open_metadata(set_pikepdf_as_editor=False) as meta:
        meta["dc:creator"] = [CANARIES["xmp"].decode()]
    pdf.docinfo["/Author"] = CANARIES["author"].decode()
    pdf.trailer.ID = pikepdf.Array([pikepdf.String(CANARIES["id"]), pikepdf.String(CANARIES["id"])])
    out = io.BytesIO()
    pdf.save(
        out,
        static_id=True,
        compress_streams=False,
        object_stream_mode=pikepdf.ObjectStreamMode.disable,
    )
    return out.getvalue()


def test_the_hostile_pdf_really_carries_every_canary() -> None:
    data = hostile_pdf()
    for name, canary in CANARIES.items():
        if name != "png_text":
            assert any(form in data for form in forms(canary)), name
    assert b"Exif" in data


def test_nothing_of_a_hostile_pdf_survives_in_its_safe_copy(desk: Desk, tmp_path: Path) -> None:
    original = hostile_pdf()
    ref, _ = attach(desk, tmp_path, "medical.pdf", original)
    copy = desk.stripped_copy(ref)
    assert copy is not None
    assert copy.startswith(b"%PDF-")
    for name, canary in CANARIES.items():
        for form in forms(canary):
            assert form not in copy, name
    for marker in (b"Exif", b"/Info", b"/ID", b"/Metadata", b"/Annots", b"/EmbeddedFile",
                   b"/JavaScript", b"/JS", b"/OpenAction", b"/AA", b"/AcroForm", b"/Names",
                   b"/Outlines", b"/Font", b"/FlateDecode", b"GPS", b"ICC_PROFILE"):  # fmt: skip
        assert marker not in copy, marker
    with pikepdf.open(io.BytesIO(copy)) as pdf:
        assert set(pdf.trailer.keys()) == {"/Root", "/Size"}
        assert set(pdf.Root.keys()) == {"/Type", "/Pages"}
        assert len(pdf.attachments) == 0
        assert len(pdf.pages) == 1
        page = pdf.pages[0]
        assert "/Annots" not in page.obj
        ((name, xobject),) = page.Resources.XObject.items()
        assert xobject.Filter == pikepdf.Name.DCTDecode
        jpeg = xobject.read_raw_bytes()
    with Image.open(io.BytesIO(jpeg)) as picture:
        assert not picture.getexif()
        assert "icc_profile" not in picture.info
        assert "comment" not in picture.info
        assert "exif" not in picture.info
    # The page still shows what it showed: the red photo, where it was.
    document = pypdfium2.PdfDocument(copy)
    try:
        bitmap = document[0].render(scale=1)
        shown = bitmap.to_pil().convert("RGB")
        red, green, blue = cast("tuple[int, int, int]", shown.getpixel((300, 792 - 550)))
        assert red > 180
        assert green < 80
        assert blue < 80
        assert shown.getpixel((50, 50)) == (255, 255, 255)
    finally:
        document.close()
    # The original is untouched: the evidence is still what was submitted.
    size, pieces = desk.attachment_pieces(ref)
    kept = b"".join(pieces)
    assert kept == original
    assert size == len(original)
    assert hashlib.sha256(kept).hexdigest() == hashlib.sha256(original).hexdigest()


@pytest.mark.parametrize("kind", ["JPEG", "PNG"])
def test_nothing_of_a_photo_survives_in_its_safe_copy(kind: str) -> None:
    original = photo(kind)
    assert CANARIES["serial"] in original
    copy = stripped(original)
    assert copy is not None
    for name, canary in CANARIES.items():
        assert canary not in copy, name
    for marker in (b"Exif", b"eXIf", b"iCCP", b"ICC_PROFILE", b"tEXt", b"iTXt", b"zTXt",
                   b"GPS", b"\xff\xfe"):  # fmt: skip
        if kind == "JPEG" and marker == b"\xff\xfe":
            # A comment segment would start with FF FE right after a marker.
            assert b"\xff\xfe\x00" not in copy[: copy.find(b"\xff\xda")]
            continue
        assert marker not in copy, marker
    with Image.open(io.BytesIO(copy)) as image:
        assert image.format == kind
        assert image.mode == "RGB"
        assert not image.getexif()
        assert not {"exif", "icc_profile", "comment", "Author", "Comment", "Description"} & set(
            image.info
        )
        assert image.size == (64, 48)
        red, green, blue = cast("tuple[int, int, int]", image.getpixel((32, 24)))
        assert red > 180
        assert green < 80
        assert blue < 80


def test_a_transparent_png_is_flattened_on_white() -> None:
    image = Image.new("RGBA", (10, 10), (0, 0, 0, 0))
    out = io.BytesIO()
    image.save(out, "PNG")
    copy = stripped(out.getvalue())
    assert copy is not None
    with Image.open(io.BytesIO(copy)) as flat:
        assert flat.mode == "RGB"
        assert flat.getpixel((5, 5)) == (255, 255, 255)
