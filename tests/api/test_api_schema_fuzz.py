"""Schema-driven fuzzing of the intake API (schemathesis) in test mode: every operation of
the app's own OpenAPI document, 25 derandomised examples each. No request may get a 5xx,
and every answer must match the schema (status code, content type, body shape).
``make prove`` runs many more (tests/prove/step_schemathesis.py)."""

from __future__ import annotations

from service.server.app import create_app
from service.server.deps import Runtime
from tests.api.schema_fuzz import fuzz_api

EXAMPLES = 25


def test_api_answers_every_generated_request_within_its_schema(runtime: Runtime) -> None:
    result = fuzz_api(create_app(runtime=runtime), EXAMPLES)
    assert result.operations >= 5
    assert result.requests >= result.operations * 5
    assert result.failures == []
