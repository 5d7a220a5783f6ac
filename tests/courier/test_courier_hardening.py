"""The courier app answers every status code with the same security headers as the
public app (but the strict CSP: it serves no script at all), never a Server/Date/ETag
header, and echoes nothing it was sent."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from service.common.webkit.security import STRICT_CSP
from service.server.app import create_courier_app
from service.server.deps import Runtime
from tests.courier.helpers import PREFIX, Courier
from tests.support import file_report
from tests.web.test_hardening import CANARY, _check_headers, _echoes

STRICT = STRICT_CSP.decode()


def test_every_courier_status_code_carries_the_security_headers(
    courier_app: TestClient, client: TestClient, kz_courier: Courier, runtime: Runtime
) -> None:
    file_report(client)
    bundle = kz_courier.prepare()["bundle"]
    answers = {
        200: courier_app.post(f"{PREFIX}/challenge"),
        206: kz_courier.fetch(bundle, 1),
        401: courier_app.post(f"{PREFIX}/outbox", content=b"{}"),
        404: courier_app.get(f"{PREFIX}/nothing"),
        405: courier_app.delete(f"{PREFIX}/challenge"),
        416: kz_courier.request("GET", f"{PREFIX}/bundles/{bundle}", headers={"range": "x"}),
        400: courier_app.post(f"{PREFIX}/challenge", headers={"Host": "public.example"}),
        413: courier_app.post(
            f"{PREFIX}/outbox", content=b"x", headers={"Content-Length": "99999999999"}
        ),
    }
    app = create_courier_app(runtime)

    async def broken() -> None:
        raise RuntimeError("SECRET-DETAIL")

    app.add_api_route(f"{PREFIX}/broken", broken)
    with TestClient(app, raise_server_exceptions=False) as c:
        answers[500] = c.get(f"{PREFIX}/broken")
    for status, response in answers.items():
        assert response.status_code == status, (status, response.text)
        _check_headers(response, csp=STRICT)
    assert "SECRET-DETAIL" not in answers[500].text


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("GET", f"{PREFIX}/bundles/{CANARY}?{CANARY}=1", {"headers": {"User-Agent": CANARY}}),
        ("GET", f"/{CANARY}", {"headers": {"Cookie": f"{CANARY}=1", "Referer": CANARY}}),
        (
            "POST",
            f"{PREFIX}/outbox",
            {"content": CANARY.encode(), "headers": {"Authorization": f"Aryz-Courier {CANARY}"}},
        ),
        (
            "POST",
            f"{PREFIX}/bundles",
            {"json": {"max_bytes": CANARY}, "headers": {"Authorization": CANARY}},
        ),
        ("POST", f"{PREFIX}/challenge", {"headers": {"Host": f"{CANARY}.onion"}}),
        ("PUT", f"{PREFIX}/{CANARY}", {"headers": {f"X-{CANARY}": CANARY}}),
    ],
)
def test_courier_errors_echo_nothing(
    courier_app: TestClient, method: str, path: str, kwargs: dict[str, object]
) -> None:
    response = courier_app.request(method, path, **kwargs)  # type: ignore[arg-type]
    assert response.status_code >= 400
    assert _echoes(response) == []
    _check_headers(response, csp=STRICT)


def test_a_signed_request_with_canaries_in_the_body_echoes_nothing(kz_courier: Courier) -> None:
    for body in (
        CANARY.encode(),
        f'{{"format": "{CANARY}"}}'.encode(),
        b'{"max_bytes": "' + CANARY.encode() + b'"}',
    ):
        for path in (f"{PREFIX}/outbox", f"{PREFIX}/bundles"):
            response = kz_courier.request("POST", path, body)
            assert response.status_code >= 400
            assert _echoes(response) == []
