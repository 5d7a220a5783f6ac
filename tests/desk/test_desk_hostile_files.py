"""Hostile *files* in a bundle, on the CLI and on the web desk (issue 12, "Done when").

A pixel bomb, a decompression bomb and malformed PDFs are well-sealed items: the desk
stores them as evidence, byte for byte, beside every honest item of the bundle, and
only ever parses them in the cage when someone asks for a safe copy — which then ends in
"no safe copy", never in a desk crash. (The JSON and envelope side of the corpus is
``test_desk_hostile.py``.)
"""

from __future__ import annotations

import hashlib
import zlib
from pathlib import Path

import pytest

from service.cli import main
from service.desk.casework.desk import Desk, open_desk
from tests.desk.helpers import (
    PASSPHRASE,
    FakeCase,
    answers_plaintext,
    bundle_bytes,
    file_plaintext,
    message_plaintext,
    recipients,
    sealed,
)
from tests.desk.test_desk_hostile import web_client, write

pytest.importorskip("PIL.Image", reason="Pillow (desk extra) is not installed")
pytest.importorskip("pikepdf", reason="pikepdf (desk extra) is not installed")
pytest.importorskip("pypdfium2", reason="pypdfium2 (desk extra) is not installed")

from tests.desk.test_desk_sandbox import MALFORMED_PDFS, png_bomb  # noqa: E402


def pdf_flate_bomb() -> bytes:
    """A one-page PDF whose page content is 256 MiB of zeros deflated to ~250 KB."""
    zeros = zlib.compressobj(9)
    stream = b"".join(zeros.compress(bytes(1 << 20)) for _ in range(256)) + zeros.flush()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


HOSTILE_FILES = {
    "bomb.png": png_bomb(13_375),
    "deflate-bomb.pdf": pdf_flate_bomb(),
    **{f"malformed-{n}.pdf": pdf for n, pdf in enumerate(MALFORMED_PDFS)},
}


def _bundle(desk: Desk, tmp_path: Path) -> tuple[Path, FakeCase, FakeCase, FakeCase]:
    """An honest case before and after a case made of hostile files."""
    to = recipients(desk)
    before, attacker, after = FakeCase(), FakeCase(), FakeCase()
    items = [sealed(before, answers_plaintext(before, {"narrative": "BEFORE"}), to)]
    items.append(sealed(attacker, answers_plaintext(attacker, {"narrative": "files"}), to))
    items += [
        sealed(attacker, file_plaintext(attacker, name, data), to)
        for name, data in HOSTILE_FILES.items()
    ]
    items.append(sealed(after, answers_plaintext(after, {"narrative": "AFTER"}), to))
    items.append(sealed(after, message_plaintext(after, "STILL-ARRIVES"), to))
    return write(tmp_path, bundle_bytes(items)), before, attacker, after


def _stored_whole(desk: Desk, case: FakeCase) -> dict[str, str]:
    """Each file of ``case`` by name: its ref, after checking the original is intact."""
    refs = {}
    for item in desk.get_case(case.ref).items:
        if item.type != "file":
            continue
        size, pieces = desk.attachment_pieces(item.ref)
        data = b"".join(pieces)
        assert data == HOSTILE_FILES[item.name or ""]
        assert size == len(data)
        assert hashlib.sha256(data).hexdigest() == item.sha256
        refs[item.name or ""] = item.ref
    return refs


def test_hostile_files_import_on_the_cli_as_evidence_and_have_no_safe_copy(
    desk: Desk,
    desk_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bundle, before, attacker, after = _bundle(desk, tmp_path)
    desk.close()
    monkeypatch.setenv("ARYZ_DESK_PASSPHRASE", PASSPHRASE)
    assert main(["desk", "import", "--dir", str(desk_dir), str(bundle)]) == 0
    out = capsys.readouterr().out
    assert "Traceback" not in out
    assert main(["desk", "quarantine", "--dir", str(desk_dir)]) == 0
    quarantine = capsys.readouterr().out
    with open_desk(desk_dir, PASSPHRASE) as reopened:
        assert {c.ref for c in reopened.list_cases()} == {before.ref, attacker.ref, after.ref}
        refs = _stored_whole(reopened, attacker)
        assert set(refs) == set(HOSTILE_FILES)
        for ref in refs.values():
            assert ref not in quarantine  # evidence, not quarantined
        messages = [i for i in reopened.get_case(after.ref).items if i.type == "message"]
        assert len(messages) == 1


def test_hostile_files_on_the_web_desk_import_and_end_in_no_safe_copy(
    desk: Desk, tmp_path: Path
) -> None:
    bundle, _before, attacker, after = _bundle(desk, tmp_path)
    with web_client(desk) as web:
        page = web.post("/en/import", data={"path": str(bundle)})
        assert page.status_code == 200
        total = 1 + 1 + len(HOSTILE_FILES) + 2  # before, the attacker, after
        assert f"<dt>Imported now</dt><dd><strong>{total}</strong></dd>" in page.text
        assert "Items in quarantine" not in page.text
        refs = _stored_whole(desk, attacker)
        html = web.get(f"/en/case/{attacker.ref}").text
        for name, ref in refs.items():
            assert f"/file/{ref}/original" in html
            original = web.get(f"/en/case/{attacker.ref}/file/{ref}/original")
            assert original.status_code == 200
            assert original.content == HOSTILE_FILES[name]
            copy = web.get(f"/en/case/{attacker.ref}/file/{ref}/stripped")
            if name == "deflate-bomb.pdf" and copy.status_code == 200:
                # Zeros in a content stream are blank space: the cage may draw the page
                # within its limits, and the copy is then a new, small PDF.
                assert copy.headers["content-type"] == "application/pdf"
                assert len(copy.content) < len(HOSTILE_FILES[name])
                continue
            assert copy.status_code == 400, name
            assert "No safe copy could be made of this file" in copy.text, name
        # The desk goes on: the honest case after the hostile one is whole.
        later = web.get(f"/en/case/{after.ref}").text
        assert "STILL-ARRIVES" in later
        assert "AFTER" in later
