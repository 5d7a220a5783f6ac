"""Intake pages. Routes parse, call the logic, render; they own the transaction boundary.

Flow (no JavaScript anywhere):
  /{lang}/            what this is, where to start
  /{lang}/safety      safety advice
  /{lang}/report      the write page: the account, the country, a file → send → token
                      page; or on to the details, one section a page (POST
                      /{lang}/report moves between them) → review → POST submit → token
  /{lang}/case/files  add files to a case (multipart, token first, sealed as they stream)
  /{lang}/status      token → status, replies, follow-up message and files
  /{lang}/keys        each coalition's key fingerprints, so they can check us
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from service.common.contract.duty import PLACE_CHOICES
from service.common.contract.replies import open_reply
from service.common.contract.vocabulary import COUNTRIES, STATUS_LABELS
from service.common.crypto.token import (
    KdfLimits,
    TokenSecrets,
    format_token,
    generate_token,
    parse_token,
)
from service.common.errors import (
    FormError,
    FormStateError,
    InputError,
    NotFoundError,
    TokenChecksumError,
    TokenFormatError,
    UnknownCoalitionError,
)
from service.common.i18n import DEFAULT_LANGUAGE, LANGUAGES, in_each_language
from service.common.i18n.markers import N_
from service.common.questionnaire import Section
from service.common.questionnaire.answers import StepAnswers, applicable, read_step
from service.common.questionnaire.known import CURRENT
from service.common.questionnaire.reading import read_answers
from service.common.questionnaire.regions import REGIONS
from service.common.text import strip_invisible
from service.common.webkit.forms import parse_urlencoded, read_body
from service.server.cases import logic as cases
from service.server.courier import urgent as urgent_lane
from service.server.deps import Runtime, RuntimeDep
from service.server.intake import logic
from service.server.intake.steps import (
    CARRIED,
    IMPLIED_COUNTRY,
    NARRATIVE_KEY,
    REVIEW,
    WRITE,
    FormState,
    carry,
    check_size,
    destination,
    entry_count,
    fields_of,
    has_details,
    merge,
    open_state,
    read_urgent_fields,
    render_details,
    seal_state,
    urgent_answers,
    urgent_unconsented,
    visible_steps,
)
from service.server.models import Case
from service.server.registry.logic import CoalitionEntry
from service.server.storage.db import transaction
from service.server.web import assets
from service.server.web.multipart import Field, FileData, FileEnd, FileStart, Limits, read_multipart
from service.server.web.render import IMMUTABLE, fitted_page, page, stylesheet, stylesheet_version

router = APIRouter(include_in_schema=False)

MAX_MESSAGE = 50_000
# What a mistyped token may be refilled with: digits and the separators people write.
TYPED_TOKEN = re.compile(r"[0-9 \-]*")
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


@router.get("/static/aryz.{version}.css")
async def css_versioned(version: str) -> Response:
    """The stylesheet under a name that changes with its content, so a browser may keep
    it (one request less per page over Tor). No ETag or Last-Modified: nothing a server
    could use to recognise a returning browser; the name is the same for everyone."""
    if version != stylesheet_version():
        raise NotFoundError()
    return Response(
        stylesheet(),
        media_type="text/css; charset=utf-8",
        headers={"Cache-Control": IMMUTABLE},
    )


@router.get("/favicon.ico")
async def favicon() -> Response:
    return Response(status_code=204)


@router.get("/{lang}/weather")
async def weather(lang: str) -> Response:
    """Where "Leave quickly" leads: a tiny, plain page of this site that loads at once
    over Tor (no stylesheet, no header, nothing that says Aryz)."""
    return page("weather.html", _lang(lang))


@router.get("/static/{name:path}")
async def static_script(name: str) -> Response:
    """Our upload script and the vendored libsodium files; nothing else is served."""
    return Response(assets.script(name), media_type=assets.JS_MEDIA_TYPE)


@router.get("/{lang}/")
async def home(lang: str) -> Response:
    language = _lang(lang)
    implied = IMPLIED_COUNTRY.get(language, "")
    ordered = sorted(COUNTRIES, key=lambda code: code != implied)  # stable: then as listed
    return page(
        "home.html",
        language,
        {"countries": COUNTRIES, "ordered": ordered, "implied": implied},
    )


@router.get("/{lang}")
async def home_no_slash(lang: str) -> Response:
    return RedirectResponse(f"/{_lang(lang)}/", status_code=303)


@router.get("/{lang}/safety")
async def safety(lang: str) -> Response:
    return page("safety.html", _lang(lang))


@router.get("/{lang}/keys")
async def keys(lang: str, runtime: RuntimeDep) -> Response:
    return page("keys.html", _lang(lang), {"coalitions": runtime.registry.coalitions})


def _narrative() -> Section:
    section = CURRENT.section("narrative")
    if section is None:  # a questionnaire without the account cannot be served here
        raise RuntimeError("the questionnaire has no 'narrative' section")
    return section


NARRATIVE = _narrative()  # the write page asks this section's one question


def _token_mark(runtime: Runtime, token: str) -> str:
    """The server's mark on a token it made for a write or review page (attack F12: any
    well-formed token a client posted was filed). Keyed from the pepper, so it outlives a
    restart as the page's clear account does; it travels beside the token and is never
    stored."""
    key = hashlib.blake2b(runtime.settings.pepper, digest_size=32, person=b"aryz-token-mark")
    return hashlib.blake2b(token.encode(), key=key.digest(), digest_size=16).hexdigest()


def _made_here(runtime: Runtime, form: dict[str, list[str]]) -> str:
    """The form's token, if this server made it; otherwise a fixed :class:`FormError`."""
    token = parse_token(_field(form, "token"))
    if not hmac.compare_digest(_field(form, "token_mark"), _token_mark(runtime, token)):
        raise FormError()
    return token


