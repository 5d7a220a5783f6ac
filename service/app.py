"""``create_app()``: the one place the intake web app and its API are wired together."""

from __future__ import annotations

import datetime as dt
import logging

from fastapi import FastAPI

from service.api.routes import router as api_router
from service.crypto.token import Deriver, KdfLimits
from service.deps import Runtime
from service.errors import ConfigError
from service.intake.routes import router as intake_router
from service.registry.logic import load_registry
from service.settings import Mode, Settings
from service.storage.clock import current_week
from service.storage.db import make_engine, make_sessionmaker, transaction
from service.storage.items import sweep_unfinished
from service.storage.migrate import is_current
from service.web import errors
from service.web.security import BodyLimitMiddleware, SecurityMiddleware


def configure_logging() -> None:
    """Warnings and errors only, from our own fixed messages; no access log exists.

    Security brief item 8: there are no IPs behind Tor and we keep it so; tokens, ids,
    filenames and bodies never reach a log line.
    """
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("uvicorn.access",):
        logging.getLogger(noisy).disabled = True


def build_runtime(settings: Settings) -> Runtime:
    """Check everything the server needs before it accepts a single request."""
    settings.check()
    registry = load_registry(
        settings.resolved_registry_path, allow_demo=settings.mode is not Mode.PRODUCTION
    )
    engine = make_engine(settings.resolved_database_url)
    if not is_current(engine, settings.resolved_database_url):
        engine.dispose()
        raise ConfigError("The database schema is not current: run 'aryz db upgrade' first.")
    deriver = Deriver(
        KdfLimits(settings.kdf_opslimit, settings.kdf_memlimit),
        max_concurrent=settings.kdf_concurrency,
        max_waiting=settings.kdf_max_waiting,
    )
    runtime = Runtime(settings, registry, engine, make_sessionmaker(engine), deriver)
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


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> FastAPI:
    if runtime is None:
        runtime = build_runtime(settings or Settings())
    settings = runtime.settings
    # API docs are for developers: served only outside production, and never the
    # Swagger/ReDoc pages, which load scripts from third-party hosts.
    app = FastAPI(
        title="Aryz",
        version="1",
        docs_url=None,
        redoc_url=None,
        openapi_url=None if settings.is_production else "/api/openapi.json",
    )
    app.state.runtime = runtime
    app.include_router(api_router)
    app.include_router(intake_router)
    errors.install(app)
    app.add_middleware(
        BodyLimitMiddleware,
        small=settings.max_answers_bytes * 2,
        upload=settings.max_submission_bytes,
    )
    app.add_middleware(SecurityMiddleware, allowed_hosts=settings.allowed_hosts)
    return app
