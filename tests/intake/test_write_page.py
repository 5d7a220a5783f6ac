"""Message first: the write page (the account, the country, a file) sends a report on its
own; empty reports and messages are refused on the page they came from; the token page
keeps its token across languages; a mistyped token stays in its field; the quick exit,
the stylesheet and every organisation's name in every language."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape

from service.common.crypto.formstate import FormStateKey
from service.common.crypto.keys import BoxKeyPair
from service.common.crypto.token import format_token
from service.common.i18n import LANGUAGES, SOURCE_LANGUAGE, translations
from service.server.cli.demo import DEMO_COALITIONS
from service.server.deps import Runtime
from service.server.models import Case, Item
from tests.support import TOKEN_FIELD, count, file_report, mark_of, opened_items, state_of

EMPTY_FILE = {"file": ("", b"", "application/octet-stream")}  # a file input left empty


def _write(client: TestClient, lang: str = "en") -> str:
    response = client.get(f"/{lang}/report")
    assert response.status_code == 200
    return str(response.text)


def _send(
    client: TestClient,
    page: str,
    fields: dict[str, str],
    *,
    lang: str = "en",
    then: str = "send",
    files: dict[str, tuple[str, bytes, str]] | None = None,
) -> Any:
    """Post the write page as a browser does: multipart, the file input last."""
    token = TOKEN_FIELD.search(page)
    assert token is not None
    form = {"state": state_of(page), "token": token.group(1), "token_mark": mark_of(page),
            "recipient": "national", **fields}  # fmt: skip
    return client.post(f"/{lang}/report/send?then={then}", data=form, files=files or EMPTY_FILE)


def test_a_message_only_report_is_one_page_and_a_send(
    client: TestClient, runtime: Runtime, desk_keys: dict[str, BoxKeyPair]
) -> None:
    page = _write(client)
    response = _send(client, page, {"narrative.text": "They beat my brother", "country": "TJ"})
    assert response.status_code == 200
    token = TOKEN_FIELD.search(page).group(1)  # type: ignore[union-attr]
    assert format_token(token) in response.text
    ((meta, body),) = opened_items(runtime, desk_keys)
    assert meta["type"] == "answers"
    sealed = json.loads(body)
    assert sealed["answers"] == {"narrative.text": "They beat my brother"}
    assert (sealed["country"], sealed["coalition"]) == ("TJ", "tj-coalition")


def test_a_file_sent_with_the_account_is_sealed_into_the_same_case(
    client: TestClient, runtime: Runtime, desk_keys: dict[str, BoxKeyPair]
) -> None:
    photo = bytes(range(256)) * 5000  # 1.28 MB: more than one stored piece
    files = {"file": ("bruise.jpg", photo, "image/jpeg")}
    fields = {"narrative.text": "see the photo", "country": "KZ"}
    response = _send(client, _write(client), fields, files=files)
    assert response.status_code == 200
    assert "bruise.jpg" in response.text
    assert count(runtime, Case) == 1
    items = opened_items(runtime, desk_keys)
    assert [m["type"] for m, _ in items] == ["answers", "file"]
    assert items[1] == (items[1][0], photo)
    assert items[1][0]["name"] == "bruise.jpg"


def test_a_file_alone_is_a_report(
    client: TestClient, runtime: Runtime, desk_keys: dict[str, BoxKeyPair]
) -> None:
    files = {"file": ("scan.pdf", b"%PDF-1.7", "application/pdf")}
    response = _send(client, _write(client), {"country": "UZ"}, files=files)
    assert response.status_code == 200
    assert [m["type"] for m, _ in opened_items(runtime, desk_keys)] == ["answers", "file"]


@pytest.mark.parametrize("text", ["", "   \n  "])
def test_an_empty_report_is_refused_on_the_same_page(
    client: TestClient, runtime: Runtime, text: str
) -> None:
    response = _send(client, _write(client), {"narrative.text": text, "country": "KG"})
    assert response.status_code == 422
    html = response.text
    assert "please write what happened, or add a file" in html
    assert "<h1>What happened?</h1>" in html
    assert 'value="KG" checked' in html  # what was chosen is still chosen
    assert count(runtime, Case) == 0


def test_the_country_is_required_and_says_so_before_sending(
    client: TestClient, runtime: Runtime
) -> None:
    page = _write(client)  # English implies no country
    assert "(required)" in page
    assert 'name="country" value="KZ" checked' not in page
    response = _send(client, page, {"narrative.text": "keep this text"})
    assert response.status_code == 422
    assert "choose the country" in response.text
    assert ">keep this text</textarea>" in response.text
    assert count(runtime, Case) == 0


@pytest.mark.parametrize(("lang", "country"), [("tg", "TJ"), ("kaa", "UZ"), ("kk", "KZ")])
def test_the_language_chooses_its_country_in_advance(
    client: TestClient, lang: str, country: str
) -> None:
    assert f'name="country" value="{country}" checked' in _write(client, lang)
    home = client.get(f"/{lang}/").text
    buttons = re.findall(r'<button type="submit" name="country" value="([A-Z]{2})"', home)
    assert buttons[0] == country  # its country first
    assert len(buttons) == 5  # and all five there


def test_the_home_page_starts_the_report_with_the_country(client: TestClient) -> None:
    home = client.get("/ru/").text
    assert '<form method="post" action="/ru/report/start"' in home  # never in an address
    page = client.post("/ru/report/start", data={"country": "TM"}).text
    assert 'name="country" value="TM" checked' in page
    assert "narrative.text" in page


def test_add_details_leads_to_the_details_and_carries_the_account(client: TestClient) -> None:
    files = {"file": ("photo.jpg", b"jpeg", "image/jpeg")}
    fields = {"narrative.text": "the account", "country": "KZ"}
    response = _send(client, _write(client), fields, then="details", files=files)
    assert response.status_code == 200
    html = response.text
    assert "<h1>About you</h1>" in html
    assert 'name="narrative.text" value="the account"' in html
    # A file cannot travel between pages without JavaScript: the page says so.
    assert "The file you chose was not kept" in html


def test_a_language_button_shows_the_write_page_again_with_the_text(
    client: TestClient, runtime: Runtime
) -> None:
    page = _write(client)
    assert 'form="write" formaction="/tg/report/send?then=page"' in page
    response = client.post(
        "/tg/report/send?then=page",
        data={"state": state_of(page), "token": "0" * 24, "narrative.text": "матн",
              "country": "TJ", "recipient": "national"},
        files=EMPTY_FILE,
    )  # fmt: skip
    assert response.status_code == 200
    assert '<html lang="tg">' in response.text
    assert ">матн</textarea>" in response.text
    assert count(runtime, Case) == 0


def test_enter_continues_each_step_with_its_own_default_button(client: TestClient) -> None:
    """The first submit button of a form is what Enter presses: on each page that has
    language buttons for the same form, it is the page's own, not a language."""
    page = _write(client)
    first = re.search(r'<button type="submit" form="write"[^>]*>', page)
    assert first is not None
    assert "formaction" not in first.group(0)
    step = _send(client, page, {"country": "KZ"}, then="details").text
    first = re.search(r'<button type="submit" form="step"[^>]*>', step)
    assert first is not None
    assert "formaction" not in first.group(0)
    assert "name=" not in first.group(0)
    # No "go" (that default button): the step continues, in the same language.
    data = {"state": state_of(step), "step": "filer", "country": "KZ", "recipient": "national"}
    nxt = client.post("/en/report", data=data)
    assert "<h1>The person this happened to</h1>" in nxt.text


