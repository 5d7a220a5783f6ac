"""Every questionnaire this code can read, and the one new reports use.

A questionnaire stays here after it is replaced: old answer sets name it (id, version,
hash), and the desk reads them with the definition they were given to.

``KNOWN`` is the registry every consumer handles explicitly, keyed by ``(id, version)``:
the statistics' facts and consent (``service.desk.stats.facts.READERS``) and the case
list's "still detained?" (``service.desk.inbox.importer.DETAINED``).
``tests/questionnaire/test_versions.py`` fails for a registered version a consumer does
not handle; on the desk, a case whose questionnaire is not registered is counted apart
and shown with a warning, never as "no consent".

Adding a question means a new version: define it (``istanbul.py`` says how), add it to
``KNOWN`` (and make it ``CURRENT``), then give each consumer its reader.
"""

from __future__ import annotations

from collections.abc import Mapping

from service.common.questionnaire import Questionnaire
from service.common.questionnaire.basic import BASIC
from service.common.questionnaire.istanbul import ISTANBUL, ISTANBUL_V2

CURRENT = ISTANBUL_V2  # what the form asks
KNOWN: dict[tuple[str, int], Questionnaire] = {
    (q.id, q.version): q for q in (BASIC, ISTANBUL, ISTANBUL_V2)
}


def key_of(reference: Mapping[str, object] | None) -> tuple[str, int] | None:
    """``(id, version)`` of an answer set's questionnaire reference, if well formed."""
    if not reference:
        return None
    qid, version = reference.get("id"), reference.get("version")
    if not isinstance(qid, str) or not isinstance(version, int) or isinstance(version, bool):
        return None
    return qid, version


def find(reference: Mapping[str, object] | None) -> Questionnaire | None:
    """The questionnaire an answer set names (``{"id", "version", ...}``), if known."""
    key = key_of(reference)
    return KNOWN.get(key) if key is not None else None
