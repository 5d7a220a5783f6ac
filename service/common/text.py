"""The one policy for untrusted text: what a submitter wrote, what a server sends, what a
file name or a tag says. Every room asks this module, so a fix reaches every place.

**Unsafe characters** (:func:`is_unsafe`) are the ones that can make text read
differently from what it is:

- control characters (Unicode category Cc: C0 and C1, ESC, DEL, CR …): escape sequences
  retitle a terminal, move its cursor to rewrite an earlier line, hide what follows;
- format characters (Cf: bidirectional embeddings, overrides and isolates, zero-width
  joiners and spaces, the byte-order mark …): "Trojan source"-style spoofing, one name
  made to look like another; Central Asian scripts are all left-to-right;
- line and paragraph separators (Zl, Zp), which some terminals treat as line breaks;
- lone surrogates (Cs), which no encoding can carry, and private-use characters (Co),
  and unassigned ones (Cn), which show as anything a font decides.

Tab, and a line feed where text may span lines, are the only exceptions, named at each
use. What to *do* with an unsafe character depends on where the text goes, and each way
is one function here:

- :func:`for_terminal` shows it as ``\\u{XXXX}`` (every ``aryz`` command prints untrusted
  text through it; audit F-10);
- :func:`strip_invisible` removes it and says so (the intake's forms show the person
  their text to check);
- :func:`visible` removes it silently (a server's error message, a file name to save);
- :func:`single_line` refuses it (a tag, an assignee: one line, no invisible characters);
- :func:`has_controls` finds control characters in a note or a reply, where format
  characters (joiners) are part of honest writing but a NUL or an escape is not.

Everything else, every script included, is kept as it is.
"""

from __future__ import annotations

import unicodedata

UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
LINE_CONTROLS = "\t\n\r"  # the only controls a note or a reply may hold


def is_unsafe(ch: str) -> bool:
    """Whether ``ch`` may change how text reads without being seen (see above)."""
    return unicodedata.category(ch) in UNSAFE_CATEGORIES


def for_terminal(text: object, *, multiline: bool = False) -> str:
    """``text`` (made a string with ``str``) with every unsafe character escaped."""
    out = []
    for ch in str(text):
        if ch == "\t" or (multiline and ch == "\n"):
            out.append(ch)
        elif is_unsafe(ch):
            out.append(f"\\u{{{ord(ch):04X}}}")
        else:
            out.append(ch)
    return "".join(out)


def strip_invisible(text: str) -> tuple[str, bool]:
    """Remove every unsafe character but newlines and tabs.

    Returns the cleaned text and whether anything was removed, so the form can say so and
    show the person their text to check, instead of silently changing it.
    """
    kept = [ch for ch in text if ch in "\n\t" or not is_unsafe(ch)]
    return "".join(kept), len(kept) != len(text)


def visible(text: str, *, spaces: bool = False) -> str:
    """``text`` without its unsafe characters; with ``spaces``, whitespace controls (tab,
    newline) become spaces first, so they still separate words."""
    if spaces:
        return "".join(
            " " if ch.isspace() else ch for ch in text if ch.isspace() or not is_unsafe(ch)
        )
    return "".join(ch for ch in text if not is_unsafe(ch))


def single_line(value: str) -> str | None:
    """``value`` as one NFC line with its whitespace collapsed, or ``None`` if it holds an
    unsafe character (a right-to-left override could make one tag look like another)."""
    text = " ".join(unicodedata.normalize("NFC", value).split())
    return None if any(is_unsafe(ch) for ch in text) else text


def has_controls(text: str, allowed: str = LINE_CONTROLS) -> bool:
    """Whether ``text`` holds a control character other than ``allowed``."""
    return any(unicodedata.category(ch) == "Cc" and ch not in allowed for ch in text)
