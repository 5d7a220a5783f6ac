"""A desk with a few cases in it, imported from a bundle the way the server builds one.

Shared by the page tests (in-process) and the browser test (before it starts the real
``aryz desk web`` process). The bundle is made with ``tests.desk.helpers``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import pikepdf
from PIL import Image

from service.desk.casework.desk import init_desk, open_desk
from tests.desk.helpers import (
    COALITION,
    PASSPHRASE,
    FakeCase,
    Sealed,
    answers_plaintext,
    bundle_bytes,
    file_plaintext,
    message_plaintext,
    recipients,
    sealed,
)

NARRATIVE = "Брата избили в ИВС №2, требовали подписать признание.\nНа следующий день — снова."
HOSTILE = '<b>bold</b><a href="http://evil.example/">x</a> \u202eevil\u202c %(num)s'
MESSAGE = "Его перевели в СИЗО, адвоката не пускают."
CAMERA = "SecretCam-9000"
AUTHOR = "Officer Ivanov"
ODD_NAME = "../../etc/pass\u202ewd\u0000.jpg"


@dataclass
class Seeded:
    folder: Path
    bundle: Path
    signing_key: bytes
    main: FakeCase  # KZ, W45, ru, still detained: answers, photo, PDF, text file, message
    released: FakeCase  # KG, W47, en, released
    hostile: FakeCase  # KZ, W47, ru, died: markup and a bidi override in its answers
    odd_file: FakeCase  # TJ, W46, ru, still detained: a photo with a path-like name
    unconfirmed: FakeCase  # KZ, W44, ru: no item vouches for its reply key


def jpeg_with_exif() -> bytes:
    image = Image.new("RGB", (48, 32), (120, 140, 90))
    exif = Image.Exif()
    exif[0x010F] = CAMERA  # Make
    exif[0x0110] = CAMERA  # Model
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif.tobytes())
    return out.getvalue()


def pdf_with_author() -> bytes:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.docinfo["/Author"] = AUTHOR
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def seed_desk(tmp_path: Path) -> Seeded:
    """Create a desk in ``tmp_path/desk`` and import one bundle of five cases."""
    folder = tmp_path / "desk"
    ceremony = init_desk(folder, COALITION, PASSPHRASE)
    main, released, hostile, odd_file, unconfirmed = (FakeCase() for _ in range(5))
    with open_desk(folder, PASSPHRASE) as desk:
        to = recipients(desk)

        def answers(
            case: FakeCase,
            values: dict[str, str],
            *,
            country: str = "KZ",
            week: str = "2026-W47",
            language: str = "ru",
            case_key: str | None = "",
        ) -> Sealed:
            plaintext = answers_plaintext(
                case, values, country=country, week=week, language=language, case_key=case_key
            )
            return sealed(case, plaintext, to)

        items = [
            answers(
                main,
                {
                    "filer": "relative",
                    "narrative": NARRATIVE,
                    "place": "ivs",
                    "when": "март 2026",
                    "detained": "yes",
                    "consent_contact": "no",
                    "consent_legal": "ask",
                },
                week="2026-W45",
            ),
            sealed(main, file_plaintext(main, "photo.jpg", jpeg_with_exif()), to),
            sealed(
                main,
                file_plaintext(
                    main, "medical.pdf", pdf_with_author(), media_type="application/pdf"
                ),
                to,
            ),
            sealed(
                main,
                file_plaintext(main, "list.txt", b"names\n", media_type="text/plain"),
                to,
            ),
            sealed(main, message_plaintext(main, MESSAGE), to),
            answers(
                released,
                {"filer": "victim", "narrative": "Beaten at the police station.", "detained": "no"},
                country="KG",
                week="2026-W47",
                language="en",
            ),
            answers(
                hostile,
                {"narrative": HOSTILE, "detained": "deceased", "place": "<i>nowhere</i>"},
                week="2026-W47",
            ),
            answers(odd_file, {"detained": "yes"}, country="TJ", week="2026-W46"),
            sealed(odd_file, file_plaintext(odd_file, ODD_NAME, jpeg_with_exif()), to),
            answers(unconfirmed, {"detained": "unknown"}, week="2026-W44", case_key=None),
        ]
        bundle = tmp_path / "bundle.aryz"
        bundle.write_bytes(bundle_bytes(items))
        report = desk.import_bundle(bundle)
        assert report.problems == ()
    return Seeded(
        folder, bundle, ceremony.public.signing_key, main, released, hostile, odd_file, unconfirmed
    )