def test_a_stale_write_page_without_details_still_sends(
    client: TestClient, runtime: Runtime
) -> None:
    page = _write(client)
    runtime.form_state = FormStateKey()  # a restart, or a day later
    response = _send(client, page, {"narrative.text": "a day later", "country": "KZ"})
    assert response.status_code == 200  # nothing but this page was ever in it
    assert count(runtime, Case) == 1


def test_the_review_has_send_at_the_top_and_bottom_and_folds_skipped_sections(
    client: TestClient,
) -> None:
    fields = {"narrative.text": "x", "country": "KZ"}
    step = _send(client, _write(client), fields, then="details").text
    review = client.post(
        "/en/report",
        data={"state": state_of(step), "step": "filer", "go": "review", "country": "KZ",
              "recipient": "national", "narrative.text": "x", "filer.role": "witness"},
    ).text  # fmt: skip
    sends = [m.start() for m in re.finditer(r'name="action" value="send"', review)]
    assert len(sends) == 2
    assert sends[0] < review.index("<dt>Country</dt>") < review.index("Not answered") < sends[1]
    assert review.count(">Change</button>") == 1  # only the answered section has its own


def test_an_empty_message_keeps_the_token_page(client: TestClient, runtime: Runtime) -> None:
    token = file_report(client, narrative="x")
    response = client.post(
        "/en/case/message", data={"token": token, "message": "  ", "from": "token"}
    )
    assert response.status_code == 422
    assert format_token(token) in response.text  # the token page stays the token page
    assert "The message is empty" in response.text
    assert count(runtime, Item) == 1


