"""One place that turns every failure into a fixed, translated, non-echoing response.

HTML for the site, JSON for the API. No stack trace, no input, no id ever appears; FastAPI's
default validation error (which echoes the input back) is replaced.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response

from service.common.errors import AryzError, FormError, NotFoundError
from service.common.i18n import DEFAULT_LANGUAGE, LANGUAGES
from service.common.webkit.security import SECURITY_HEADERS
from service.server.web.render import page

log = logging.getLogger("aryz")


def _language(request: Request) -> str:
    first = request.url.path.strip("/").split("/", 1)[0]
    return first if first in LANGUAGES else DEFAULT_LANGUAGE


def _is_api(request: Request) -> bool:
    # The JSON API and the courier API (its own app, see create_courier_app) answer JSON.
    return request.url.path.startswith(("/api/", "/courier/"))


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
            {"code": error.code},
            status_code=error.http_status,
        )
    # The handler for unexpected exceptions runs in Starlette's outermost error
    # middleware, outside SecurityMiddleware, so the headers are set here as well.
    for name, value in SECURITY_HEADERS:
        response.headers[name.decode()] = value.decode()
    return response


async def _aryz_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AryzError)  # noqa: S101 - registered for AryzError only
    if exc.http_status >= 500:
        # The class name only: messages and causes may carry driver text.
        log.error("request failed: %s", type(exc).__name__)
    return render_error(request, exc)


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
