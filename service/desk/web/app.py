"""The desk's web app, wired once: routes, fixed error pages, Host and origin checks.

Why it is built this way:

- It listens on 127.0.0.1 only (:func:`serve` refuses anything else). The decrypted
  cases must never be reachable from a network, not even a "trusted" office one.
- It answers only to ``127.0.0.1:PORT`` and ``localhost:PORT`` (DNS rebinding: a web
  page elsewhere cannot make the browser talk to it under another name), and refuses a
  POST from another site: a page open in another tab cannot change a case.
- The intake's security headers: a strict CSP with no script, ``no-store`` (decrypted
  pages are not kept in the browser's cache), ``no-referrer``; no Server, Date or ETag.
- Every failure becomes a fixed page chosen by an error code; nothing typed or stored is
  echoed, and no traceback reaches the page or the terminal (an exception's text may hold
  decrypted data: only its class name is logged).
"""

from __future__ import annotations

import logging
import threading

import uvicorn
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.common.errors import AryzError, FormError, NotFoundError
from service.common.webkit.security import SecurityMiddleware
from service.desk.casework.desk import Desk
from service.desk.errors import (
    CaseRefError,
    ForeignBundleError,
    ItemNotFoundError,
    OutboxPathError,
    ReplyError,
    StripError,
    TriageError,
)
from service.desk.web.errors import LoopbackOnlyError
from service.desk.web.guard import DeskGuard, Gate
from service.desk.web.routes import chrome, language_of, router
from service.desk.web.settings import DEFAULT_PORT, LOOPBACK, check_port
from service.desk.web.stats_routes import router as stats_router

log = logging.getLogger("aryz.desk.web")


def allowed_hosts(port: int) -> list[str]:
    return [f"{LOOPBACK}:{port}", f"localhost:{port}"]


def create_desk_app(desk: Desk, port: int = DEFAULT_PORT, gate: Gate | None = None) -> FastAPI:
    """The desk's pages over an unlocked ``desk``, for a browser on this laptop.

    ``gate`` holds this launch's secret (:mod:`service.desk.web.guard`); a new one is
    made when none is given (``app.state.gate.login_path`` is the way in).
    """
    app = FastAPI(title="Aryz desk", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.desk = desk
    app.state.gate = gate if gate is not None else Gate(desk.directory)
    app.include_router(router)
    app.include_router(stats_router)
    app.add_exception_handler(AryzError, _aryz_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    # Innermost first: the fallback's 500 page still passes through the security headers.
    app.add_middleware(_Fallback)
    # The door: after the Host check, before any page; its refusals get the headers too.
    app.add_middleware(DeskGuard, gate=app.state.gate, hosts=allowed_hosts(port))
    app.add_middleware(SecurityMiddleware, allowed_hosts=allowed_hosts(port))
    return app


def serve(
    desk: Desk, port: int = DEFAULT_PORT, host: str = LOOPBACK, gate: Gate | None = None
) -> bool:
    """Serve the desk until Ctrl-C (or SIGTERM), on ``127.0.0.1:port`` and nowhere else.

    Stops by itself when ``gate`` locks after idle time; returns True then.
    """
    if host != LOOPBACK:
        raise LoopbackOnlyError()
    check_port(port)
    gate = gate if gate is not None else Gate(desk.directory)
    config = uvicorn.Config(
        create_desk_app(desk, port, gate),
        host=LOOPBACK,
        port=port,
        # No access log (it would list case references), no Server or Date header.
        access_log=False,
        server_header=False,
        date_header=False,
        proxy_headers=False,
        log_level="warning",
        timeout_keep_alive=30,
        lifespan="off",
    )
    server = uvicorn.Server(config)
    stopped = threading.Event()

    def watch() -> None:
        while not stopped.wait(1.0):
            if gate.locked:
                server.should_exit = True
                return

    watcher = threading.Thread(target=watch, name="aryz-desk-idle", daemon=True)
    watcher.start()
    try:
        server.run()
    finally:
        stopped.set()
    return gate.locked


# --- errors ---------------------------------------------------------------------------

# The desk's errors are made for the command line (no HTTP status); the page's status.
_NOT_FOUND = (CaseRefError, ItemNotFoundError)
_REFUSED = (TriageError, ReplyError, OutboxPathError, ForeignBundleError, StripError)


def status_of(error: AryzError) -> int:
    if isinstance(error, _NOT_FOUND):
        return 404
    if isinstance(error, _REFUSED):
        return 400
    return error.http_status


def error_page(request: Request, error: AryzError) -> Response:
    from service.desk.web.render import page

    desk: Desk = request.app.state.desk
    context = {**chrome(desk), "code": error.code, "here": ""}
    return page("error.html", language_of(request.url.path), context, status_code=status_of(error))


async def _aryz_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AryzError)  # noqa: S101 - registered for AryzError only
    if status_of(exc) >= 500:
        log.error("desk page failed: %s", type(exc).__name__)
    return error_page(request, exc)


async def _validation_error(request: Request, _exc: Exception) -> Response:
    return error_page(request, FormError())


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if status == 404:
        return error_page(request, NotFoundError())
    error = AryzError()
    error.code = "http"
    error.http_status = status if 400 <= status < 600 else 500
    return error_page(request, error)


class _Fallback:
    """Turns an unexpected exception into the fixed 500 page, inside the security
    middleware (Starlette's own last-resort handler sits outside every middleware, so its
    page would lack the security headers) and without a traceback on the terminal."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as exc:  # noqa: BLE001 - the last resort: every failure gets a page
            log.error("desk page failed: %s", type(exc).__name__)
            if started:
                return  # half a response is out; the browser shows it as cut off
            await error_page(Request(scope), AryzError())(scope, receive, send)
