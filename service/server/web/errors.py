"""One place that turns every failure into a fixed, translated, non-echoing response.

HTML for the site, JSON for the API. No stack trace, no input, no id ever appears; FastAPI's
default validation error (which echoes the input back) is replaced.
"""

from __future__ import annotations

import logging
import time

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response

from service.common.errors import AryzError, FormError, NotFoundError, StorageFullError
from service.common.i18n import DEFAULT_LANGUAGE, LANGUAGES
from service.common.webkit.security import REQUEST_EVENTS, SECURITY_HEADERS
from service.server.web.render import page

log = logging.getLogger("aryz")


def _language(request: Request) -> str:
    first = request.url.path.strip("/").split("/", 1)[0]
    return first if first in LANGUAGES else DEFAULT_LANGUAGE


def _is_api(request: Request) -> bool:
    # The JSON API and the courier API (its own app, see create_courier_app) answer JSON.
    return request.url.path.startswith(("/api/", "/courier/"))


def _max_files(request: Request) -> int | None:
    runtime = getattr(request.app.state, "runtime", None)
    return runtime.settings.max_files_per_request if runtime is not None else None


def render_error(request: Request, error: AryzError) -> Response:
    response: Response
    if _is_api(request):
        response = JSONResponse(
            {"error": error.code, "message": error.message}, status_code=error.http_status
        )
    else:
        response = page(
            "error.html",
            _language(request),
            {"code": error.code, "max_files": _max_files(request)},
            status_code=error.http_status,
        )
    # The handler for unexpected exceptions runs in Starlette's outermost error
    # middleware, outside SecurityMiddleware, so the headers are set here as well.
    for name, value in SECURITY_HEADERS:
        response.headers[name.decode()] = value.decode()
    retry_after: int | None = getattr(error, "retry_after", None)
    if retry_after is not None:
        response.headers["retry-after"] = str(retry_after)
    return response


async def _aryz_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AryzError)  # noqa: S101 - registered for AryzError only
    if isinstance(exc, StorageFullError):
        _storage_full()
    elif exc.http_status >= 500:
        # The class name only: messages and causes may carry driver text.
        log.error("request failed: %s", type(exc).__name__)
    return render_error(request, exc)


_FULL_NOTICE_EVERY = 3600.0  # seconds between two "storage bound reached" lines
_last_full_notice: float | None = None


def _storage_full() -> None:
    """The operator must learn that uploads are refused, but an attacker at the bound
    must not turn that into a log flood: one fixed line an hour at most, counted always."""
    global _last_full_notice
    REQUEST_EVENTS["storage_full"] += 1
    now = time.monotonic()
    if _last_full_notice is None or now - _last_full_notice >= _FULL_NOTICE_EVERY:
        _last_full_notice = now
        log.warning("storage bound reached: new uploads are refused (see ARYZ_MIN_FREE_BYTES)")


async def _validation_error(request: Request, _exc: Exception) -> Response:
    return render_error(request, FormError())


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if status == 404:
        return render_error(request, NotFoundError())
    error = AryzError()
    error.http_status = status if 400 <= status < 600 else 500
    error.code = "http"
    return render_error(request, error)


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.error("unexpected failure: %s", type(exc).__name__)
    return render_error(request, AryzError())


def install(app: FastAPI) -> None:
    app.add_exception_handler(AryzError, _aryz_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
