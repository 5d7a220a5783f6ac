"""The one dependency the desk's routes share: the desk unlocked at start-up."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from service.desk.casework.desk import Desk


def _desk(request: Request) -> Desk:
    desk: Desk = request.app.state.desk
    return desk


DeskDep = Annotated[Desk, Depends(_desk)]