def _write_page(
    language: str,
    runtime: Runtime,
    state: FormState,
    *,
    step: StepAnswers | None = None,
    error: str | None = None,
    state_lost: bool = False,
    file_dropped: bool = False,
    status_code: int = 200,
) -> Response:
    """The first page: the account, the country, the receiver and a file. It can be sent
    as it is (a message-only report) or lead on to the details.

    ``error`` is ``"routing"`` (no country or receiver chosen), ``"empty"`` (nothing
    written and no file) or ``"urgent"`` (urgent answers without the urgent consent).
    The token is made now and travels in the form, so "send" is idempotent, as from the
    review.
    """
    fields = step.shown if step is not None else fields_of(NARRATIVE, state.answers)
    return page(
        "write.html",
        language,
        {
            "question": NARRATIVE.questions[0],
            "values": fields,
            "cleaned": step.cleaned if step else (),
            "invalid": step.invalid if step else (),
            "countries": COUNTRIES,
            # Who receives a report from each country, named in the reader's language.
            "national": {code: runtime.registry.national(code) for code in COUNTRIES},
            # Countries without a coalition of their own here, and who gets theirs.
            "uncovered": [COUNTRIES[code] for code in runtime.registry.uncovered],
            "stand_in": next(iter(runtime.registry.fallbacks), None),
            "country": state.country or IMPLIED_COUNTRY.get(language, ""),
            "recipient": state.recipient,
            "fallbacks": runtime.registry.international,
            "error": error,
            "state_lost": state_lost,
            "file_dropped": file_dropped,
            "details": has_details(state),
            "detail_count": len(visible_steps(CURRENT, state.answers)),
            "urgent": state.urgent,
            "regions": REGIONS,
            "place_types": PLACE_CHOICES,
            "token": (token := generate_token()),
            "token_mark": _token_mark(runtime, token),
            "state": seal_state(runtime.form_state, CURRENT, state),
        },
        status_code=status_code,
    )


def _step_page(
    language: str,
    runtime: Runtime,
    state: FormState,
    section_id: str,
    *,
    step: StepAnswers | None = None,
    add: bool = False,
    state_lost: bool = False,
    file_dropped: bool = False,
    status_code: int = 200,
    pad: bool = False,
) -> Response:
    """One step of the details, filled in from ``state`` (or, after an error, from
    exactly what the person sent, so nothing they typed disappears)."""
    shown = visible_steps(CURRENT, state.answers)
    section = CURRENT.section(section_id) or shown[0]
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
            "questions": [q for q in section.questions if q.shown(state.answers)],
            "entries": entry_count(section, fields, add=add),
            "values": fields,
            "cleaned": step.cleaned if step else (),
            "invalid": step.invalid if step else (),
            "regions": REGIONS.get(state.country, ()),
            "carried": _carried(state),
            "state_lost": state_lost,
            "file_dropped": file_dropped,
            "state": seal_state(runtime.form_state, CURRENT, state),
        },
        status_code=status_code,
        pad=pad,
    )


