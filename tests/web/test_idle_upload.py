"""A client that stops sending mid-upload is cut off after the idle timeout; the case and
its earlier items are untouched, and nothing half-stored becomes visible."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import httpx
from fastapi.testclient import TestClient

from service.server.app import create_app
from service.server.deps import Runtime
from service.server.models import Item
from tests.support import count, file_report


def test_stalled_upload_is_cut_off_and_loses_nothing(client: TestClient, runtime: Runtime) -> None:
    token = file_report(client, narrative="kept")
    runtime.settings = runtime.settings.model_copy(update={"body_idle_timeout": 0.5})
    app = create_app(runtime=runtime)

    async def stalled_body() -> AsyncIterator[bytes]:
        yield (
            b'--b\r\nContent-Disposition: form-data; name="token"\r\n\r\n'
            + token.encode()
            + b'\r\n--b\r\nContent-Disposition: form-data; name="file"; filename="v"'
            b"\r\n\r\n" + b"x" * 200_000
        )
        await anyio.sleep(30)  # the client goes silent; the server must not wait this long
        yield b"never sent"

    async def run() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            with anyio.fail_after(10):
                return await c.post(
                    "/en/case/files",
                    content=stalled_body(),
                    headers={"Content-Type": "multipart/form-data; boundary=b"},
                )

    response = anyio.run(run)
    assert response.status_code == 400
    assert "Whatever you sent before this was kept." in response.text
    assert count(runtime, Item) == 1
    assert count(runtime, Item, Item.state == "pending") == 0


def test_a_small_body_trickled_inside_the_idle_timeout_is_cut_at_its_deadline(
    client: TestClient, runtime: Runtime
) -> None:
    # Attack F2 / the documented limit: a byte just inside every idle timeout held a
    # connection for ever. Small bodies now have a deadline as a whole.
    runtime.settings = runtime.settings.model_copy(
        update={"body_idle_timeout": 1.0, "small_body_timeout": 2.0}
    )
    app = create_app(runtime=runtime)
    sent = 0

    async def trickle() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(40):  # 20 s in all, each byte well inside the idle timeout
            sent += 1
            yield b"t"
            await anyio.sleep(0.5)

    async def run() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            with anyio.fail_after(15):
                return await c.post(
                    "/en/status",
                    content=trickle(),
                    headers={"Content-Type": "application/x-www-form-urlencoded"},
                )

    response = anyio.run(run)
    assert response.status_code == 400
    assert sent < 40
