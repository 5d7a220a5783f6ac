"""Intake pages. Routes parse, call the logic, render; they own the transaction boundary.

Flow (no JavaScript anywhere):
  /{lang}/            what this is, where to start
  /{lang}/safety      safety advice
  /{lang}/report      the questionnaire  → POST review → POST submit → token page
  /{lang}/case/files  add files to a case (multipart, token first, sealed as they stream)
  /{lang}/status      token → status, replies, follow-up message and files
  /{lang}/keys        each coalition's key fingerprints, so they can check us
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from service.cases import logic as cases
from service.cases.replies import open_reply
from service.cases.statuses import STATUS_LABELS
from service.crypto.token import TokenSecrets, format_token, generate_token, parse_token
from service.deps import Runtime, RuntimeDep
from service.errors import (
    FormError,
    NotFoundError,
    TokenChecksumError,
    TokenFormatError,
    UnknownCoalitionError,
)
from service.i18n import DEFAULT_LANGUAGE, LANGUAGES, in_each_language
from service.i18n.markers import N_
from service.intake import logic
from service.models import Case
from service.questionnaire import Answers, validate
from service.questionnaire.basic import BASIC
from service.registry.countries import COUNTRIES
from service.storage.db import transaction
from service.web.forms import parse_urlencoded, read_body, strip_invisible
from service.web.multipart import Field
from service.web.render import page, stylesheet

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


def _form_context(
    runtime: Runtime, values: dict[str, str], answers: Answers | None = None
) -> dict[str, Any]:
    return {
        "questionnaire": BASIC,
        "countries": COUNTRIES,
        "fallbacks": runtime.registry.fallbacks,
        "values": values,
        "cleaned": answers.cleaned if answers else (),
        "invalid": answers.invalid if answers else (),
        "routing_error": False,
    }


@router.get("/{lang}/report")
async def report_form(lang: str, runtime: RuntimeDep) -> Response:
    return page("report.html", _lang(lang), _form_context(runtime, {}))


async def _read_form(request: Request, runtime: Runtime) -> dict[str, list[str]]:
    body = await read_body(request.stream(), runtime.settings.max_answers_bytes)
    return parse_urlencoded(body)


def _flat(form: dict[str, list[str]]) -> dict[str, str]:
    return {k: v[-1] for k, v in form.items()}


@router.post("/{lang}/report/review")
async def report_review(lang: str, request: Request, runtime: RuntimeDep) -> Response:
    language = _lang(lang)
    form = await _read_form(request, runtime)
    return _review_or_form(language, runtime, form)


def _review_or_form(language: str, runtime: Runtime, form: dict[str, list[str]]) -> Response:
    answers = validate(BASIC, form)
    values = _flat(form)
    values.update(answers.values)
    try:
        routing = logic.route(runtime, values.get("country", ""), values.get("recipient", ""))
    except UnknownCoalitionError:  # shown as "choose the country and receiver again"
        routing = None
    if routing is None or not answers.ok:
        context = _form_context(runtime, values, answers)
        context["routing_error"] = routing is None
        return page("report.html", language, context, status_code=422)
    # The token is made now and travels in the review form, so "send" is idempotent: a
    # refreshed or re-sent page finds the same case instead of creating a second one.
    return page(
        "review.html",
        language,
        {
            "questionnaire": BASIC,
            "answers": answers.values,
            "routing": routing,
            "countries": COUNTRIES,
            "token": generate_token(),
        },
    )


@router.post("/{lang}/report/submit")
async def report_submit(lang: str, request: Request, runtime: RuntimeDep) -> Response:
    language = _lang(lang)
    form = await _read_form(request, runtime)
    if form.get("action", [""])[-1] == "edit":
        values = _flat(form)
        return page("report.html", language, _form_context(runtime, values))
    answers = validate(BASIC, form)
    values = _flat(form)
    if not answers.ok:
        return _review_or_form(language, runtime, form)
    routing = logic.route(runtime, values.get("country", ""), values.get("recipient", ""))
    token = parse_token(values.get("token", ""))
    secrets = await runtime.deriver.derive(token)
    sealed = await run_in_threadpool(logic.seal_answers, routing, BASIC, answers, language, secrets)
    key = cases.lookup_key(secrets.lookup_id, runtime.settings.pepper)
    await run_in_threadpool(_create_case, runtime, routing, key, secrets, sealed)
    return page(
        "token.html",
        language,
        {"token": token, "token_display": format_token(token), "coalition": routing.coalition},
    )


def _create_case(
    runtime: Runtime, routing: logic.Routing, key: bytes, secrets: TokenSecrets, sealed: bytes
) -> None:
    with transaction(runtime.sessions) as session:
        cases.create_case(
            session,
            coalition=routing.coalition,
            key=key,
            reply_public_key=secrets.reply.public,
            answers=sealed,
        )


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
        {"arrived": arrived, "view": view, "token": parse_token(first.value)},
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
        return page("status_form.html", language, {"error": exc.code}, status_code=400)
    if case is None:
        return page("not_found.html", language, status_code=404, pad=True)
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
    return page("message_received.html", language, {"view": view, "token": token}, pad=True)


def _add_item(runtime: Runtime, case: Case, coalition: Any, sealed: bytes) -> None:
    with transaction(runtime.sessions) as session:
        cases.add_whole_item(session, case, coalition, sealed)
