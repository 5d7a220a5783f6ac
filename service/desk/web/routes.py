"""The desk's pages. Routes parse, call the desk, then render or redirect (303).

  /{lang}/                                 cases: GET filters and sort
  /{lang}/case/{ref}                       one case: answers, files, reply, triage, history
  POST /{lang}/case/{ref}/triage           status, priority, assignee, tags, private note
  POST /{lang}/case/{ref}/reply            seal a reply for the person who filed
  /{lang}/case/{ref}/file/{item}/stripped  metadata-stripped copy (download)
  /{lang}/case/{ref}/file/{item}/original  the original, as evidence (download)
  /{lang}/import, POST                     import a bundle from a path on this laptop
  POST /{lang}/import/retry                try the items in quarantine again
  /{lang}/export, POST                     write the signed outbox to a new file

The desk's calls are blocking (decryption, disk): they run in the thread pool; the desk
serialises them itself. A refused form is shown again with what was typed and a fixed
sentence, so a long reply is never lost to a typo.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from service.common.clock import current_week
from service.common.contract.bundle import BundleError
from service.common.contract.outbox import MAX_REPLY_BYTES
from service.common.contract.vocabulary import PRIORITIES, STATUSES
from service.common.errors import NotFoundError
from service.common.i18n import DEFAULT_LANGUAGE, LANGUAGES
from service.common.webkit.forms import parse_urlencoded, read_body
from service.desk.casework.desk import MAX_NOTE_BYTES, CaseDetail, Desk
from service.desk.errors import (
    DiskFullError,
    ForeignBundleError,
    ItemNotFoundError,
    OutboxPathError,
    ReplyError,
    TransferError,
    TriageError,
)
from service.desk.inbox.strip import kind_of
from service.desk.store.keys import weak_limits
from service.desk.web import logic
from service.desk.web.deps import DeskDep
from service.desk.web.errors import (
    BundlePathError,
    KeysRotatedError,
    NoStrippedCopyError,
    OutboxTargetError,
)
from service.desk.web.render import gettext, page, stylesheet

router = APIRouter(include_in_schema=False)

# A reply (256 KiB) percent-encoded as Cyrillic is about three times as long.
MAX_FORM_BYTES = 4 * (MAX_REPLY_BYTES + MAX_NOTE_BYTES)
FLASHES = ("triage", "reply", "transfer")


def language_of(path: str) -> str:
    first = path.strip("/").split("/", 1)[0]
    return first if first in LANGUAGES else DEFAULT_LANGUAGE


def chrome(desk: Desk) -> dict[str, Any]:
    """What every page shows around its content."""
    return {"coalition": desk.coalition, "weak_desk": weak_limits(desk.limits)}


def _lang(lang: str) -> str:
    if lang not in LANGUAGES:
        raise NotFoundError()
    return lang


def _here(request: Request, lang: str) -> str:
    """This page's address without its language, for the language picker."""
    rest = request.url.path[len(lang) + 2 :]
    return rest + (f"?{request.url.query}" if request.url.query else "")


async def _form(request: Request) -> dict[str, str]:
    fields = parse_urlencoded(await read_body(request.stream(), MAX_FORM_BYTES))
    return {name: values[-1] for name, values in fields.items()}


# --- the frame ------------------------------------------------------------------------


@router.get("/")
async def root() -> Response:
    return RedirectResponse(f"/{DEFAULT_LANGUAGE}/", status_code=303)


@router.get("/static/desk.css")
async def css() -> Response:
    return Response(stylesheet(), media_type="text/css; charset=utf-8")


@router.get("/{lang}")
async def home_no_slash(lang: str) -> Response:
    return RedirectResponse(f"/{_lang(lang)}/", status_code=303)


# --- cases ----------------------------------------------------------------------------