def _carried(state: FormState) -> dict[str, str]:
    """The answers a page carries in the clear (service/server/intake/steps.py, ``CARRIED``)."""
    text = state.answers.get(NARRATIVE_KEY, "")
    carried = {
        NARRATIVE_KEY: text if isinstance(text, str) else "",
        "country": state.country,
        "recipient": state.recipient,
    }
    if state.follow_up:
        carried["follow_up"] = state.follow_up
    return carried


@router.get("/{lang}/report")
async def report_form(lang: str, runtime: RuntimeDep) -> Response:
    return _write_page(_lang(lang), runtime, FormState())


@router.post("/{lang}/report/start")
async def report_start(lang: str, request: Request, runtime: RuntimeDep) -> Response:
    """The home page's country buttons: the write page with that country chosen. (A POST,
    so the country never appears in an address or the browser's history.)"""
    language = _lang(lang)
    form = await _read_form(request, runtime)
    country = _field(form, "country")
    chosen = country if country in COUNTRIES else ""
    return _write_page(language, runtime, FormState(country=chosen))


async def _read_form(
    request: Request, runtime: Runtime, limit: int | None = None
) -> dict[str, list[str]]:
    body = await read_body(request.stream(), limit or runtime.settings.max_answers_bytes)
    return parse_urlencoded(body)


def _field(form: dict[str, list[str]], name: str) -> str:
    return form.get(name, [""])[-1]


def _open(runtime: Runtime, form: dict[str, list[str]]) -> FormState:
    return open_state(runtime.form_state, CURRENT, _field(form, "state"))


def _open_or_lost(
    runtime: Runtime, form: dict[str, list[str]], *, write_page: bool = False
) -> tuple[FormState, bool]:
    """The state the page carried, and whether answers were lost with it; then the
    answers the page carries in the clear on top."""
    try:
        state, lost = _open(runtime, form), False
    except FormStateError:
        # Earlier steps are gone (an old page, a restart, a tampered field). Keep this
        # page's answers and say so; the person can go back and fill the others in again.
        # The write page says whether it had any details: without, nothing was lost.
        state, lost = FormState(), ("details" in form if write_page else True)
    carry(form, state)
    return state, lost


@router.post("/{lang}/report")
async def report_step(lang: str, request: Request, runtime: RuntimeDep) -> Response:
    """Take one step's answers, then go where the pressed button says."""
    language = _lang(lang)
    # The sealed state rides along with the step's own fields: room for both.
    form = await _read_form(request, runtime, 2 * runtime.settings.max_answers_bytes)
    state, lost = _open_or_lost(runtime, form)
    section = CURRENT.section(_field(form, "step"))
    # No "go" at all: the page's default button (Enter in a field), which continues.
    go = _field(form, "go") or "next"
    if section is not None:
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
        return _write_page(language, runtime, state, state_lost=True, status_code=400)
    current = section.id if section is not None else REVIEW
    target = destination(CURRENT, state.answers, current, go)
    if target == WRITE and state.follow_up:
        target = visible_steps(CURRENT, state.answers)[0].id  # the case is already sent
    if target == WRITE:
        return _write_page(language, runtime, state)
    if target != REVIEW:
        return _step_page(language, runtime, state, target)
    if state.follow_up:
        return _review_page(language, runtime, state, None)
    # Where the report goes is the one thing needed to send it: ask before the review.
    try:
        routing = logic.route(runtime, state.country, state.recipient)
    except UnknownCoalitionError:
        return _write_page(language, runtime, state, error="routing", status_code=422)
    return _review_page(language, runtime, state, routing)


