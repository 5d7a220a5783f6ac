"""What a request handler needs, built once in ``create_app`` and reached through ``Annotated``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from service.common.contract.vocabulary import kdf_id
from service.common.crypto.formstate import FormStateKey
from service.common.crypto.grants import GRANT_HOURS, GRANTS
from service.common.crypto.token import Deriver, KdfLimits
from service.server.cases.limits import CaseBucket
from service.server.registry.logic import Registry
from service.server.settings import Settings
from service.server.storage.quota import Reservations


@dataclass
class Runtime:
    settings: Settings
    registry: Registry
    engine: Engine
    sessions: sessionmaker[Session]
    deriver: Deriver
    # Seals the answers of earlier form steps into the page, with the deployment's state
    # secret (ARYZ_STATE_SECRET_FILE, every instance) or one of this process alone.
    form_state: FormStateKey = field(default_factory=FormStateKey)
    # Seals the upload grants pages hand the browser-side sealing script (service/common/
    # crypto/grants.py); its own purpose, so a grant can never be read as form state or back.
    upload_grants: FormStateKey = field(
        default_factory=lambda: FormStateKey(max_age_hours=GRANT_HOURS, purpose=GRANTS)
    )
    # Request bodies in flight that storage bounds count (service/server/storage/quota.py).
    reservations: Reservations = field(default_factory=Reservations)

    # The global bucket of new API cases (service/server/cases/limits.py), made on first use.
    api_cases: CaseBucket | None = None

    def api_case_bucket(self) -> CaseBucket:
        if self.api_cases is None:
            self.api_cases = CaseBucket(
                self.settings.api_case_burst, self.settings.api_cases_per_hour
            )
        return self.api_cases

    @property
    def kdf_limits(self) -> KdfLimits:
        return KdfLimits(self.settings.kdf_opslimit, self.settings.kdf_memlimit)

    @property
    def kdf(self) -> str:
        """What a new case records as the parameters of its lookup key (cases.kdf)."""
        return kdf_id(self.settings.kdf_opslimit, self.settings.kdf_memlimit)


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
