"""Safe copies of attachments: pixels only, rebuilt as a new file, made in a cage.

A photo's EXIF can hold the GPS position, the time and the phone's serial number; a PDF
can hold an author's name, XMP, a permanent ``/ID``, comments with their authors,
attached files, scripts, and photos that keep their own EXIF. Before a file leaves the
desk (to a lawyer, a UN body, a journalist) staff give a *safe copy* instead. The
original is never modified: it stays in the store as evidence, with its SHA-256.

A safe copy is what the file *shows*, redrawn, and nothing else:

- JPEG and PNG (recognised by their first bytes, never by name or declared type) are
  decoded with Pillow, refused above :data:`MAX_PIXELS`, turned upright as their EXIF
  orientation says, flattened to RGB on white, and written as a *new* JPEG (quality 90)
  or PNG from the raw pixels. No EXIF, XMP, ICC profile, text chunk or comment survives.
- PDF: every page is rendered to pixels by PDFium (``pypdfium2``) at
  :data:`PDF_DPI` (less for a huge page, at most :data:`MAX_PAGE_PIXELS` per page),
  comments and form fields drawn as they look, and each page is written as a JPEG into a
  new PDF built here from nothing: no ``/Info``, XMP, ``/ID``, outline, annotation,
  attachment, form, script or font survives, and text is no longer selectable (it is a
  picture of the page). At most :data:`MAX_PAGES` pages.
- Anything else: no safe copy exists; say so rather than pretend.

All of that parsing runs in :mod:`service.desk.inbox.sandbox`: a separate, short-lived process
with no key, no store and tight limits. :func:`stripped` here is what the desk calls (it
starts the cage); :mod:`service.desk.inbox.rebuild` is what runs inside it.
"""

from __future__ import annotations

from collections.abc import Iterable

from service.desk.errors import StripUnavailableError
from service.desk.inbox.rebuild import MAX_PAGES as MAX_PAGES
from service.desk.inbox.rebuild import MAX_PIXELS as MAX_PIXELS
from service.desk.inbox.rebuild import PDF_DPI as PDF_DPI
from service.desk.inbox.rebuild import kind_of as kind_of


def stripped(data: bytes | Iterable[bytes], size: int | None = None) -> bytes | None:
    """A safe copy of ``data``, made in the cage, or None for a type that is not handled.

    ``data`` is the whole file or its pieces in order (``size`` then says how long it
    is). Raises :class:`StripError` when the cage could not make a copy (damaged,
    hostile, too large, over a limit or too slow).
    """
    from service.desk.inbox import sandbox

    pieces: Iterable[bytes]
    if isinstance(data, bytes):
        head, pieces, size = data[:8], [data], len(data)
    else:
        iterator = iter(data)
        first = next(iterator, b"")
        head = first[:8]
        pieces = _chain(first, iterator)
        if size is None:
            raise ValueError("size is needed with pieces")
    if kind_of(head) is None:
        return None
    if not available():
        raise StripUnavailableError()
    return sandbox.run(pieces, size)


def available() -> bool:
    """Whether the desk extra's decoders are installed (looked up, not imported)."""
    from importlib.util import find_spec

    return all(find_spec(name) is not None for name in ("PIL", "pypdfium2"))


def _chain(first: bytes, rest: Iterable[bytes]) -> Iterable[bytes]:
    yield first
    yield from rest