def _review_page(
    language: str,
    runtime: Runtime,
    state: FormState,
    routing: logic.Routing | None,
    *,
    empty: bool = False,
    status_code: int = 200,
) -> Response:
    answers = applicable(CURRENT, state.answers)
    details = {k: v for k, v in answers.items() if k != NARRATIVE_KEY}
    reading = read_answers(CURRENT.reference(), details)
    steps = visible_steps(CURRENT, state.answers)
    answered = {part.section for part in reading.sections}
    # The token is made now and travels in the review form, so "send" is idempotent: a
    # refreshed or re-sent page finds the same case instead of creating a second one.
    # The state is bound to it: sent with any other token, it is refused (F-14).
    token = generate_token()
    return page(
        "review.html",
        language,
        {
            "reading": reading,
            "steps": [s for s in steps if s.id in answered],
            "skipped": [s for s in steps if s.id not in answered],
            "question": NARRATIVE.questions[0],
            "routing": routing,
            "countries": COUNTRIES,
            "carried": _carried(state),
            # What goes to the duty officer, exactly as it will be sealed (None: nothing).
            "urgent": urgent_answers(state) if routing is not None else None,
            "region_names": dict(REGIONS.get(state.country, ())),
            "place_names": {c.value: c.label for c in PLACE_CHOICES},
            "empty": empty,
            "token": token,
            "token_mark": _token_mark(runtime, token),
            "state": seal_state(runtime.form_state, CURRENT, state, bound_to=state_tag(token)),
        },
        status_code=status_code,
    )


def state_tag(token: str) -> bytes:
    """What a review page's state is bound to: a hash of the token it carries."""
    return hashlib.blake2b(token.encode(), digest_size=16, person=b"aryz-state-tag").digest()


@router.post("/{lang}/report/submit")
async def report_submit(lang: str, request: Request, runtime: RuntimeDep) -> Response:
    """Send from the review page."""
    language = _lang(lang)
    form = await _read_form(request, runtime, 2 * runtime.settings.max_answers_bytes)
    try:
        # Single use (F-14): sending claims the state for this page's token; the same page
        # re-sent finds its case again, the state with any other token is refused.
        tag = state_tag(parse_token(_field(form, "token")))
        state = open_state(runtime.form_state, CURRENT, _field(form, "state"), claim_for=tag)
    except FormStateError:
        # The details cannot be read back (a page open for a day, a restart). The account,
        # the country and the receiver came in the clear: show them on the write page,
        # say what happened, and let the person send again or fill the details in again.
        state = FormState()
        carry(form, state)
        if not any(name in form for name in CARRIED):
            raise  # not our review page: nothing typed is lost by refusing it
        if state.follow_up:  # details for a case already sent: back to their first page
            first = visible_steps(CURRENT, state.answers)[0].id
            return _step_page(language, runtime, state, first, state_lost=True, status_code=400)
        return _write_page(language, runtime, state, state_lost=True, status_code=400)
    step = read_step(CURRENT, NARRATIVE, form, country=state.country, earlier=state.answers)
    carry(form, state)
    if NARRATIVE_KEY in form:
        merge(NARRATIVE, state, step)
    if not step.ok:
        return _write_page(language, runtime, state, step=step, status_code=422)
    if state.follow_up:
        return await _add_details(language, runtime, state)
    try:
        routing = logic.route(runtime, state.country, state.recipient)
    except UnknownCoalitionError:
        return _write_page(language, runtime, state, error="routing", status_code=422)
    if not applicable(CURRENT, state.answers):
        # An empty report reaches nobody who can act on it: say so, keep the page.
        return _review_page(language, runtime, state, routing, empty=True, status_code=422)
    token = _made_here(runtime, form)
    return await _file_report(language, runtime, state, routing, token)


async def _add_details(language: str, runtime: Runtime, state: FormState) -> Response:
    """Details for a case already sent: sealed as a message to that case (see
    :func:`service.server.intake.steps.render_details`)."""
    answers = applicable(CURRENT, state.answers)
    if not answers:
        return _review_page(language, runtime, state, None, empty=True, status_code=422)
    case, secrets = await _open_case(runtime, state.follow_up)
    if case is None:
        return page("not_found.html", language, status_code=404, pad=True)
    coalition = runtime.registry.get(case.coalition_id)
    if coalition is None:
        raise NotFoundError()
    text = render_details(CURRENT, answers, language)
    sealed = await run_in_threadpool(logic.seal_message, runtime, case, coalition, text, secrets)
    await run_in_threadpool(_add_item, runtime, case, coalition, sealed)
    view = await run_in_threadpool(_view, runtime, case)
    return page(
        "message_received.html",
        language,
        {
            "view": view,
            "token": state.follow_up,
            "origin": "received",
            "message_error": None,
            "sent": True,
            "details": True,
            "upload": logic.browser_upload(runtime, case.ref, coalition, secrets),
        },
        pad=True,
    )


