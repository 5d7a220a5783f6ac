"""Every questionnaire this code can read, and the one new reports use.

A questionnaire stays here after it is replaced: old answer sets name it (id, version,
hash), and the desk reads them with the definition they were given to.
"""

from __future__ import annotations

from collections.abc import Mapping

from service.common.questionnaire import Questionnaire
from service.common.questionnaire.basic import BASIC
from service.common.questionnaire.istanbul import ISTANBUL

CURRENT = ISTANBUL  # what the form asks
KNOWN: dict[tuple[str, int], Questionnaire] = {(q.id, q.version): q for q in (BASIC, ISTANBUL)}


def find(reference: Mapping[str, object] | None) -> Questionnaire | None:
    """The questionnaire an answer set names (``{"id", "version", ...}``), if known."""
    if not reference:
        return None
    qid, version = reference.get("id"), reference.get("version")
    if not isinstance(qid, str) or not isinstance(version, int) or isinstance(version, bool):
        return None
    return KNOWN.get((qid, version))