@router.get("/{lang}/")
async def case_list(lang: str, request: Request, desk: DeskDep) -> Response:
    language = _lang(lang)
    query = logic.list_query(request.query_params)
    every = await run_in_threadpool(desk.list_cases)
    shown = await run_in_threadpool(desk.list_cases, query.filters, query.sort)
    _ = gettext(language)
    rows = [
        {
            "summary": s,
            "status": logic.status_label(s.status, _),
            "priority": logic.priority_label(s.priority, _),
            "country": logic.country_name(s.country, _),
            "detained": logic.detained_label(s.detained, _),
        }
        for s in shown
    ]
    context = {
        **chrome(desk),
        "here": _here(request, language),
        "rows": rows,
        "total": len(every),
        "form": query.form(),
        "options": logic.filter_options(every, _),
        "filtered": query.form() != logic.list_query({}).form(),
        "backup": await run_in_threadpool(desk.backup_state),
    }
    return page("cases.html", language, context)


def _case_context(
    desk: Desk, detail: CaseDetail, language: str, here: str, **extra: Any
) -> dict[str, Any]:
    _ = gettext(language)
    s = detail.summary
    sections, exact = logic.answer_sections(detail, _)
    triage = {
        "status": s.status,
        "priority": s.priority,
        "assignee": s.assignee or "",
        "tags": logic.tags_text(s.tags),
        "note": "",
    }
    return {
        **chrome(desk),
        "here": here,
        "detail": detail,
        "s": s,
        "status": logic.status_label(s.status, _),
        "server_status": logic.status_label(detail.server_status, _),
        "priority": logic.priority_label(s.priority, _),
        "country": logic.country_name(s.country, _),
        "language": logic.language_name(s.language),
        "detained": logic.detained_label(s.detained, _),
        "assignee": logic.visible(s.assignee),
        "tags": [logic.visible(t) for t in s.tags],
        "sections": sections,
        "exact": exact or not detail.answers,
        "attachments": logic.attachments(detail),
        "messages": [(m.created, logic.visible(m.text, multiline=True)) for m in detail.messages],
        # Staff wrote these, but a pasted text can carry invisible characters too.
        "notes": [
            (
                f"{n.date} {logic.by_line(n.by, n.week)}".strip(),
                logic.visible(n.text, multiline=True),
            )
            for n in detail.notes
        ],
        "replies": [
            (
                f"{r.date} {logic.by_line(r.by, r.week)}".strip(),
                r.exported,
                logic.visible(r.text, multiline=True),
            )
            for r in detail.replies
        ],
        "records": logic.record_rows(desk.records(s.ref), _),
        "history": logic.history(detail.history, _),
        "statuses": [(v, logic.status_label(v, _)) for v in STATUSES],
        "priorities": [(v, logic.priority_label(v, _)) for v in PRIORITIES],
        "triage": triage,
        "reply": "",
        "triage_error": None,
        "reply_error": None,
        "coalitions": [
            (c.id, logic.visible(f"{c.name} ({c.id})" if c.name else c.id))
            for c in desk.known_coalitions()
            if c.id != desk.coalition
        ],
        "transferred_to": logic.transferred_to(detail.history),
        "transfer_error": None,
        "transfer": {"to": "", "note": "", "consent_in_message": False},
        "flash": None,
        **extra,
    }


@router.get("/{lang}/case/{ref}")
async def case_view(lang: str, ref: str, request: Request, desk: DeskDep) -> Response:
    language = _lang(lang)
    detail = await run_in_threadpool(desk.get_case, ref)
    done = request.query_params.get("done")
    context = _case_context(
        desk,
        detail,
        language,
        _here(request, language),
        flash=done if done in FLASHES else None,
    )
    return page("case.html", language, context)