@router.post("/{lang}/case/details")
async def case_details(lang: str, request: Request, runtime: RuntimeDep) -> Response:
    """Start the details for a case already sent (from the token or status page)."""
    language = _lang(lang)
    form = await _read_form(request, runtime)
    case, _secrets = await _open_case(runtime, _field(form, "token"))
    if case is None:
        return page("not_found.html", language, status_code=404, pad=True)
    coalition = runtime.registry.get(case.coalition_id)
    if coalition is None:
        raise NotFoundError()
    # A national coalition's one country gives the regions to choose from; a fallback's
    # cases may be from any country, so its region lists offer only "don't know".
    single = len(coalition.countries) == 1 and not coalition.fallback
    country = coalition.countries[0] if single else ""
    state = FormState(country=country, follow_up=parse_token(_field(form, "token")))
    first = visible_steps(CURRENT, state.answers)[0].id
    # Padded like "no case found", so the answer's size does not tell whether it exists.
    return _step_page(language, runtime, state, first, pad=True)


async def _file_report(
    language: str,
    runtime: Runtime,
    state: FormState,
    routing: logic.Routing,
    token: str,
    files: AsyncIterator[Field | FileStart | FileData | FileEnd] | None = None,
) -> Response:
    """Seal the answers, create (or find, for a re-sent page) the case, store any files
    that follow in the same request, and show the token."""
    answers = applicable(CURRENT, state.answers)
    secrets = await runtime.deriver.derive(token)
    urgent = urgent_answers(state)
    sealed_urgent = None
    if urgent is not None:
        sealed_urgent = await run_in_threadpool(
            logic.seal_urgent, routing, urgent, secrets, urgent_lane.new_ref()
        )
    # The desk gets the same few answers inside the full case, and whether they went to
    # a duty officer: it counts urgent cases without any record leaving it.
    for_desk = None if urgent is None else {"answers": urgent, "sent": sealed_urgent is not None}
    sealed = await run_in_threadpool(
        logic.seal_answers, routing, CURRENT, answers, language, secrets, for_desk
    )
    key = cases.lookup_key(secrets.lookup_id, runtime.settings.pepper)
    ref = await run_in_threadpool(
        _create_case, runtime, routing, key, secrets, sealed, sealed_urgent
    )
    arrived: list[logic.ArrivedFile] = []
    files_failed = False
    if files is not None:
        case = await run_in_threadpool(_find, runtime, key)
        if case is None:  # created just above; only a deletion in between could do this
            raise NotFoundError()
        try:
            arrived = await logic.store_files(runtime, case, routing.coalition, secrets, files)
        except InputError:
            # The report is stored: the token must be shown whatever became of the file.
            files_failed = True
    return _token_page(
        language,
        runtime,
        token,
        routing.coalition,
        ref,
        secrets,
        arrived=arrived,
        files_failed=files_failed,
        urgent=None if urgent is None else sealed_urgent is not None,
    )


def _token_page(
    language: str,
    runtime: Runtime,
    token: str,
    coalition: CoalitionEntry,
    ref: bytes,
    secrets: TokenSecrets,
    *,
    arrived: list[logic.ArrivedFile] | None = None,
    files_failed: bool = False,
    message_error: str | None = None,
    status_code: int = 200,
    pad: bool = False,
    urgent: bool | None = None,
) -> Response:
    """``urgent``: None without the urgent consent, else whether a duty officer got it."""
    return page(
        "token.html",
        language,
        {
            "token": token,
            "token_display": format_token(token),
            "coalition": coalition,
            "arrived": arrived or [],
            "files_failed": files_failed,
            "message_error": message_error,
            "origin": "token",
            "upload": logic.browser_upload(runtime, ref, coalition, secrets),
            "urgent": urgent,
        },
        status_code=status_code,
        pad=pad,
    )


