"""What runs inside the cage (:mod:`service.desk.inbox.sandbox`): recognise a file by its
first bytes and redraw it as a new file from its pixels (the rules are in
:mod:`service.desk.inbox.strip`). It parses hostile bytes, so it holds no key and imports
nothing that could open the store.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable
from typing import IO, TYPE_CHECKING

from service.desk.errors import StripError

if TYPE_CHECKING:
    from PIL.Image import Image

JPEG = b"\xff\xd8\xff"
PNG = b"\x89PNG\r\n\x1a\n"
PDF = b"%PDF-"

# A 40-megapixel photo is larger than any phone takes today; a decoded RGB picture of
# that size is 120 MB, which the cage's memory limit holds with room for the encoder.
MAX_PIXELS = 40_000_000
PDF_DPI = 150
MAX_PAGE_PIXELS = 12_000_000  # A4 at 150 dpi is 2.2 MP; A0 at 150 dpi is 35 MP → scaled
MAX_PAGES = 500
JPEG_QUALITY = 90


def kind_of(data: bytes) -> str | None:
    """'jpeg', 'png', 'pdf' or None, from the file's first bytes."""
    if data.startswith(JPEG):
        return "jpeg"
    if data.startswith(PNG):
        return "png"
    if data.startswith(PDF):
        return "pdf"
    return None


def render(data: bytes, out: IO[bytes]) -> None:
    """Write the safe copy of ``data`` to ``out``; :class:`StripError` if there is none.

    Runs in the cage only (it parses hostile bytes)."""
    kind = kind_of(data)
    if kind is None:
        raise StripError()
    if kind == "pdf":
        _render_pdf(data, out)
    else:
        _render_image(data, kind, out)


def _render_image(data: bytes, kind: str, out: IO[bytes]) -> None:
    from PIL import Image

    _bound_pillow()
    with Image.open(io.BytesIO(data), formats=["JPEG" if kind == "jpeg" else "PNG"]) as source:
        clean = _pixels_only(source)
    if kind == "jpeg":
        clean.save(out, format="JPEG", quality=JPEG_QUALITY)
    else:
        clean.save(out, format="PNG")


def _bound_pillow() -> None:
    from PIL import Image, ImageFile

    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    # Above MAX_IMAGE_PIXELS Pillow only warns (it refuses at twice that): refuse at once.
    warnings.simplefilter("error", Image.DecompressionBombWarning)


def _pixels_only(source: Image) -> Image:
    """A new RGB picture from ``source``'s pixels, upright, on white; no info at all."""
    from PIL import Image, ImageOps

    source.load()
    # In place: no second full copy of the pixels when the picture is already upright.
    ImageOps.exif_transpose(source, in_place=True)
    upright = source
    if upright.mode in ("RGBA", "LA", "PA") or "transparency" in upright.info:
        rgba = upright.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
    else:
        flat = upright if upright.mode == "RGB" else upright.convert("RGB")
    # A new image with the pixels pasted in carries no info dict at all, so nothing of
    # the original's metadata can be written back by accident.
    clean = Image.new("RGB", flat.size, (255, 255, 255))
    clean.paste(flat)
    return clean


def _render_pdf(data: bytes, out: IO[bytes]) -> None:
    import pypdfium2

    _bound_pillow()
    document = pypdfium2.PdfDocument(data)
    try:
        count = len(document)
        if not 1 <= count <= MAX_PAGES:
            raise StripError()

        def page_jpeg(number: int) -> tuple[bytes, int, int, float, float]:
            page = document[number]
            try:
                width, height = page.get_size()
                if not (width > 0 and height > 0):
                    raise StripError()
                scale = min(PDF_DPI / 72, (MAX_PAGE_PIXELS / (width * height)) ** 0.5)
                bitmap = page.render(scale=scale, may_draw_forms=False, draw_annots=True)
                picture = _pixels_only(bitmap.to_pil())
                bitmap.close()
            finally:
                page.close()
            buffer = io.BytesIO()
            picture.save(buffer, format="JPEG", quality=JPEG_QUALITY)
            return buffer.getvalue(), picture.width, picture.height, width, height

        write_image_pdf(count, page_jpeg, out)
    finally:
        document.close()


def write_image_pdf(
    count: int,
    page: Callable[[int], tuple[bytes, int, int, float, float]],
    out: IO[bytes],
) -> None:
    """A new PDF with one JPEG per page, written as pages come (one page in memory).

    ``page(n)`` gives the JPEG, its pixel size and the page size in points. Only a
    catalog, a page tree, pages, images and drawing commands: nothing else exists.
    """
    written = 0
    offsets: dict[int, int] = {}

    def emit(chunk: bytes) -> None:
        nonlocal written
        out.write(chunk)
        written += len(chunk)

    def start(number: int) -> None:
        offsets[number] = written
        emit(b"%d 0 obj\n" % number)

    emit(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    kids = b" ".join(b"%d 0 R" % (3 + 3 * n) for n in range(count))
    start(1)
    emit(b"<< /Type /Catalog /Pages 2 0 R >>\nendobj\n")
    start(2)
    emit(b"<< /Type /Pages /Kids [%s] /Count %d >>\nendobj\n" % (kids, count))
    for n in range(count):
        jpeg, pixels_w, pixels_h, width, height = page(n)
        page_obj, image_obj, content_obj = 3 + 3 * n, 4 + 3 * n, 5 + 3 * n
        size = b"%.2f %.2f" % (width, height)
        start(page_obj)
        emit(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %s] /Resources << /XObject "
            b"<< /Im0 %d 0 R >> >> /Contents %d 0 R >>\nendobj\n" % (size, image_obj, content_obj)
        )
        start(image_obj)
        emit(
            b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceRGB "
            b"/BitsPerComponent 8 /Filter /DCTDecode /Length %d >>\nstream\n"
            % (pixels_w, pixels_h, len(jpeg))
        )
        emit(jpeg)
        emit(b"\nendstream\nendobj\n")
        draw = b"q %s 0 0 cm /Im0 Do Q" % size.replace(b" ", b" 0 0 ")
        start(content_obj)
        emit(b"<< /Length %d >>\nstream\n%s\nendstream\nendobj\n" % (len(draw), draw))
    xref = written
    total = 3 + 3 * count
    emit(b"xref\n0 %d\n0000000000 65535 f \n" % total)
    for number in range(1, total):
        emit(b"%010d 00000 n \n" % offsets[number])
    emit(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (total, xref))
