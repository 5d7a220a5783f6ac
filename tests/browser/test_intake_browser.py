"""A person files a report in a real browser with JavaScript off, in Russian and English,
adds a photo, writes the token down, and checks the case with it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.browser.conftest import screenshot_path
from tests.server import ServerProcess

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_report_with_photo_then_status_without_javascript(
    no_js: BrowserContext, tmp_path: Path, database_url: str, registry_dir: Path, lang: str
) -> None:
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0" + b"jpeg-bytes" * 3000)
    tag = f"{lang}-{database_url.split(':')[0].split('+')[0]}"
    with ServerProcess(tmp_path, database_url, registry_dir / "registry.toml") as server:
        page = no_js.new_page()
        page.goto(f"{server.url}/")
        page.click(f"a[hreflang={lang}].button")
        page.screenshot(path=screenshot_path(f"home-{tag}"), full_page=True)
        page.click(f"a[href='/{lang}/report']")
        page.check("input[name=country][value=KZ]")
        page.check("input[name=filer][value=relative]")
        page.fill("textarea[name=narrative]", "Мой брат был избит в ИВС. / My brother was beaten.")
        page.check("input[name=detained][value=yes]")
        page.screenshot(path=screenshot_path(f"report-{tag}"), full_page=True)
        page.click("form button[type=submit]")
        assert "Мой брат был избит в ИВС." in page.content()
        page.screenshot(path=screenshot_path(f"review-{tag}"), full_page=True)
        page.click("button[name=action][value=send]")
        token_text = page.inner_text(".token")
        digits = re.sub(r"\D", "", token_text)
        assert len(digits) == 24
        assert re.fullmatch(r"(\d{4} ){5}\d{4}", token_text.strip())
        page.screenshot(path=screenshot_path(f"token-{tag}"), full_page=True)

        page.set_input_files("input[type=file]", str(photo))
        page.click("section.add form[enctype] button[type=submit]")
        assert "photo.jpg" in page.content()

        page.goto(f"{server.url}/{lang}/status")
        page.fill("input[name=token]", token_text)  # as written down, with spaces
        page.click("form button[type=submit]")
        content = page.content()
        assert ("2 sealed items" in content) or ("2 зашифрованных" in content)
        page.screenshot(path=screenshot_path(f"status-{tag}"), full_page=True)
        # Nothing on any page tried to run a script, and nothing was loaded from elsewhere.
        assert "<script" not in content.lower()