async def _form_fields(
    events: AsyncIterator[Field | FileStart | FileData | FileEnd],
) -> tuple[dict[str, list[str]], FileStart | None]:
    """The text fields that come before the first file (the write page puts its file
    input last), and that file's start if one follows."""
    form: dict[str, list[str]] = {}
    async for event in events:
        if isinstance(event, Field):
            form.setdefault(event.name, []).append(event.value)
        elif isinstance(event, FileStart):
            return form, event
        else:
            raise FormError()  # file data before any file: not a browser's form
    return form, None


async def _then(
    first: FileStart, events: AsyncIterator[Field | FileStart | FileData | FileEnd]
) -> AsyncIterator[Field | FileStart | FileData | FileEnd]:
    yield first
    async for event in events:
        yield event


async def _drain(events: AsyncIterator[Field | FileStart | FileData | FileEnd]) -> None:
    """Read a file that is not kept to its end, so the page can be answered; its bytes
    pass through memory and are dropped, never written."""
    async for _event in events:
        pass


@router.post("/{lang}/report/send")
async def report_send(
    lang: str, request: Request, runtime: RuntimeDep, then: str = "send"
) -> Response:
    """The write page's form (multipart: it may carry a file). ``then`` is in the address
    the pressed button posts to, so the intent is known before any file byte is read:
    ``send`` files the report, ``details`` goes on to the details, ``page`` shows the
    page again (a language button)."""
    language = _lang(lang)
    if then not in ("send", "details", "page"):
        raise FormError()
    settings = runtime.settings
    limits = Limits(
        max_body_bytes=settings.max_submission_bytes,
        max_field_bytes=2 * settings.max_answers_bytes,
        max_fields=40,  # with the urgent lane's few fields
        max_files=settings.max_files_per_request,
    )
    events = read_multipart(request.stream(), request.headers.get("content-type"), limits)
    form, first_file = await _form_fields(events)
    state, lost = _open_or_lost(runtime, form, write_page=True)
    read_urgent_fields(form, state)
    step = read_step(CURRENT, NARRATIVE, form, country=state.country, earlier=state.answers)
    merge(NARRATIVE, state, step)
    check_size(state, settings.max_answers_bytes)
    kept = then == "send" and step.ok and not lost
    routing: logic.Routing | None = None
    error: str | None = None
    if kept or then == "details":
        try:
            routing = logic.route(runtime, state.country, state.recipient)
        except UnknownCoalitionError:
            error, kept = "routing", False
    if kept and first_file is None and not applicable(CURRENT, state.answers):
        error, kept = "empty", False
    if (kept or (then == "details" and error is None)) and urgent_unconsented(state):
        # Urgent answers without their consent: ask, rather than send without them.
        error, kept = "urgent", False
    if not kept:
        await _drain(events)
        dropped = first_file is not None
        if not step.ok or lost or error is not None or then == "page":
            status = 422 if (not step.ok or error) else (400 if lost else 200)
            return _write_page(
                language,
                runtime,
                state,
                step=step,
                error=error,
                state_lost=lost,
                file_dropped=dropped,
                status_code=status,
            )
        shown = visible_steps(CURRENT, state.answers)
        return _step_page(language, runtime, state, shown[0].id, file_dropped=dropped)
    if routing is None:  # kept implies routed; a guard for the type checker
        raise UnknownCoalitionError()
    try:
        token = _made_here(runtime, form)
    except (FormError, TokenFormatError, TokenChecksumError):
        await _drain(events)
        raise
    files = _then(first_file, events) if first_file is not None else None
    if files is None:
        await _drain(events)
    return await _file_report(language, runtime, state, routing, token, files)