@router.post("/{lang}/case/{ref}/triage")
async def case_triage(lang: str, ref: str, request: Request, desk: DeskDep) -> Response:
    language = _lang(lang)
    form = await _form(request)
    detail = await run_in_threadpool(desk.get_case, ref)
    add, remove = logic.tag_changes(detail.summary.tags, form.get("tags", ""))
    note = form.get("note", "")
    change = partial(
        desk.set_triage,
        detail.summary.ref,
        status=form.get("status") or None,
        priority=form.get("priority") or None,
        assignee=form.get("assignee"),
        add_tags=add,
        remove_tags=remove,
        note=note if note.strip() else None,
    )
    try:
        await run_in_threadpool(change)
    except TriageError as error:
        typed = {k: form.get(k, "") for k in ("status", "priority", "assignee", "tags", "note")}
        here = f"case/{detail.summary.ref}"
        context = _case_context(desk, detail, language, here, triage=typed, triage_error=error.code)
        return page("case.html", language, context, status_code=400)
    return _back_to_case(language, detail, "triage")


@router.post("/{lang}/case/{ref}/reply")
async def case_reply(lang: str, ref: str, request: Request, desk: DeskDep) -> Response:
    language = _lang(lang)
    form = await _form(request)
    detail = await run_in_threadpool(desk.get_case, ref)
    text = form.get("reply", "")
    try:
        await run_in_threadpool(desk.add_reply, detail.summary.ref, text)
    except ReplyError as error:
        here = f"case/{detail.summary.ref}"
        context = _case_context(desk, detail, language, here, reply=text, reply_error=error.code)
        return page("case.html", language, context, status_code=400)
    return _back_to_case(language, detail, "reply")


@router.post("/{lang}/case/{ref}/transfer")
async def case_transfer(lang: str, ref: str, request: Request, desk: DeskDep) -> Response:
    """Queue passing the case to another coalition (re-sealed at the next export)."""
    language = _lang(lang)
    form = await _form(request)
    detail = await run_in_threadpool(desk.get_case, ref)
    note = form.get("note", "")
    change = partial(
        desk.transfer,
        detail.summary.ref,
        form.get("to", ""),
        note=note if note.strip() else None,
        consent_in_message=form.get("consent_in_message") == "yes",
    )
    try:
        await run_in_threadpool(change)
    except (TransferError, TriageError) as error:
        here = f"case/{detail.summary.ref}"
        typed = {
            "to": form.get("to", ""),
            "note": note,
            "consent_in_message": form.get("consent_in_message") == "yes",
        }
        context = _case_context(
            desk, detail, language, here, transfer_error=error.code, transfer=typed
        )
        return page("case.html", language, context, status_code=400)
    return _back_to_case(language, detail, "transfer")


def _back_to_case(language: str, detail: CaseDetail, done: str) -> Response:
    anchor = {"reply": "replies", "transfer": "transfer"}.get(done, "triage")
    url = f"/{language}/case/{detail.summary.ref}?done={done}#{anchor}"
    return RedirectResponse(url, status_code=303)


# --- files ----------------------------------------------------------------------------


async def _file(desk: Desk, ref: str, item_ref: str) -> tuple[int, str]:
    detail = await run_in_threadpool(desk.get_case, ref)
    found = logic.file_item(detail, item_ref)
    if found is None:
        # Only a file of this very case: a reference from another case is "not found".
        raise ItemNotFoundError()
    number, item = found
    return number, item.name or ""


@router.get("/{lang}/case/{ref}/file/{item_ref}/stripped")
async def file_stripped(lang: str, ref: str, item_ref: str, desk: DeskDep) -> Response:
    _lang(lang)
    number, _name = await _file(desk, ref, item_ref)
    data = await run_in_threadpool(desk.stripped_copy, item_ref)
    kind = None if data is None else kind_of(data)
    if data is None or kind is None:
        raise NoStrippedCopyError()
    return Response(
        data,
        media_type=logic.MEDIA_TYPES[kind],
        headers={
            "content-disposition": logic.content_disposition(logic.stripped_name(number, kind))
        },
    )


