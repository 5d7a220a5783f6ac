"""The plaintext of an answers item: one shape, whoever seals it (server form path or an
intermediary's client), so the desk reads both the same way."""

from __future__ import annotations

import json
from collections.abc import Mapping

from service.crypto.payload import encode_payload_prefix
from service.questionnaire import Questionnaire
from service.storage.clock import current_week


def answers_plaintext(
    questionnaire: Questionnaire,
    *,
    language: str,
    country: str | None,
    coalition_id: str,
    answers: Mapping[str, str],
    case_public_key: bytes,
) -> bytes:
    """Payload prefix (metadata) + JSON body, ready to seal to the coalition."""
    meta = {
        "type": "answers",
        "created": current_week(),
        "questionnaire": questionnaire.reference(),
        "case_public_key": case_public_key.hex(),
    }
    body = {
        "language": language,
        "country": country,
        "coalition": coalition_id,
        "answers": dict(answers),
    }
    encoded = json.dumps(body, ensure_ascii=False, sort_keys=True).encode("utf-8")
    return encode_payload_prefix(meta) + encoded
