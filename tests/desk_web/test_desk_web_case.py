"""One case: readable answers, messages, files (stripped copy vs original), untrusted text."""

from __future__ import annotations

import hashlib
import io
import re

import pikepdf
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from service.common.i18n import translations
from service.desk.casework.desk import Desk
from tests.desk_web.seed import (
    AUTHOR,
    CAMERA,
    MESSAGE,
    NARRATIVE,
    Seeded,
    jpeg_with_exif,
)


def file_links(html: str, kind: str) -> list[str]:
    return re.findall(rf'href="(/(?:ru|en)/case/[0-9a-f]{{32}}/file/[0-9a-f]{{32}}/{kind})"', html)


def item_ref(link: str) -> str:
    return link.split("/")[-2]


def test_answers_are_readable_by_section_in_english(client: TestClient, seeded: Seeded) -> None:
    html = client.get(f"/en/case/{seeded.main.ref}").text
    assert f"Case {seeded.main.ref[:12]}" in html
    assert seeded.main.ref in html  # the full reference, to quote to a colleague
    for expected in (
        '<h3 class="section">Who is filing</h3>',
        "<dt>Who is filing this report?</dt>",
        "<dd>A relative or friend</dd>",
        "<dd>Temporary detention facility (IVS)</dd>",
        '<h3 class="section">Consent and contact</h3>',
        "<dd>Ask me first</dd>",
        f'<dd class="typed">{NARRATIVE}</dd>',  # line breaks kept, shown as typed
        "<dd>Yes, still detained</dd>",
    ):
        assert expected in html
    assert "does not have exactly" not in html  # the desk knows this questionnaire


def test_answers_are_translated_in_russian(client: TestClient, seeded: Seeded) -> None:
    html = client.get(f"/ru/case/{seeded.main.ref}").text
    ru = translations("ru").gettext
    assert f"<dt>{ru('Who is filing this report?')}</dt>" in html
    assert f"<dd>{ru('A relative or friend')}</dd>" in html
    assert "<dd>Изолятор временного содержания (ИВС)</dd>" in html
    assert '<h3 class="section">Что произошло</h3>' in html  # a section title
    assert f'<dd class="typed">{NARRATIVE}</dd>' in html  # what was typed stays as typed


def test_messages_and_files_are_listed(client: TestClient, seeded: Seeded, desk: Desk) -> None:
    html = client.get(f"/en/case/{seeded.main.ref}").text
    assert MESSAGE in html
    detail = desk.get_case(seeded.main.ref)
    files = [i for i in detail.items if i.type == "file"]
    assert [f.name for f in files] == ["photo.jpg", "medical.pdf", "list.txt"]
    for f in files:
        assert f.sha256 in html
        assert f"/file/{f.ref}/original" in html
    # Photos and PDFs get a stripped copy; a text file says it has none.
    assert [item_ref(link) for link in file_links(html, "stripped")] == [
        files[0].ref,
        files[1].ref,
    ]
    assert "No stripped copy: only JPEG and PNG photos and PDF files" in html
    assert "6 bytes" in html  # list.txt


def test_stripped_photo_is_a_download_without_exif(
    client: TestClient, seeded: Seeded, desk: Desk
) -> None:
    html = client.get(f"/en/case/{seeded.main.ref}").text
    response = client.get(file_links(html, "stripped")[0])
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/jpeg"
    # Never inline, and with a neutral name: the original name may say who or where.
    assert response.headers["content-disposition"].startswith("attachment;")
    assert 'filename="stripped-copy-1.jpg"' in response.headers["content-disposition"]
    assert CAMERA.encode() not in response.content
    assert CAMERA.encode() in jpeg_with_exif()  # the test photo really had it
    with Image.open(io.BytesIO(response.content)) as image:
        assert not image.getexif()
        assert image.size == (48, 32)


