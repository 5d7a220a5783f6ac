"""Metadata-stripped copies: EXIF, PNG text and PDF info/XMP gone; originals untouched."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from service.desk.casework.desk import Desk
from service.desk.errors import StripError
from service.desk.inbox.strip import stripped
from tests.desk.helpers import (
    FakeCase,
    answers_plaintext,
    bundle_bytes,
    file_plaintext,
    recipients,
    sealed,
)

CANARY = "CANARY-Officer-Nurlan-GPS"


def attach(desk: Desk, tmp_path: Path, name: str, data: bytes) -> tuple[str, str]:
    """Import a case with one attachment; return (attachment ref, answers ref)."""
    case = FakeCase()
    to = recipients(desk)
    answers = sealed(case, answers_plaintext(case, {"narrative": "x"}), to)
    attachment = sealed(case, file_plaintext(case, name, data), to)
    (tmp_path / f"{name}.aryz").write_bytes(bundle_bytes([answers, attachment]))
    assert desk.import_bundle(tmp_path / f"{name}.aryz").imported == 2
    return attachment.ref, answers.ref


def photo_with_exif() -> bytes:
    image_module = pytest.importorskip(
        "PIL.Image", reason="Pillow (desk extra) is not installed: stripped copies untested"
    )
    image = image_module.new("RGB", (40, 20), (200, 30, 30))
    exif = image.getexif()
    exif[0x013B] = CANARY  # Artist
    exif[0x0112] = 6  # Orientation: rotate 90° to display upright
    exif[0x8825] = {1: "N", 2: (43.0, 15.0, 0.0)}  # GPS IFD with a latitude
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif, comment=CANARY.encode())
    return out.getvalue()


def test_jpeg_copy_has_no_exif_and_is_upright(desk: Desk, tmp_path: Path) -> None:
    from PIL import Image

    original = photo_with_exif()
    assert CANARY.encode() in original
    ref, _ = attach(desk, tmp_path, "photo.jpg", original)
    copy = desk.stripped_copy(ref)
    assert copy is not None
    assert CANARY.encode() not in copy
    assert b"Exif" not in copy
    with Image.open(io.BytesIO(copy)) as image:
        assert image.format == "JPEG"
        assert not image.getexif()
        assert image.size == (20, 40)  # the orientation was applied, then dropped
    # The original is evidence: it is returned unchanged, byte for byte.
    assert desk.attachment_bytes(ref) == original


def test_png_copy_has_no_text_chunks(desk: Desk, tmp_path: Path) -> None:
    image_module = pytest.importorskip("PIL.Image", reason="Pillow is not installed")
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Author", CANARY)
    out = io.BytesIO()
    image_module.new("P", (8, 8), 3).save(out, format="PNG", pnginfo=info)
    ref, _ = attach(desk, tmp_path, "scan.png", out.getvalue())
    copy = desk.stripped_copy(ref)
    assert copy is not None
    assert CANARY.encode() not in copy
    with image_module.open(io.BytesIO(copy)) as image:
        assert image.format == "PNG"
        assert not image.info.get("Author")


def test_pdf_copy_has_no_document_info_or_xmp(desk: Desk, tmp_path: Path) -> None:
    pikepdf = pytest.importorskip(
        "pikepdf", reason="pikepdf (desk extra) is not installed: PDF stripping untested"
    )
    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.docinfo["/Author"] = CANARY
    with pdf.open_metadata(set_pikepdf_as_editor=False) as xmp:
        xmp["dc:creator"] = [CANARY]
    out = io.BytesIO()
    pdf.save(out, compress_streams=False)
    original = out.getvalue()
    assert original.count(CANARY.encode()) >= 2

    ref, _ = attach(desk, tmp_path, "complaint.pdf", original)
    copy = desk.stripped_copy(ref)
    assert copy is not None
    assert CANARY.encode() not in copy
    with pikepdf.open(io.BytesIO(copy)) as cleaned:
        assert len(cleaned.pages) == 1
        assert "/Metadata" not in cleaned.Root
        assert "/Author" not in cleaned.docinfo
    assert desk.attachment_bytes(ref) == original


def test_other_files_and_non_files_have_no_stripped_copy(desk: Desk, tmp_path: Path) -> None:
    ref, answers_ref = attach(desk, tmp_path, "notes.docx", b"PK\x03\x04 a zip container")
    assert desk.stripped_copy(ref) is None
    assert desk.stripped_copy(answers_ref) is None


def test_a_damaged_image_is_a_clear_error() -> None:
    pytest.importorskip("PIL.Image", reason="Pillow is not installed")
    with pytest.raises(StripError):
        stripped(b"\xff\xd8\xff\xe0 not really a jpeg")