def test_an_empty_message_keeps_the_status_page(client: TestClient) -> None:
    token = file_report(client, narrative="x")
    response = client.post(
        "/en/case/message", data={"token": token, "message": "", "from": "status"}
    )
    assert response.status_code == 422
    assert "Status:" in response.text
    assert "The message is empty" in response.text


def test_the_token_page_changes_language_without_losing_the_token(client: TestClient) -> None:
    token = file_report(client, narrative="x")
    response = client.post("/en/case/message", data={"token": token, "message": "hi"})
    assert response.status_code == 200
    page = client.post("/ru/case/token", data={"token": token})
    assert page.status_code == 200
    assert '<html lang="ru">' in page.text
    assert format_token(token) in page.text
    en = client.post(
        "/en/case/token", data={"token": format_token(token)}
    ).text  # as written down, with spaces
    assert 'form="token-language" formaction="/kk/case/token"' in en
    assert token not in en.split("<main>")[0]  # the token is in no address or link


def test_the_token_page_says_what_is_true(client: TestClient) -> None:
    token = file_report(client, narrative="x")
    page = client.post("/en/case/token", data={"token": token}).text
    assert "shown only once" not in page
    assert "close Tor Browser completely" in page
    assert "look like a phone number" in page
    assert "If you lose it" in page


def test_a_mistyped_token_stays_in_the_field(client: TestClient) -> None:
    response = client.post("/en/status", data={"token": "1234 5678 9012 3456 7890 1235"})
    assert response.status_code == 400
    assert 'value="1234 5678 9012 3456 7890 1235"' in response.text


def test_no_file_chosen_does_not_say_files_received(client: TestClient) -> None:
    token = file_report(client, narrative="x")
    # Exactly what a browser sends for a file input left empty: filename="" and no data.
    body = (
        f'--b\r\nContent-Disposition: form-data; name="token"\r\n\r\n{token}\r\n'
        '--b\r\nContent-Disposition: form-data; name="file"; filename=""\r\n'
        "Content-Type: application/octet-stream\r\n\r\n\r\n--b--\r\n"
    )
    response = client.post(
        "/en/case/files",
        content=body.encode(),
        headers={"Content-Type": "multipart/form-data; boundary=b"},
    )
    assert response.status_code == 200
    assert "<h1>No file was chosen.</h1>" in response.text
    assert "Files received" not in response.text


def test_the_quick_exit_leads_to_a_small_plain_page_of_this_site(client: TestClient) -> None:
    page = client.get("/tg/").text
    assert '<a class="exit" href="/tg/weather">' in page
    weather = client.get("/tg/weather")
    assert weather.status_code == 200
    assert len(weather.content) < 1024
    assert "Aryz" not in weather.text
    assert "stylesheet" not in weather.text
    assert translations("tg").gettext("Weather") in weather.text


def test_the_title_names_no_subject(client: TestClient) -> None:
    for path in ("/ru/", "/ru/report", "/ru/safety"):
        assert "<title>Aryz</title>" in client.get(path).text


def test_the_stylesheet_is_cached_under_a_versioned_name_without_validators(
    client: TestClient,
) -> None:
    page = client.get("/en/").text
    match = re.search(r'<link rel="stylesheet" href="(/static/aryz\.[0-9a-f]{16}\.css)">', page)
    assert match is not None
    css = client.get(match.group(1))
    assert css.status_code == 200
    assert css.headers["cache-control"] == "public, max-age=31536000, immutable"
    for name in ("etag", "last-modified", "date", "pragma"):
        assert name not in css.headers
    assert client.get("/static/aryz.0000000000000000.css").status_code == 404
    assert client.get("/en/").headers["cache-control"] == "no-store"  # pages are not kept
    assert client.get("/favicon.ico").status_code == 204


def _demo_names() -> dict[str, dict[str, str]]:
    return {cid: names for cid, _countries, _fallback, names in DEMO_COALITIONS}


def test_the_demo_and_the_deployment_example_name_every_organisation_in_every_language() -> None:
    import tomllib
    from pathlib import Path

    example = Path(__file__).resolve().parents[2] / "deploy" / "registry.example.toml"
    registry = tomllib.loads(example.read_text("utf-8"))
    for names in [*_demo_names().values(), *(c["names"] for c in registry["coalition"])]:
        assert set(names) == set(LANGUAGES), names["en"]
        assert len(set(names.values())) >= 7, names["en"]  # not English copied about


