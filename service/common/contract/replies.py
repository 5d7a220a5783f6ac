"""Open a coalition's reply with the key pair the case token derives.

Pure (``service.common.crypto`` only), so both the status page and the intermediaries' client
(``aryz status``) use it without the server's database or web stack. The server stores
replies sealed and never holds the key: the status page derives it from the token the
person just typed and opens the replies in memory for that one response.
"""

from __future__ import annotations

from service.common.crypto.envelope import open_envelope
from service.common.crypto.keys import BoxKeyPair
from service.common.crypto.payload import split_payload
from service.common.errors import EnvelopeError

REPLY_TYPE = "reply"


def open_reply(sealed: bytes, reply_key: BoxKeyPair) -> str | None:
    """The reply's text, or None when it cannot be opened or is not a text reply.

    Never raises for bad data: one damaged or foreign reply must not hide the others,
    nor turn the person's status page into an error.
    """
    try:
        meta, body = split_payload(open_envelope(sealed, [reply_key]))
        if meta.get("type") != REPLY_TYPE:
            return None
        return body.decode("utf-8")
    except (EnvelopeError, UnicodeDecodeError, ValueError):
        return None
