"""Intake pages. Routes parse, call the logic, render; they own the transaction boundary.

Flow (no JavaScript anywhere):
  /{lang}/            what this is, where to start
  /{lang}/safety      safety advice
  /{lang}/report      the questionnaire, one section a page (POST /{lang}/report moves
                      between them) → review → POST submit → token page
  /{lang}/case/files  add files to a case (multipart, token first, sealed as they stream)
  /{lang}/status      token → status, replies, follow-up message and files
  /{lang}/keys        each coalition's key fingerprints, so they can check us
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from service.common.contract.countries import COUNTRIES
from service.common.contract.replies import open_reply
from service.common.contract.statuses import STATUS_LABELS
from service.common.crypto.token import TokenSecrets, format_token, generate_token, parse_token
from service.common.errors import (
    FormError,
    FormStateError,
    NotFoundError,
    TokenChecksumError,
    TokenFormatError,
    UnknownCoalitionError,
)
from service.common.i18n import DEFAULT_LANGUAGE, LANGUAGES, in_each_language
from service.common.i18n.markers import N_
from service.common.questionnaire.answers import StepAnswers, applicable, read_step
from service.common.questionnaire.known import CURRENT
from service.common.questionnaire.reading import read_answers
from service.common.questionnaire.regions import REGIONS
from service.common.webkit.forms import parse_urlencoded, read_body, strip_invisible
from service.server.cases import logic as cases
from service.server.deps import Runtime, RuntimeDep
from service.server.intake import logic
from service.server.intake.steps import (
    REVIEW,
    FormState,
    check_size,
    destination,
    entry_count,
    fields_of,
    merge,
    open_state,
    seal_state,
    visible_steps,
)
from service.server.models import Case
from service.server.storage.db import transaction
from service.server.web import assets
from service.server.web.multipart import Field
from service.server.web.render import page, stylesheet

router = APIRouter(include_in_schema=False)

MAX_MESSAGE = 50_000
TAGLINE = N_("Report torture or ill-treatment safely")


def _lang(lang: str) -> str:
    if lang not in LANGUAGES:
        raise NotFoundError()
    return lang


@router.get("/")
async def root() -> Response:
    return page("choose_language.html", DEFAULT_LANGUAGE, {"taglines": in_each_language(TAGLINE)})


@router.get("/static/aryz.css")
async def css() -> Response:
    return Response(stylesheet(), media_type="text/css; charset=utf-8")


@router.get("/static/{name:path}")
async def static_script(name: str) -> Response:
    """Our upload script and the vendored libsodium files; nothing else is served."""
    return Response(assets.script(name), media_type=assets.JS_MEDIA_TYPE)


@router.get("/{lang}/")
async def home(lang: str) -> Response:
    return page("home.html", _lang(lang))


@router.get("/{lang}")
async def home_no_slash(lang: str) -> Response:
    return RedirectResponse(f"/{_lang(lang)}/", status_code=303)


@router.get("/{lang}/safety")
async def safety(lang: str) -> Response:
    return page("safety.html", _lang(lang))


@router.get("/{lang}/keys")
async def keys(lang: str, runtime: RuntimeDep) -> Response:
    return page("keys.html", _lang(lang), {"coalitions": runtime.registry.coalitions})


FIRST = CURRENT.parts[0].id


def _step_page(
    language: str,
    runtime: Runtime,
    state: FormState,
    section_id: str,
    *,
    step: StepAnswers | None = None,
    add: bool = False,
    routing_error: bool = False,
    state_lost: bool = False,
    status_code: int = 200,
) -> Response:
    """One step of the questionnaire, filled in from ``state`` (or, after an error, from
    exactly what the person sent, so nothing they typed disappears)."""
    section = CURRENT.section(section_id) or CURRENT.parts[0]
    shown = visible_steps(CURRENT, state.answers)
    fields = step.shown if step is not None else fields_of(section, state.answers)
    ids = [s.id for s in shown]
    return page(
        "report.html",
        language,
        {
            "questionnaire": CURRENT,
            "section": section,
            "number": ids.index(section.id) + 1 if section.id in ids else 1,
            "total": len(ids),
            "first": section.id == FIRST,
            "questions": [q for q in section.questions if q.shown(state.answers)],
            "entries": entry_count(section, fields, add=add),
            "values": fields,
            "cleaned": step.cleaned if step else (),
            "invalid": step.invalid if step else (),
            "regions": REGIONS.get(state.country, ()),
            "country": state.country,
            "recipient": state.recipient,
            "countries": COUNTRIES,
            "fallbacks": runtime.registry.fallbacks,
            "routing_error": routing_error,
            "state_lost": state_lost,
            "state": seal_state(runtime.form_state, CURRENT, state),
        },
        status_code=status_code,
    )


@router.get("/{lang}/report")
async def report_form(lang: str, runtime: RuntimeDep) -> Response:
    return _step_page(_lang(lang), runtime, FormState(), FIRST)


async def _read_form(
    request: Request, runtime: Runtime, limit: int | None = None
) -> dict[str, list[str]]:
    body = await read_body(request.stream(), limit or runtime.settings.max_answers_bytes)
    return parse_urlencoded(body)


def _field(form: dict[str, list[str]], name: str) -> str:
    return form.get(name, [""])[-1]


def _open(runtime: Runtime, form: dict[str, list[str]]) -> FormState:
    return open_state(runtime.form_state, CURRENT, _field(form, "state"))


@router.post("/{lang}/report")
async def report_step(lang: str, request: Request, runtime: RuntimeDep) -> Response:
    """Take one step's answers, then go where the pressed button says."""
    language = _lang(lang)
    # The sealed state rides along with the step's own fields: room for both.
    form = await _read_form(request, runtime, 2 * runtime.settings.max_answers_bytes)
    try:
        state, lost = _open(runtime, form), False
    except FormStateError:
        # Earlier steps are gone (an old page, a restart, a tampered field). Keep this
        # page's answers and say so; the person can go back and fill the others in again.
        state, lost = FormState(), True
    section = CURRENT.section(_field(form, "step"))
    go = _field(form, "go")
    if section is not None:
        if section.id == FIRST:
            state.country, state.recipient = _field(form, "country"), _field(form, "recipient")
        step = read_step(CURRENT, section, form, country=state.country, earlier=state.answers)
        merge(section, state, step)
        check_size(state, runtime.settings.max_answers_bytes)
        if not step.ok or lost:
            status = 422 if not step.ok else 400
            return _step_page(
                language, runtime, state, section.id, step=step, state_lost=lost, status_code=status
            )
        if go == "add":
            return _step_page(language, runtime, state, section.id, step=step, add=True)
    elif lost:
        return _step_page(language, runtime, state, FIRST, state_lost=True, status_code=400)
    current = section.id if section is not None else REVIEW
    target = destination(CURRENT, state.answers, current, go)
    if current != FIRST and target != REVIEW:
        return _step_page(language, runtime, state, target)
    # Where the report goes is the one thing needed to send it: ask before moving on.
    try:
        routing = logic.route(runtime, state.country, state.recipient)
    except UnknownCoalitionError:
        return _step_page(language, runtime, state, FIRST, routing_error=True, status_code=422)
    if target != REVIEW:
        return _step_page(language, runtime, state, target)
    return _review_page(language, runtime, state, routing)


