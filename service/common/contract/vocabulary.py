"""The words every machine shares, each defined once: the server, the field tools, the
desk, its statistics, the templates and the specs read them from here.

- **statuses**, in workflow order (the desk sorts by it; the submitter sees the labels);
- **priorities**, lowest first (the desk's triage; never leaves the desk);
- **countries** Aryz routes (ISO 3166-1 alpha-2);
- the **token KDF**: its algorithm name, its floor, and how a case records which
  parameters made its lookup key (``kdf_id``), so the parameters can change one day
  without orphaning the cases made before.

The questionnaires' answer codes live with their definitions
(``service.common.questionnaire``) and the courier credential's file format in
``credential.py``; both are read from there, never copied.

Adding a status: add it here (label included) in its workflow place, translate the label
in every catalog (``make messages``), and add it to ``EXCHANGE-v1.md``; a desk and a
server must be upgraded together, since each refuses a status it does not know.

This module imports nothing but the translation marker, so the lightest command line
parser and the air-gapped desk can read it.
"""

from __future__ import annotations

from service.common.i18n.markers import N_

# ------------------------------------------------------------------ statuses (workflow)
STATUS_LABELS: dict[str, str] = {
    "received": N_("Received"),
    "under_review": N_("Under review"),
    "will_contact": N_("We will contact you"),
    "need_info": N_("We need more information"),
    "referred": N_("Referred to a lawyer"),
    "closed": N_("Closed"),
}
STATUSES: tuple[str, ...] = tuple(STATUS_LABELS)  # the workflow, in order
INITIAL_STATUS = STATUSES[0]  # what the server says until the coalition answers

# ------------------------------------------------------------------ priorities (desk only)
PRIORITY_LABELS: dict[str, str] = {
    "low": N_("Low"),
    "normal": N_("Normal"),
    "high": N_("High"),
    "urgent": N_("Urgent"),
}
PRIORITIES: tuple[str, ...] = tuple(PRIORITY_LABELS)  # lowest first
DEFAULT_PRIORITY = PRIORITIES[1]

# ------------------------------------------------------------------ countries
# Display names are translated when shown. Karakalpakstan is part of Uzbekistan's routing.
COUNTRIES: dict[str, str] = {
    "KZ": N_("Kazakhstan"),
    "KG": N_("Kyrgyzstan"),
    "TJ": N_("Tajikistan"),
    "UZ": N_("Uzbekistan (including Karakalpakstan)"),
    "TM": N_("Turkmenistan"),
}
COUNTRY_CODES: tuple[str, ...] = tuple(COUNTRIES)

# ------------------------------------------------------------------ the token KDF
TOKEN_KDF_ALGORITHM = "argon2id13"  # noqa: S105 - libsodium's ALG_ARGON2ID13, not a secret
# The floor the security brief sets for production (SECURITY.md guarantee 4): settings
# below it are refused unless the server runs in its explicit demo/test mode.
TOKEN_KDF_OPSLIMIT_FLOOR = 3
TOKEN_KDF_MEMLIMIT_FLOOR = 64 * 1024 * 1024


def kdf_id(opslimit: int, memlimit: int) -> str:
    """The name a case records for the parameters that made its lookup key, e.g.
    ``argon2id13:3:67108864``: algorithm, passes, bytes of memory."""
    return f"{TOKEN_KDF_ALGORITHM}:{opslimit}:{memlimit}"


def parse_kdf_id(value: str) -> tuple[int, int]:
    """``(opslimit, memlimit)`` of a recorded ``kdf_id``; ``ValueError`` for any other
    algorithm or shape (a case whose key no code of this version can re-derive)."""
    algorithm, ops, mem = value.split(":")
    if algorithm != TOKEN_KDF_ALGORITHM or not ops.isdecimal() or not mem.isdecimal():
        raise ValueError(value)
    return int(ops), int(mem)
