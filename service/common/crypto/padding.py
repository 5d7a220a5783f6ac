"""Size classes for sealed items (envelope version 3), and the padding that fills them.

An item's exact length tells whoever holds its ciphertext (a seized server, a courier)
its file's exact size, which can be matched against a known file (audit F-16). A
version 3 envelope's plaintext is therefore::

    content || 0x80 || 0x00 ... 0x00

filled up to a **size class**: the smallest class that holds the content and the 0x80
marker. The padding is inside the encryption, so the server cannot strip or change it,
and the desk's reader removes it (after the last 0x80; every byte after it must be zero).

Classes (bytes of padded plaintext):

- 4 KiB, 16 KiB, 64 KiB: every small item (answers, messages, most photos' thumbnails)
  looks the same within these;
- above 64 KiB, two classes per doubling: 2^m and 3·2^(m-1) for m >= 17, so 96 KiB,
  128 KiB, 192 KiB, 256 KiB, 384 KiB, 512 KiB, ... Consecutive classes differ by a factor
  of 1.5 or 4/3: the overhead is under 50 % at worst and about 20 % on average for sizes
  spread evenly on a log scale (a geometric series with ratio √2 would give 41 % and 19 %;
  this one needs no irrational arithmetic, so every implementation computes it exactly).

Every class but 96 KiB is a whole number of 64 KiB chunks, so from 128 KiB up the last
frame is full and says nothing either.
"""

from __future__ import annotations

from service.common.errors import EnvelopeFormatError

MARKER = 0x80
SMALL_CLASSES = (4096, 16384, 65536)
BAD_PADDING = "The sealed item's padding is not valid."


def size_class(length: int) -> int:
    """Return the padded plaintext length for ``length`` bytes (content plus the marker)."""
    if length < 1:
        raise ValueError("a padded item holds at least its marker byte")
    for size in SMALL_CLASSES:
        if length <= size:
            return size
    base = SMALL_CLASSES[-1]
    while True:
        if length <= base * 3 // 2:
            return base * 3 // 2
        if length <= base * 2:
            return base * 2
        base *= 2


def padding_length(content_length: int) -> int:
    """Bytes of padding (the marker included) that follow ``content_length`` bytes."""
    return size_class(content_length + 1) - content_length


class Unpadder:
    """Strip version 3 padding from plaintext fed in pieces, in bounded memory.

    Padding is the last 0x80 and the zeros after it. Until the data ends, such a run may
    still turn out to be content (a later nonzero byte), so it is held back: as one flag
    and a count of zeros, never as bytes. ``feed`` returns the content released so far;
    ``close`` checks the padding and that the total is exactly the content's size class.
    """

    def __init__(self) -> None:
        """Start with nothing held."""
        self._held = False  # a 0x80 followed only by zeros is being held back
        self._zeros = 0
        self._total = 0

    def feed(self, data: bytes) -> bytes:
        """Take more plaintext; return the bytes now known to be content."""
        self._total += len(data)
        last = _last_nonzero(data)
        if last < 0:
            if self._held:
                self._zeros += len(data)
                return b""
            return bytes(data)  # zeros with no marker before them are content
        out = bytearray()
        if self._held:
            # A nonzero byte follows: what was held is content after all.
            out.append(MARKER)
            out += bytes(self._zeros)
        if data[last] == MARKER:
            out += data[:last]
            self._held, self._zeros = True, len(data) - last - 1
        else:
            out += data
            self._held, self._zeros = False, 0
        return bytes(out)

    def close(self) -> None:
        """Raise :class:`EnvelopeFormatError` unless the data ended in valid padding."""
        if not self._held:
            raise EnvelopeFormatError(BAD_PADDING)
        content = self._total - 1 - self._zeros
        # Exactly the class: a sealer that pads more or less marks its items out.
        if self._total != size_class(content + 1):
            raise EnvelopeFormatError(BAD_PADDING)


def _last_nonzero(data: bytes) -> int:
    stripped = data.rstrip(b"\x00")
    return len(stripped) - 1
