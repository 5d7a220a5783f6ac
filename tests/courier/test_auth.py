"""Courier authentication: one-time challenges, signatures over method, path and body,
one fixed 401 whatever was wrong; the courier app is its own listener."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from service.common.crypto.keys import generate_signing_keypair, key_id
from service.server.app import build_runtime, create_courier_app
from service.server.courier import auth
from service.server.deps import Runtime
from service.server.models import CourierChallenge
from service.server.settings import Mode
from tests.conftest import TEST_PEPPER, make_settings
from tests.courier.helpers import PREFIX, Courier, DeskKeys

BUNDLES = f"{PREFIX}/bundles"
REFUSED = {"error": "courier_auth", "message": "The request is not authorised."}


def test_a_challenge_works_once(kz_courier: Courier) -> None:
    challenge = kz_courier.challenge()
    first = kz_courier.request("POST", BUNDLES, challenge=challenge)
    assert first.status_code == 200
    # The same challenge, freshly and correctly signed again: a replay.
    again = kz_courier.request("POST", BUNDLES, challenge=challenge)
    assert again.status_code == 401
    assert again.json() == REFUSED


def test_a_failed_attempt_spends_the_challenge(kz_courier: Courier) -> None:
    challenge = kz_courier.challenge()
    bad = kz_courier.request("POST", BUNDLES, b"{}", challenge=challenge, signed_body=b"")
    assert bad.status_code == 401
    good = kz_courier.request("POST", BUNDLES, challenge=challenge)
    assert good.status_code == 401


def test_challenges_are_stored_hashed(kz_courier: Courier, runtime: Runtime) -> None:
    challenge = kz_courier.challenge()
    with runtime.sessions() as session:
        digests = session.scalars(select(CourierChallenge.digest)).all()
    assert len(digests) == 1
    assert challenge not in digests[0]


def test_unknown_credential_is_refused(courier_app: TestClient) -> None:
    stranger = generate_signing_keypair()
    courier = Courier(courier_app, stranger.seed, key_id(stranger.verify))
    response = courier.request("POST", BUNDLES)
    assert response.status_code == 401
    assert response.json() == REFUSED


def test_the_coalition_signing_key_is_no_courier_key(courier_app: TestClient, kz: DeskKeys) -> None:
    # Right seed for the wrong role: the desk's signing key does not open the courier API.
    courier = Courier(courier_app, kz.signing_seed, kz.courier_key_id)
    assert courier.request("POST", BUNDLES).status_code == 401


def test_revoked_credential_is_refused(
    tmp_path: Path, database_url: str, registry_dir: Path, kz: DeskKeys, kg: DeskKeys
) -> None:
    text = (registry_dir / "registry.toml").read_text()
    revoked = text.replace('label = "demo courier"', 'label = "demo courier"\nrevoked = true', 1)
    assert revoked != text
    (tmp_path / "registry.toml").write_text(revoked)
    (tmp_path / "desk-keys").mkdir()
    settings = make_settings(tmp_path, database_url, tmp_path, courier_allowed_hosts=["testserver"])
    runtime = build_runtime(settings)
    try:
        with TestClient(create_courier_app(runtime)) as client:
            # The first coalition in the demo registry is kz-coalition: its courier is out.
            response = Courier(client, kz.courier_seed, kz.courier_key_id).request("POST", BUNDLES)
            assert response.status_code == 401
            assert response.json() == REFUSED
            # Another coalition's courier, not revoked, still gets in.
            other = Courier(client, kg.courier_seed, kg.courier_key_id).request("POST", BUNDLES)
            assert other.status_code == 200
    finally:
        runtime.engine.dispose()


@pytest.mark.parametrize(
    "tamper",
    ["body", "path", "method", "header", "signature", "challenge"],
)
def test_every_kind_of_bad_request_gets_the_same_answer(
    kz_courier: Courier, courier_app: TestClient, tamper: str
) -> None:
    challenge = kz_courier.challenge()
    body = b'{"max_bytes": 1000000}'
    header = kz_courier.header("POST", BUNDLES, challenge, body)
    if tamper == "body":
        header = kz_courier.header("POST", BUNDLES, challenge, b"{}")
    elif tamper == "path":
        header = kz_courier.header("POST", f"{PREFIX}/outbox", challenge, body)
    elif tamper == "method":
        header = kz_courier.header("GET", BUNDLES, challenge, body)
    elif tamper == "header":
        header = header.replace("Aryz-Courier", "Bearer")
    elif tamper == "signature":
        header = header[:-2] + ("00" if not header.endswith("00") else "11")
    elif tamper == "challenge":
        header = kz_courier.header("POST", BUNDLES, bytes(32), body)
    response = courier_app.post(BUNDLES, content=body, headers={"authorization": header})
    assert response.status_code == 401
    assert response.json() == REFUSED
    assert "max_bytes" not in response.text


def test_no_authorization_header(courier_app: TestClient) -> None:
    for response in (
        courier_app.post(BUNDLES),
        courier_app.get(f"{BUNDLES}/{'ab' * 16}"),
        courier_app.post(f"{PREFIX}/outbox", content=b"{}"),
    ):
        assert response.status_code == 401
        assert response.json() == REFUSED


def test_oldest_challenges_are_swept(
    kz_courier: Courier, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(auth, "MAX_OUTSTANDING", 3)
    oldest = kz_courier.challenge()
    newer = [kz_courier.challenge() for _ in range(3)]
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(CourierChallenge)) == 3
    assert kz_courier.request("POST", BUNDLES, challenge=oldest).status_code == 401
    assert kz_courier.request("POST", BUNDLES, challenge=newer[0]).status_code == 200


def test_wrong_host_is_refused(courier_app: TestClient) -> None:
    response = courier_app.post(f"{PREFIX}/challenge", headers={"Host": "public.onion"})
    assert response.status_code == 400
    assert response.headers["referrer-policy"] == "no-referrer"


def test_empty_courier_hosts_refuse_everything(
    tmp_path: Path, database_url: str, registry_dir: Path
) -> None:
    runtime = build_runtime(make_settings(tmp_path, database_url, registry_dir))
    try:
        with TestClient(create_courier_app(runtime)) as client:
            assert client.post(f"{PREFIX}/challenge").status_code == 400
    finally:
        runtime.engine.dispose()


def test_the_two_apps_do_not_share_routes(client: TestClient, courier_app: TestClient) -> None:
    assert client.post(f"{PREFIX}/challenge").status_code == 404
    assert courier_app.get("/en/").status_code == 404
    assert courier_app.get("/api/v1/info").status_code == 404
    missing = courier_app.get(f"{PREFIX}/nothing")
    assert missing.status_code == 404
    assert missing.json()["error"] == "not_found"


def test_security_headers_and_no_openapi_in_production(
    courier_app: TestClient, tmp_path: Path, database_url: str, registry_dir: Path
) -> None:
    response = courier_app.post(f"{PREFIX}/challenge")
    for header in ("server", "date", "etag"):
        assert header not in response.headers
    assert response.headers["cache-control"] == "no-store"
    assert courier_app.get("/courier/openapi.json").status_code == 200
    settings = make_settings(
        tmp_path, database_url, registry_dir, courier_allowed_hosts=["testserver"]
    )
    runtime = build_runtime(settings)
    runtime.settings = settings.model_copy(update={"mode": Mode.PRODUCTION})
    try:
        with TestClient(create_courier_app(runtime)) as prod:
            assert prod.get("/courier/openapi.json").status_code == 404
            assert prod.get("/docs").status_code == 404
    finally:
        runtime.engine.dispose()


def test_production_keeps_the_courier_off_the_public_onion(tmp_path: Path) -> None:
    from pydantic import SecretStr

    from service.common.errors import ConfigError
    from service.server.settings import Settings

    base = {
        "mode": Mode.PRODUCTION,
        "data_dir": tmp_path,
        "token_pepper": SecretStr(TEST_PEPPER),
        "allowed_hosts": ["public.onion"],
        "onion_keys_dir": tmp_path.parent / "onion-keys",
        "tor_control": "unix:/run/tor/control",
    }
    Settings(**base, courier_allowed_hosts=["staff.onion"]).check()  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="COURIER_ALLOWED_HOSTS"):
        Settings(**base, courier_allowed_hosts=["public.onion"]).check()  # type: ignore[arg-type]


def test_courier_hosts_from_environment_are_comma_separated(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from service.server.settings import Settings

    monkeypatch.setenv("ARYZ_COURIER_ALLOWED_HOSTS", "staff.onion, 127.0.0.1:8081")
    assert Settings().courier_allowed_hosts == ["staff.onion", "127.0.0.1:8081"]
