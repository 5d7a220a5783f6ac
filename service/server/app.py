"""``create_app()`` wires the intake web app and its API; ``create_courier_app()`` the
courier API, a separate app on its own listener (for the staff onion). Both share one
``Runtime`` when served together (``service.server.cli.serve``)."""

from __future__ import annotations

import datetime as dt
import logging

from fastapi import APIRouter, FastAPI
from sqlalchemy.exc import SQLAlchemyError

from service.common.clock import current_week
from service.common.crypto.formstate import FormStateKey, StateSecret
from service.common.crypto.grants import GRANT_HOURS, GRANTS
from service.common.crypto.token import Deriver, KdfLimits
from service.common.errors import ConfigError
from service.common.webkit.head import HeadAsGetMiddleware
from service.common.webkit.security import (
    INTAKE_CSP,
    STRICT_CSP,
    BodyLimitMiddleware,
    SecurityMiddleware,
    UploadRoom,
)
from service.server.api.routes import router as api_router
from service.server.courier.retention import expire_imported
from service.server.courier.routes import router as courier_router
from service.server.courier.schemas import MAX_OUTBOX_BYTES
from service.server.deps import Runtime
from service.server.intake.routes import router as intake_router
from service.server.registry.logic import load_registry
from service.server.settings import Mode, Settings
from service.server.storage.db import make_engine, make_sessionmaker, transaction
from service.server.storage.items import sweep_unfinished
from service.server.storage.migrate import is_current
from service.server.storage.quota import StorageRoom
from service.server.web import errors


def configure_logging() -> None:
    """Warnings and errors only, from our own fixed messages; no access log exists.

    SECURITY.md guarantee 8: there are no IPs behind Tor and we keep it so; tokens, ids,
    filenames and bodies never reach a log line.
    """
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("uvicorn.access",):
        logging.getLogger(noisy).disabled = True


DATABASE_UNAVAILABLE = (
    "The database cannot be opened for reading and writing: check the disk, its free space "
    "and that the data directory is writable."
)


def build_runtime(settings: Settings) -> Runtime:
    """Check everything the server needs before it accepts a single request."""
    settings.check()
    registry = load_registry(
        settings.resolved_registry_path, allow_demo=settings.mode is not Mode.PRODUCTION
    )
    engine = make_engine(settings.resolved_database_url)
    try:
        current = is_current(engine, settings.resolved_database_url)
    except SQLAlchemyError:
        # A read-only or full disk, a missing directory, a database that refuses us: say
        # so in a fixed sentence instead of a driver traceback that may quote paths.
        engine.dispose()
        raise ConfigError(DATABASE_UNAVAILABLE) from None
    if not current:
        engine.dispose()
        raise ConfigError("The database schema is not current: run 'aryz db upgrade' first.")
    deriver = Deriver(
        KdfLimits(settings.kdf_opslimit, settings.kdf_memlimit),
        max_concurrent=settings.kdf_concurrency,
        max_waiting=settings.kdf_max_waiting,
    )
    try:
        secret = StateSecret(settings.state_secret_file)
    except ConfigError:
        engine.dispose()
        raise
    runtime = Runtime(
        settings,
        registry,
        engine,
        make_sessionmaker(engine),
        deriver,
        form_state=FormStateKey(secret=secret),
        upload_grants=FormStateKey(max_age_hours=GRANT_HOURS, secret=secret, purpose=GRANTS),
    )
    sweep(runtime)
    return runtime


def sweep(runtime: Runtime) -> None:
    """Remove uploads that were cut off and can never finish (see ``sweep_unfinished``)."""
    # Weeks are coarse: an upload is stale once its whole week is older than the limit.
    cutoff_day = dt.datetime.now(dt.UTC).date() - dt.timedelta(
        days=runtime.settings.stale_upload_days + 7
    )
    with transaction(runtime.sessions) as session:
        sweep_unfinished(
            session,
            single_instance=runtime.engine.dialect.name == "sqlite",
            stale_before=current_week(cutoff_day),
        )
        expire_imported(session, runtime.settings.keep_imported_weeks)


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> FastAPI:
    """The public intake app: the no-JavaScript site and the JSON API."""
    if runtime is None:
        runtime = build_runtime(settings or Settings())
    settings = runtime.settings
    return _hardened_app(
        runtime,
        title="Aryz",
        openapi_url="/api/openapi.json",
        routers=(api_router, intake_router),
        allowed_hosts=settings.allowed_hosts,
        small=settings.max_answers_bytes * 2,
        upload=settings.max_submission_bytes,
        csp=INTAKE_CSP,
        room=StorageRoom(runtime.sessions, settings, runtime.reservations),
        # The courier app has none: its outboxes are authenticated and up to 64 MiB.
        small_timeout=settings.small_body_timeout,
    )


def create_courier_app(runtime: Runtime) -> FastAPI:
    """The courier API alone: bundles out, signed outboxes in.

    Its own app, so the public intake listener has no route to it at all; it is meant for
    a separate onion service with client authorisation (SECURITY.md guarantee 10), and it
    answers only to ``ARYZ_COURIER_ALLOWED_HOSTS`` (empty: every request refused). The
    same security headers and non-echoing JSON errors as the intake app.
    """
    return _hardened_app(
        runtime,
        title="Aryz courier",
        openapi_url="/courier/openapi.json",
        routers=(courier_router,),
        allowed_hosts=runtime.settings.courier_allowed_hosts,
        # Only an outbox is large; every route also reads its body with its own cap.
        small=MAX_OUTBOX_BYTES,
        upload=MAX_OUTBOX_BYTES,
    )


def _hardened_app(
    runtime: Runtime,
    *,
    title: str,
    openapi_url: str,
    routers: tuple[APIRouter, ...],
    allowed_hosts: list[str],
    small: int,
    upload: int,
    csp: bytes = STRICT_CSP,
    room: UploadRoom | None = None,
    small_timeout: float | None = None,
) -> FastAPI:
    """One app with the security wiring every listener shares: Host and origin checks,
    security headers, body caps and the fixed, non-echoing error responses."""
    # API docs are for developers: served only outside production, and never the
    # Swagger/ReDoc pages, which load scripts from third-party hosts.
    app = FastAPI(
        title=title,
        version="1",
        docs_url=None,
        redoc_url=None,
        openapi_url=None if runtime.settings.is_production else openapi_url,
    )
    app.state.runtime = runtime
    for router in routers:
        app.include_router(router)
    errors.install(app)
    app.add_middleware(
        BodyLimitMiddleware,
        small=small,
        upload=upload,
        idle_timeout=runtime.settings.body_idle_timeout,
        small_timeout=small_timeout,
        room=room,
    )
    app.add_middleware(SecurityMiddleware, allowed_hosts=allowed_hosts, csp=csp)
    app.add_middleware(HeadAsGetMiddleware)
    return app