@router.get("/{lang}/case/{ref}/file/{item_ref}/original")
async def file_original(lang: str, ref: str, item_ref: str, desk: DeskDep) -> Response:
    _lang(lang)
    number, name = await _file(desk, ref, item_ref)
    size, pieces = await run_in_threadpool(desk.attachment_pieces, item_ref)
    # Never shown in the browser: a submitted file is opened, if at all, by a program
    # the coalition chose, on this offline laptop. Streamed piece by piece (memory stays
    # flat whatever the size); a damaged piece cuts the download short of its length.
    return StreamingResponse(
        pieces,
        media_type="application/octet-stream",
        headers={
            "content-disposition": logic.content_disposition(logic.original_name(name, number)),
            "content-length": str(size),
        },
    )


# --- bundles in, outbox out -----------------------------------------------------------


@router.get("/{lang}/import")
async def import_form(lang: str, desk: DeskDep) -> Response:
    language = _lang(lang)
    context = {**chrome(desk), "here": "import", "path": ""}
    return page("import.html", language, {**context, **await _held(desk, language)})


async def _held(desk: Desk, language: str) -> dict[str, Any]:
    """The items in quarantine, listed on the import page with their reasons."""
    held = await run_in_threadpool(desk.quarantined)
    return {"held": logic.held_items(held, gettext(language))}


@router.post("/{lang}/import")
async def import_bundle(lang: str, request: Request, desk: DeskDep) -> Response:
    language = _lang(lang)
    typed = (await _form(request)).get("path", "")
    context: dict[str, Any] = {**chrome(desk), "here": "import", "path": typed}
    try:
        if request.app.state.gate.keys_changed():
            # After `aryz desk rotate` this process still holds the old keys: items for
            # the new key would be quarantined as "cannot be opened". Say what to do.
            raise KeysRotatedError()
        path = logic.bundle_path(typed)
        report = await run_in_threadpool(desk.import_bundle, path)
    except (
        BundlePathError,
        BundleError,
        ForeignBundleError,
        DiskFullError,
        KeysRotatedError,
    ) as error:
        return page("import.html", language, {**context, "error": error.code}, status_code=400)
    problems = logic.import_problems(report, gettext(language))
    # The form below the report starts empty again: the next bundle is another file.
    done = {**context, "path": "", "report": report, "problems": problems}
    done.update(await _held(desk, language))
    return page("import.html", language, done)


@router.post("/{lang}/import/retry")
async def retry_quarantine(lang: str, request: Request, desk: DeskDep) -> Response:
    """Items set aside while a key was missing (a desk open across a rotation) import now."""
    language = _lang(lang)
    await _form(request)  # the body is read (and bounded) like every form's
    context: dict[str, Any] = {**chrome(desk), "here": "import", "path": ""}
    try:
        retried = await run_in_threadpool(desk.retry_quarantine)
    except DiskFullError as error:
        return page("import.html", language, {**context, "error": error.code}, status_code=400)
    context["retried"] = {"imported": retried.imported, "total": retried.listed}
    context.update(await _held(desk, language))
    return page("import.html", language, context)


@router.get("/{lang}/export")
async def export_form(lang: str, desk: DeskDep) -> Response:
    language = _lang(lang)
    return page("export.html", language, await _export_context(desk, ""))


async def _export_context(desk: Desk, typed: str) -> dict[str, Any]:
    waiting = await run_in_threadpool(desk.list_cases)
    return {
        **chrome(desk),
        "here": "export",
        "path": typed,
        "pending": sum(s.pending for s in waiting),
        "example": f"/media/usb/outbox-{current_week()}.json",
    }


@router.post("/{lang}/export")
async def export_outbox(lang: str, request: Request, desk: DeskDep) -> Response:
    language = _lang(lang)
    typed = (await _form(request)).get("path", "")
    try:
        path = logic.outbox_path(typed)
        report = await run_in_threadpool(desk.export_outbox, path)
    except (OutboxTargetError, OutboxPathError, DiskFullError) as error:
        context = {**await _export_context(desk, typed), "error": error.code}
        return page("export.html", language, context, status_code=400)
    # The form starts empty again: an outbox is never written over an earlier one.
    context = {**await _export_context(desk, ""), "report": report}
    return page("export.html", language, context)