def _review_page(
    language: str, runtime: Runtime, state: FormState, routing: logic.Routing
) -> Response:
    answers = applicable(CURRENT, state.answers)
    reading = read_answers(CURRENT.reference(), answers)
    # The token is made now and travels in the review form, so "send" is idempotent: a
    # refreshed or re-sent page finds the same case instead of creating a second one.
    return page(
        "review.html",
        language,
        {
            "reading": reading,
            "steps": visible_steps(CURRENT, state.answers),
            "routing": routing,
            "countries": COUNTRIES,
            "token": generate_token(),
            "state": seal_state(runtime.form_state, CURRENT, state),
        },
    )


@router.post("/{lang}/report/submit")
async def report_submit(lang: str, request: Request, runtime: RuntimeDep) -> Response:
    language = _lang(lang)
    form = await _read_form(request, runtime, 2 * runtime.settings.max_answers_bytes)
    # A state that cannot be opened here raises FormStateError: the error page says to
    # start again (nothing was typed on the review page, so nothing else is lost).
    state = _open(runtime, form)
    try:
        routing = logic.route(runtime, state.country, state.recipient)
    except UnknownCoalitionError:
        return _step_page(language, runtime, state, FIRST, routing_error=True, status_code=422)
    answers = applicable(CURRENT, state.answers)
    token = parse_token(_field(form, "token"))
    secrets = await runtime.deriver.derive(token)
    sealed = await run_in_threadpool(
        logic.seal_answers, routing, CURRENT, answers, language, secrets
    )
    key = cases.lookup_key(secrets.lookup_id, runtime.settings.pepper)
    ref = await run_in_threadpool(_create_case, runtime, routing, key, secrets, sealed)
    return page(
        "token.html",
        language,
        {
            "token": token,
            "token_display": format_token(token),
            "coalition": routing.coalition,
            "upload": logic.browser_upload(runtime, ref, routing.coalition, secrets),
        },
    )


def _create_case(
    runtime: Runtime, routing: logic.Routing, key: bytes, secrets: TokenSecrets, sealed: bytes
) -> bytes:
    """Create (or, for a re-sent page, find) the case; returns its reference."""
    with transaction(runtime.sessions) as session:
        case, _created = cases.create_case(
            session,
            coalition=routing.coalition,
            key=key,
            reply_public_key=secrets.reply.public,
            answers=sealed,
        )
        return case.ref