def _create_case(
    runtime: Runtime,
    routing: logic.Routing,
    key: bytes,
    secrets: TokenSecrets,
    sealed: bytes,
    sealed_urgent: logic.SealedUrgent | None = None,
) -> bytes:
    """Create (or, for a re-sent page, find) the case, with its urgent record if there is
    one (in the same transaction: both or neither); returns the case's reference."""
    with transaction(runtime.sessions) as session:
        case, created = cases.create_case(
            session,
            coalition=routing.coalition,
            key=key,
            kdf=runtime.kdf,
            reply_public_key=secrets.reply.public,
            answers=sealed,
        )
        if created and sealed_urgent is not None:
            session.flush()
            urgent_lane.store_record(
                session,
                case,
                routing.coalition,
                sealed_urgent.ref,
                sealed_urgent.epoch,
                sealed_urgent.data,
            )
        return case.ref


async def _open_case(runtime: Runtime, token_text: str) -> tuple[Case | None, TokenSecrets]:
    """Derive and look up. The derivation runs for every well-formed token, found or not,
    so timing does not tell whether a case exists (SECURITY.md guarantee 4)."""
    token = parse_token(token_text)
    secrets = await runtime.deriver.derive(token)
    key = cases.lookup_key(secrets.lookup_id, runtime.settings.pepper)
    case = await run_in_threadpool(_find, runtime, key)
    # A case made under earlier KDF parameters has its key (and reply key) from those:
    # derive with each recorded set too, for every token alike (cases.older_kdfs).
    for limits in await run_in_threadpool(_older_kdfs, runtime):
        older = await runtime.deriver.derive(token, limits)
        key = cases.lookup_key(older.lookup_id, runtime.settings.pepper)
        found = await run_in_threadpool(_find, runtime, key)
        if case is None and found is not None:
            case, secrets = found, older
    return case, secrets


def _older_kdfs(runtime: Runtime) -> list[KdfLimits]:
    with transaction(runtime.sessions) as session:
        return cases.older_kdfs(session, runtime.kdf)


def _find(runtime: Runtime, key: bytes) -> Case | None:
    with transaction(runtime.sessions) as session:
        return cases.find_case(session, key)


def _view(runtime: Runtime, case: Case) -> cases.CaseView:
    # Only what the coalition signed is shown (audit F-08); see cases.view.
    with transaction(runtime.sessions) as session:
        return cases.view(session, case, runtime.registry.signing_keys)


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
            "origin": "received",
            "message_error": None,
            "upload": logic.browser_upload(runtime, case.ref, coalition, secrets),
        },
        pad=True,
    )


@router.get("/{lang}/status")
async def status_form(lang: str) -> Response:
    return page("status_form.html", _lang(lang), {"error": None, "typed": ""})


@router.post("/{lang}/status")
async def status(lang: str, request: Request, runtime: RuntimeDep) -> Response:
    language = _lang(lang)
    form = await _read_form(request, runtime)
    token_text = form.get("token", [""])[-1]
    try:
        case, secrets = await _open_case(runtime, token_text)
    except (TokenFormatError, TokenChecksumError) as exc:
        # Padded like the answers below, so a typo looks like every other status page.
        # What was typed stays in the field (the person's own input, back to them only):
        # retyping 24 digits to fix one is hard on a phone.
        typed = token_text[:60] if TYPED_TOKEN.fullmatch(token_text[:60]) else ""
        return page(
            "status_form.html",
            language,
            {"error": exc.code, "typed": typed},
            status_code=400,
            pad=True,
        )
    if case is None:
        return page("not_found.html", language, status_code=404, pad=True)
    skip = _skip(form.get("skip", ["0"])[-1])
    return await _status_page(language, runtime, case, secrets, parse_token(token_text), skip=skip)


async def _status_page(
    language: str,
    runtime: Runtime,
    case: Case,
    secrets: TokenSecrets,
    token: str,
    *,
    message_error: str | None = None,
    status_code: int = 200,
    skip: int = 0,
) -> Response:
    coalition = runtime.registry.get(case.coalition_id)
    if coalition is None:
        raise NotFoundError()
    view = await run_in_threadpool(_view, runtime, case)
    urgent = await run_in_threadpool(_urgent_view, runtime, case, coalition)
    replies = await run_in_threadpool(_open_replies, view, secrets)
    # As many of the newest replies as fit in one page size; "skip" pages to older ones.
    return fitted_page(
        "status.html",
        language,
        {
            "view": view,
            "token": token,
            # Only when the source coalition signed the transfer (cases.view).
            "transferred_to": coalition.name(language) if view.transferred_from else None,
            "status_labels": STATUS_LABELS,
            "urgent": urgent,
            "urgent_labels": URGENT_LABELS,
            "origin": "status",
            "message_error": message_error,
            "upload": logic.browser_upload(runtime, case.ref, coalition, secrets),
        },
        replies,
        skip,
        status_code=status_code,
    )