def test_stripped_pdf_has_no_author(client: TestClient, seeded: Seeded) -> None:
    html = client.get(f"/en/case/{seeded.main.ref}").text
    response = client.get(file_links(html, "stripped")[1])
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert 'filename="stripped-copy-2.pdf"' in response.headers["content-disposition"]
    assert AUTHOR.encode() not in response.content
    with pikepdf.open(io.BytesIO(response.content)) as pdf:
        assert "/Author" not in pdf.docinfo


def test_original_is_an_octet_stream_download_with_its_hash(
    client: TestClient, seeded: Seeded, desk: Desk
) -> None:
    html = client.get(f"/en/case/{seeded.main.ref}").text
    link = file_links(html, "original")[0]
    response = client.get(link)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["content-disposition"].startswith("attachment;")
    assert 'filename="photo.jpg"' in response.headers["content-disposition"]
    assert response.headers["x-content-type-options"] == "nosniff"
    item = next(i for i in desk.get_case(seeded.main.ref).items if i.ref == item_ref(link))
    assert hashlib.sha256(response.content).hexdigest() == item.sha256
    assert CAMERA.encode() in response.content  # the evidence is untouched


def test_a_hostile_file_name_is_sanitised(client: TestClient, seeded: Seeded) -> None:
    html = client.get(f"/en/case/{seeded.odd_file.ref}").text
    # Shown with the override made visible, so it cannot pass for "passdw.exe"-style tricks.
    assert "pass\\u{202E}wd\\u{0000}.jpg" in html
    response = client.get(file_links(html, "original")[0])
    disposition = response.headers["content-disposition"]
    assert 'filename="passwd.jpg"' in disposition  # no folders, no controls, no override
    assert "filename*=UTF-8''passwd.jpg" in disposition
    assert "/" not in disposition.split("filename", 1)[1].replace("UTF-8''", "")


def test_a_file_without_a_stripped_copy_gets_a_fixed_page(
    client: TestClient, seeded: Seeded
) -> None:
    html = client.get(f"/en/case/{seeded.main.ref}").text
    text_file = item_ref(file_links(html, "original")[2])
    response = client.get(f"/en/case/{seeded.main.ref}/file/{text_file}/stripped")
    assert response.status_code == 404
    assert "only JPEG and PNG photos and PDF files can be stripped" in response.text
    assert "names" not in response.text
    assert "list.txt" not in response.text


def test_a_file_of_another_case_is_not_served(client: TestClient, seeded: Seeded) -> None:
    html = client.get(f"/en/case/{seeded.main.ref}").text
    photo = item_ref(file_links(html, "original")[0])
    for kind in ("original", "stripped"):
        response = client.get(f"/en/case/{seeded.released.ref}/file/{photo}/{kind}")
        assert response.status_code == 404
        assert "This case has no such file." in response.text
        assert photo not in response.text


def test_untrusted_answers_are_escaped_and_made_visible(client: TestClient, seeded: Seeded) -> None:
    html = client.get(f"/en/case/{seeded.hostile.ref}").text
    assert "<b>bold</b>" not in html
    assert 'evil.example/">' not in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html
    assert "\u202e" not in html
    assert "\\u{202E}evil\\u{202C}" in html
    assert "%(num)s" in html  # shown as typed, not formatted
    assert "&lt;i&gt;nowhere&lt;/i&gt;" in html  # an unknown choice value, as sent


def test_a_case_without_a_confirmed_reply_key_offers_no_reply_form(
    client: TestClient, seeded: Seeded
) -> None:
    html = client.get(f"/en/case/{seeded.unconfirmed.ref}").text
    assert "A reply cannot be sealed yet" in html
    assert 'name="reply"' not in html


@pytest.mark.parametrize(
    "ref", ["0000000000", "abc", "zzzzzzzz", "..%2F..%2Fetc%2Fpasswd", "0" * 40]
)
def test_an_unknown_case_is_a_fixed_404(client: TestClient, ref: str) -> None:
    response = client.get(f"/en/case/{ref}")
    assert response.status_code == 404
    assert "Something went wrong" in response.text
    assert ref not in response.text
