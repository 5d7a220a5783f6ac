"""The plaintext of an answers item: one shape, whoever seals it (server form path or an
intermediary's client), so the desk reads both the same way."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from service.common.clock import current_week
from service.common.crypto.payload import encode_payload_prefix
from service.common.questionnaire import Questionnaire
from service.common.questionnaire.answers import check_answers


def answers_plaintext(
    questionnaire: Questionnaire,
    *,
    language: str,
    country: str | None,
    coalition_id: str,
    answers: Mapping[str, Any],
    case_public_key: bytes,
    seal: Mapping[str, object] | None = None,
    urgent: Mapping[str, Any] | None = None,
) -> bytes:
    """Payload prefix (metadata) + JSON body, ready to seal to the coalition.

    The answers are checked against ``questionnaire`` first (:class:`AnswersError` if
    they do not fit): the server cannot look inside what a client seals, so the check
    has to happen here, on whichever side seals. ``seal`` holds the entries that place
    and sign the item in its case (service/common/crypto/itemseal.py). ``urgent`` (the
    urgent lane, service/common/contract/duty.py): ``{"answers": {...}, "sent": bool}``,
    the few answers the person also agreed to give the duty officer and whether a duty
    key received them; absent when the person did not give the urgent consent.
    """
    checked = check_answers(questionnaire, answers, country=country)
    meta = {
        "type": "answers",
        "created": current_week(),
        "questionnaire": questionnaire.reference(),
        "case_public_key": case_public_key.hex(),
        **(seal or {}),
    }
    body = {
        "language": language,
        "country": country,
        "coalition": coalition_id,
        "answers": checked,
    }
    if urgent is not None:
        body["urgent"] = {"answers": dict(urgent["answers"]), "sent": bool(urgent["sent"])}
    encoded = json.dumps(body, ensure_ascii=False, sort_keys=True).encode("utf-8")
    return encode_payload_prefix(meta) + encoded