@pytest.mark.parametrize("code", sorted(set(LANGUAGES) - {SOURCE_LANGUAGE}))
def test_no_organisation_name_falls_back_to_english(client: TestClient, code: str) -> None:
    names = _demo_names()
    english = [n["en"] for n in names.values()]
    token = file_report(client, code, country="TM", narrative="x")
    pages = {
        "write": client.get(f"/{code}/report").text,
        "keys": client.get(f"/{code}/keys").text,
        "token": client.post(f"/{code}/case/token", data={"token": token}).text,
    }
    for where, html in pages.items():
        for name in english:
            assert str(escape(name)) not in html, (code, where, name)
    assert str(escape(names["iphr"][code])) in pages["write"]
    assert str(escape(names["tj-coalition"][code])) in pages["write"]  # under its country
    assert str(escape(names["tihr"][code])) in pages["token"]
    for cid, n in names.items():
        assert str(escape(n[code])) in pages["keys"], (code, cid)


def test_one_english_label_gets_the_translation_its_question_needs(client: TestClient) -> None:
    """ "Someone else" detained the person (nominative) but the complaint went to someone
    else (dative): the complaints list has its own message context."""
    state = state_of(client.get("/ru/report").text)
    complaints = client.post("/ru/report", data={"state": state, "go": "complaints"}).text
    arrest = client.post("/ru/report", data={"state": state, "go": "arrest"}).text
    assert "Кому-то другому" in complaints
    assert "В прокуратуру" in complaints
    assert "Кто-то другой" in arrest
    assert "Кому-то другому" not in arrest
    review = client.post(
        "/ru/report",
        data={"state": state, "step": "complaints", "go": "review", "country": "KZ",
              "complaints.to": ["prosecutor", "other"]},
    ).text  # fmt: skip
    assert "В прокуратуру; Кому-то другому" in review


def test_details_can_be_added_to_a_case_after_sending(
    client: TestClient, runtime: Runtime, desk_keys: dict[str, BoxKeyPair]
) -> None:
    response = _send(client, _write(client), {"narrative.text": "first", "country": "KG"})
    token = TOKEN_FIELD.search(response.text).group(1)  # type: ignore[union-attr]
    assert 'action="/en/case/details"' in response.text  # offered on the token page
    step = client.post("/en/case/details", data={"token": token}).text
    assert "<h1>About you</h1>" in step
    assert f'name="follow_up" value="{token}"' in step
    fields = {"state": state_of(step), "follow_up": token, "country": "KG",
              "recipient": "national", "narrative.text": ""}  # fmt: skip
    nxt = client.post("/en/report", data={**fields, "step": "filer", "go": "next",
                                          "filer.role": "witness"}).text  # fmt: skip
    assert "<h1>The person this happened to</h1>" in nxt
    # Back from the first page of details does not lead to a new report's write page.
    filer = {**fields, "step": "filer", "filer.role": "witness"}
    back = client.post("/en/report", data={**filer, "state": state_of(nxt), "go": "back"}).text
    assert "<h1>About you</h1>" in back
    review = client.post("/en/report", data={**filer, "state": state_of(back), "go": "review"}).text
    assert "added to the case you already sent" in review
    sent = client.post(
        "/en/report/submit",
        # The review page's own token: its state is bound to it (F-14).
        data={**fields, "state": state_of(review), "action": "send",
              "token": TOKEN_FIELD.search(review).group(1)},  # type: ignore[union-attr]
    )  # fmt: skip
    assert sent.status_code == 200, sent.text[:300]
    assert "<h1>Details added</h1>" in sent.text
    assert count(runtime, Case) == 1  # the same case, not a second
    items = opened_items(runtime, desk_keys)
    assert [m["type"] for m, _ in items] == ["answers", "message"]
    text = items[1][1].decode()
    assert "Details added after the report was sent" in text
    assert "Who is filing this report?: A witness" in text
    assert '{"filer.role": "witness"}' in text  # and as data, for whoever imports it


def test_details_for_a_case_survive_a_restart_as_details(
    client: TestClient, runtime: Runtime
) -> None:
    token = file_report(client, narrative="x")
    step = client.post("/en/case/details", data={"token": token}).text
    runtime.form_state = FormStateKey()
    response = client.post(
        "/en/report/submit",
        data={"state": state_of(step), "follow_up": token, "narrative.text": "", "token": "0" * 24},
    )
    assert response.status_code == 400
    assert f'name="follow_up" value="{token}"' in response.text  # still for that case
    assert count(runtime, Case) == 1


def test_starting_details_for_a_case_is_the_same_size_found_or_not(client: TestClient) -> None:
    from service.common.crypto.token import generate_token

    token = file_report(client, narrative="x")
    found = client.post("/en/case/details", data={"token": token})
    unknown = client.post("/en/case/details", data={"token": generate_token()})
    assert (found.status_code, unknown.status_code) == (200, 404)
    assert len(found.content) == len(unknown.content)
