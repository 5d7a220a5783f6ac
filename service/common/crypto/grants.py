"""Upload grants: what a page hands the browser so that it can add files to one case.

With JavaScript on, files are sealed in the browser (``service/server/web/static/upload.js``)
and uploaded through the JSON API's resumable uploads. The API ties an upload to a case
by the ``lookup_id`` that the token derives with Argon2id (64 MiB). The page could do
that derivation itself only with libsodium's "sumo" build, a 64 MiB allocation and many
seconds of pure-JavaScript Argon2id in Tor Browser; and putting the server's
``lookup_id`` in the page would hand it a permanent key that also reads the case's
status and replies. Instead the server, which has just derived from the token to show
the page (token, status and "files received" pages), gives the page a grant:

    FormStateKey.seal(case ref (16 bytes), context = "aryz-upload-grant-v1"),
    with the state secret's "upload-grant" purpose

- It lets its holder add sealed items to that one case and do nothing else: no status,
  no replies, no token, no lookup id. The page that carries it already shows the token,
  which can do all that and more, so the grant weakens nothing.
- It is sealed with a key of the deployment's state secret (its own purpose, never the
  form-state key), so it is opaque and unforgeable, and it opens on every instance that
  shares the secret (ARYZ_STATE_SECRET_FILE; without it, in this process only, and a
  restart kills it). Only that secret makes or opens one.
- It expires after ``GRANT_HOURS``: an old page found in a browser's memory cannot keep
  adding items to the case.
- The upload itself is still checked like any API upload: sealed to the coalition's
  current keys, framing consistent with its length.
"""

from __future__ import annotations

from service.common.crypto.formstate import FormStateKey
from service.common.errors import FormStateError, UploadGrantError

__all__ = ["GRANTS", "GRANT_HOURS", "issue_grant", "open_grant"]

GRANT_HOURS = 6
GRANTS = b"upload-grant"
CONTEXT = b"aryz-upload-grant-v1"
REF_LEN = 16


def issue_grant(key: FormStateKey, case_ref: bytes) -> str:
    """A grant to add items to the case with reference ``case_ref`` (ASCII)."""
    if len(case_ref) != REF_LEN:
        raise ValueError("a case reference is 16 bytes")
    return key.seal(case_ref, context=CONTEXT)


def open_grant(key: FormStateKey, grant: str) -> bytes:
    """The case reference in ``grant``; :class:`UploadGrantError` for anything else."""
    try:
        ref = key.open(grant, context=CONTEXT)
    except FormStateError:
        raise UploadGrantError() from None
    if len(ref) != REF_LEN:
        raise UploadGrantError()
    return ref