# The duty officer's signed word, as the family reads it (contract/duty.py ACK_STATUSES).
URGENT_LABELS = {
    "seen": N_("Seen by the duty officer, who is acting on it."),
    "lawyer_told": N_("A lawyer has been told."),
    "doctor_told": N_("A doctor has been told."),
    "family_told": N_("The family has been told."),
}


def _urgent_view(
    runtime: Runtime, case: Case, coalition: CoalitionEntry
) -> urgent_lane.UrgentView | None:
    with transaction(runtime.sessions) as session:
        return urgent_lane.view(session, case, coalition)


def _skip(text: str) -> int:
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 6 else 0


def _open_replies(view: cases.CaseView, secrets: TokenSecrets) -> list[str | None]:
    """Open the replies in memory for this one response, with the key the token just
    derived; one that does not open is shown as such (None), never as an error page."""
    return [open_reply(sealed, secrets.reply) for sealed in view.replies]


@router.post("/{lang}/case/token")
async def token_again(lang: str, request: Request, runtime: RuntimeDep) -> Response:
    """The token page again, in another language (its language buttons post the token
    here, so it never appears in an address): the page must not lose the token."""
    language = _lang(lang)
    form = await _read_form(request, runtime)
    case, secrets = await _open_case(runtime, _field(form, "token"))
    if case is None:
        return page("not_found.html", language, status_code=404, pad=True)
    coalition = runtime.registry.get(case.coalition_id)
    if coalition is None:
        raise NotFoundError()
    token = parse_token(_field(form, "token"))
    return _token_page(language, runtime, token, coalition, case.ref, secrets, pad=True)


@router.post("/{lang}/case/message")
async def case_message(lang: str, request: Request, runtime: RuntimeDep) -> Response:
    language = _lang(lang)
    form = await _read_form(request, runtime)
    case, secrets = await _open_case(runtime, form.get("token", [""])[-1])
    if case is None:
        return page("not_found.html", language, status_code=404, pad=True)
    coalition = runtime.registry.get(case.coalition_id)
    if coalition is None:
        raise NotFoundError()
    token = parse_token(form["token"][-1])
    text, _removed = strip_invisible(form.get("message", [""])[-1])
    text = text.strip()
    if not text or len(text) > MAX_MESSAGE:
        # Refused on the page it was sent from (the token page stays the token page),
        # with what was typed kept in the box.
        error = "empty" if not text else "too_long"
        origin = _field(form, "from")
        if origin == "token":
            return _token_page(
                language,
                runtime,
                token,
                coalition,
                case.ref,
                secrets,
                message_error=error,
                status_code=422,
                pad=True,
            )
        if origin == "status":
            return await _status_page(
                language, runtime, case, secrets, token, message_error=error, status_code=422
            )
        view = await run_in_threadpool(_view, runtime, case)
        return page(
            "message_received.html",
            language,
            {
                "view": view,
                "token": token,
                "origin": "received",
                "message_error": error,
                "sent": False,
                "upload": logic.browser_upload(runtime, case.ref, coalition, secrets),
            },
            status_code=422,
            pad=True,
        )
    sealed = await run_in_threadpool(logic.seal_message, runtime, case, coalition, text, secrets)
    await run_in_threadpool(_add_item, runtime, case, coalition, sealed)
    view = await run_in_threadpool(_view, runtime, case)
    upload = logic.browser_upload(runtime, case.ref, coalition, secrets)
    return page(
        "message_received.html",
        language,
        {
            "view": view,
            "token": token,
            "upload": upload,
            "origin": "received",
            "message_error": None,
            "sent": True,
        },
        pad=True,
    )


def _add_item(runtime: Runtime, case: Case, coalition: Any, sealed: bytes) -> None:
    with transaction(runtime.sessions) as session:
        cases.add_whole_item(session, case, coalition, sealed)
