"""Untrusted text made harmless for a terminal: the one function every ``aryz`` command
prints such text through (F-10).

What a submitter wrote, and what a server sends (a status, an error message, a reply, a
backup's manifest), may hold escape sequences that retitle the terminal, move the cursor
to rewrite an earlier line ("reply key confirmed"), hide what follows, or bidirectional
overrides and zero-width characters that make one name look like another. Every such
character is shown as ``\\u{XXXX}`` instead:

- control characters (Unicode category Cc: C0 and C1, ESC, DEL, CR …), except a tab, and
  a line feed where the text may span lines (``multiline=True``);
- format characters (Cf: bidirectional embeddings, overrides and isolates, zero-width
  joiners and spaces, the byte-order mark …);
- line and paragraph separators (Zl, Zp), which some terminals treat as line breaks;
- lone surrogates (Cs), which no terminal encoding can carry.

Everything else, every script included, is shown as it is.
"""

from __future__ import annotations

import unicodedata

_ESCAPED = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})


def for_terminal(text: object, *, multiline: bool = False) -> str:
    """``text`` (made a string with ``str``) with every dangerous character escaped."""
    out = []
    for ch in str(text):
        if ch == "\t" or (multiline and ch == "\n"):
            out.append(ch)
        elif unicodedata.category(ch) in _ESCAPED:
            out.append(f"\\u{{{ord(ch):04X}}}")
        else:
            out.append(ch)
    return "".join(out)
