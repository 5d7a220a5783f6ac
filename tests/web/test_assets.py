"""The scripts the site serves: vendored libsodium.js is exactly the npm package's files,
pinned by hash; pages name every script with the integrity value browsers check."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from fastapi.testclient import TestClient

from service.common.crypto.token import generate_token
from service.server.web import assets
from tests.conftest import require
from tests.support import file_report

ROOT = Path(__file__).resolve().parents[2]
NODE = ROOT / "tests" / "node"


def test_manifest_hashes_match_the_vendored_files() -> None:
    files = assets.manifest()
    assert set(files) == {"libsodium.js", "libsodium-wrappers.js"}
    on_disk = {p.name for p in assets.VENDOR_DIR.iterdir() if p.suffix == ".js"}
    assert on_disk == set(files)  # nothing vendored that the manifest does not pin
    for name, entry in files.items():
        data = (assets.VENDOR_DIR / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], name
        assert assets.sri(data) == entry["sri"], name


def test_vendored_files_are_the_npm_packages_files() -> None:
    """The copies equal what npm installs from the integrity-pinned lock (make test runs
    ``npm ci`` there first), at the version and tarball integrity the manifest records."""
    modules = NODE / "node_modules"
    require(modules.is_dir(), "tests/node/node_modules (npm ci --prefix tests/node)")
    lock = json.loads((NODE / "package-lock.json").read_text("utf-8"))["packages"]
    for name, entry in assets.manifest().items():
        package = modules / entry["package"]
        installed = json.loads((package / "package.json").read_text("utf-8"))
        assert installed["version"] == entry["version"], name
        locked = lock[f"node_modules/{entry['package']}"]
        assert locked["version"] == entry["version"], name
        assert locked["integrity"] == entry["npm_integrity"], name
        assert (package / entry["path"]).read_bytes() == (assets.VENDOR_DIR / name).read_bytes()


def test_scripts_are_served_as_javascript_and_nothing_else_is(client: TestClient) -> None:
    for name in ("upload.js", "vendor/libsodium.js", "vendor/libsodium-wrappers.js"):
        response = client.get(f"/static/{name}")
        assert response.status_code == 200, name
        assert response.headers["content-type"] == "text/javascript; charset=utf-8"
        assert assets.sri(response.content) == assets.integrity(name)
    for name in ("vendor/MANIFEST.json", "vendor/LICENSE-libsodium.txt", "aryz.js",
                 "vendor/upload.js", "nothing.js", "%2e%2e/settings.py"):  # fmt: skip
        assert client.get(f"/static/{name}").status_code == 404, name


def test_own_script_has_no_eval_and_pages_have_no_inline_script(client: TestClient) -> None:
    source = (assets.STATIC_DIR / "upload.js").read_text("utf-8")
    assert not re.search(r"\beval\(|new Function|setTimeout\(\s*['\"]", source)
    token = file_report(client, country="KG", filer__role="victim")
    html = client.post("/en/status", data={"token": token}).text
    tags = re.findall(r"<script[^>]*>([^<]*)</script>", html)
    assert tags == [""]  # one script, loaded by src, nothing inline
    src = f'<script src="/static/upload.js" integrity="{assets.integrity("upload.js")}" defer>'
    assert src in html
    # upload.js loads libsodium only when files are sent, with the manifest's values.
    for name in ("libsodium.js", "libsodium-wrappers.js"):
        assert assets.manifest()[name]["sri"] in html


def test_not_found_page_loads_the_same_script(client: TestClient) -> None:
    """Found or not, a status lookup fetches the same resources (item 9: an observer of the
    encrypted traffic learns nothing from which requests follow)."""
    response = client.post("/en/status", data={"token": generate_token()})
    assert response.status_code == 404  # a well-formed token of no case
    assert f'integrity="{assets.integrity("upload.js")}"' in response.text