async def _open_case(runtime: Runtime, token_text: str) -> tuple[Case | None, TokenSecrets]:
    """Derive and look up. The derivation runs for every well-formed token, found or not,
    so timing does not tell whether a case exists (security brief item 4)."""
    token = parse_token(token_text)
    secrets = await runtime.deriver.derive(token)
    key = cases.lookup_key(secrets.lookup_id, runtime.settings.pepper)
    case = await run_in_threadpool(_find, runtime, key)
    return case, secrets


def _find(runtime: Runtime, key: bytes) -> Case | None:
    with transaction(runtime.sessions) as session:
        return cases.find_case(session, key)


def _view(runtime: Runtime, case: Case) -> cases.CaseView:
    with transaction(runtime.sessions) as session:
        return cases.view(session, case)


@router.post("/{lang}/case/files")
async def case_files(lang: str, request: Request, runtime: RuntimeDep) -> Response:
    language = _lang(lang)
    events = logic.multipart_events(runtime, request.stream(), request.headers.get("content-type"))
    # The token field comes first in the form, so the case is known before any file byte
    # is read: every byte can then be sealed to that case's coalition as it arrives.
    first = await anext(events, None)
    if not isinstance(first, Field) or first.name != "token":
        raise FormError()
    case, secrets = await _open_case(runtime, first.value)
    if case is None:
        return page("not_found.html", language, status_code=404, pad=True)
    coalition = runtime.registry.get(case.coalition_id)
    if coalition is None:
        raise NotFoundError()
    arrived = await logic.store_files(runtime, case, coalition, secrets, events)
    view = await run_in_threadpool(_view, runtime, case)
    return page(
        "files_received.html",
        language,
        {
            "arrived": arrived,
            "view": view,
            "token": parse_token(first.value),
            "upload": logic.browser_upload(runtime, case.ref, coalition, secrets),
        },
        pad=True,
    )


@router.get("/{lang}/status")
async def status_form(lang: str) -> Response:
    return page("status_form.html", _lang(lang), {"error": None})


@router.post("/{lang}/status")
async def status(lang: str, request: Request, runtime: RuntimeDep) -> Response:
    language = _lang(lang)
    form = await _read_form(request, runtime)
    token_text = form.get("token", [""])[-1]
    try:
        case, secrets = await _open_case(runtime, token_text)
    except (TokenFormatError, TokenChecksumError) as exc:
        # Padded like the answers below, so a typo looks like every other status page.
        return page("status_form.html", language, {"error": exc.code}, status_code=400, pad=True)
    if case is None:
        return page("not_found.html", language, status_code=404, pad=True)
    coalition = runtime.registry.get(case.coalition_id)
    if coalition is None:
        raise NotFoundError()
    view = await run_in_threadpool(_view, runtime, case)
    replies = await run_in_threadpool(_open_replies, view, secrets)
    return page(
        "status.html",
        language,
        {
            "view": view,
            "token": parse_token(token_text),
            "replies": replies,
            "status_labels": STATUS_LABELS,
            "upload": logic.browser_upload(runtime, case.ref, coalition, secrets),
        },
        pad=True,
    )


def _open_replies(view: cases.CaseView, secrets: TokenSecrets) -> list[str | None]:
    """Open the replies in memory for this one response, with the key the token just
    derived; one that does not open is shown as such (None), never as an error page."""
    return [open_reply(sealed, secrets.reply) for sealed in view.replies]


@router.post("/{lang}/case/message")
async def case_message(lang: str, request: Request, runtime: RuntimeDep) -> Response:
    language = _lang(lang)
    form = await _read_form(request, runtime)
    case, secrets = await _open_case(runtime, form.get("token", [""])[-1])
    if case is None:
        return page("not_found.html", language, status_code=404, pad=True)
    text, _removed = strip_invisible(form.get("message", [""])[-1])
    text = text.strip()
    if not text or len(text) > MAX_MESSAGE:
        raise FormError()
    coalition = runtime.registry.get(case.coalition_id)
    if coalition is None:
        raise NotFoundError()
    sealed = await run_in_threadpool(logic.seal_message, coalition, text, secrets)
    await run_in_threadpool(_add_item, runtime, case, coalition, sealed)
    view = await run_in_threadpool(_view, runtime, case)
    token = parse_token(form["token"][-1])
    upload = logic.browser_upload(runtime, case.ref, coalition, secrets)
    return page(
        "message_received.html",
        language,
        {"view": view, "token": token, "upload": upload},
        pad=True,
    )


def _add_item(runtime: Runtime, case: Case, coalition: Any, sealed: bytes) -> None:
    with transaction(runtime.sessions) as session:
        cases.add_whole_item(session, case, coalition, sealed)
