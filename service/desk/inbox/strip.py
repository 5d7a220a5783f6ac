"""Metadata-stripped copies of attachments, made on the desk only.

A photo's EXIF can hold the GPS position, the time and the phone's serial number; a PDF's
document information and XMP can hold an author's name. Before a file leaves the desk
(to a lawyer, a UN body, a journalist) staff can give a stripped copy instead. The
original is never modified: it stays in the store as evidence.

- JPEG and PNG (recognised by their first bytes, never by name or declared type) are
  decoded and re-encoded from the pixels alone with Pillow, after turning the picture
  upright as its EXIF orientation says. No EXIF, XMP, ICC profile, text chunk or comment
  survives. A JPEG is re-compressed (quality 95), so it is not bit-identical.
- PDF: with pikepdf, the document information dictionary and every ``/Metadata`` stream
  (document and object level XMP) and ``/PieceInfo`` are removed. Text and images *inside*
  the pages are untouched: a photo embedded in a PDF keeps its own EXIF, and what the
  pages say is what they say.
- Anything else: ``None`` — no stripped copy exists; say so rather than pretend.

Pillow and pikepdf are imported only here and only when needed (the desk's optional
extras); without them :class:`StripUnavailableError` says what is missing.
"""

from __future__ import annotations

import io

from service.desk.errors import StripError, StripUnavailableError

JPEG = b"\xff\xd8\xff"
PNG = b"\x89PNG\r\n\x1a\n"
PDF = b"%PDF-"


def kind_of(data: bytes) -> str | None:
    """'jpeg', 'png', 'pdf' or None, from the file's first bytes."""
    if data.startswith(JPEG):
        return "jpeg"
    if data.startswith(PNG):
        return "png"
    if data.startswith(PDF):
        return "pdf"
    return None


def stripped(data: bytes) -> bytes | None:
    """A copy of ``data`` without metadata, or None for a type that is not handled."""
    kind = kind_of(data)
    if kind is None:
        return None
    if kind == "pdf":
        return _strip_pdf(data)
    return _strip_image(data, kind)


def _strip_image(data: bytes, kind: str) -> bytes:
    try:
        from PIL import Image, ImageOps
    except ImportError:
        raise StripUnavailableError() from None
    try:
        with Image.open(io.BytesIO(data)) as source:
            upright = ImageOps.exif_transpose(source)
            mode = upright.mode
            if kind == "jpeg" and mode not in ("L", "RGB", "CMYK"):
                mode = "RGB"
            elif kind == "png" and mode not in ("1", "L", "LA", "RGB", "RGBA", "I;16"):
                mode = "RGBA"  # e.g. a palette image: its palette chunk goes with it
            pixels = upright.convert(mode) if mode != upright.mode else upright
            # A new image from the raw pixels alone carries no info dict at all, so
            # nothing of the original's metadata can be written back by accident.
            clean = Image.frombytes(pixels.mode, pixels.size, pixels.tobytes())
        out = io.BytesIO()
        if kind == "jpeg":
            clean.save(out, format="JPEG", quality=95)
        else:
            clean.save(out, format="PNG")
    except (OSError, ValueError, Image.DecompressionBombError):
        raise StripError() from None
    return out.getvalue()


def _strip_pdf(data: bytes) -> bytes:
    try:
        import pikepdf
    except ImportError:
        raise StripUnavailableError() from None
    try:
        with pikepdf.open(io.BytesIO(data)) as pdf:
            if "/Info" in pdf.trailer:
                del pdf.trailer["/Info"]
            for obj in pdf.objects:
                if isinstance(obj, pikepdf.Dictionary | pikepdf.Stream):
                    for key in ("/Metadata", "/PieceInfo"):
                        if key in obj:
                            del obj[key]
            out = io.BytesIO()
            # deterministic_id: a random /ID would be a fresh marker of this desk's copy.
            pdf.save(out, deterministic_id=True, fix_metadata_version=False)
    except (pikepdf.PdfError, ValueError):
        raise StripError() from None
    return out.getvalue()
