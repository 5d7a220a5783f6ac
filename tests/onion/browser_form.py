"""A browser with JavaScript off, over the private Tor network: fills the write page and
sends it as a form post (multipart, as the page's form is), or reads the status page.

Run inside the network's namespace (``python -m tests.onion.browser_form``):

    send   HOST SOCKS_PORT FIELDS_JSON   → prints the case token, then (for the benchmark)
                                           the wall-clock time "send" was pressed and
                                           how long the post took, in seconds
    status HOST SOCKS_PORT TOKEN          → prints the status page's HTML

Used by the urgent lane's end-to-end test and its benchmark (time from "send" to alert).
"""

from __future__ import annotations

import json
import re
import sys
import time

import httpx

from service.field.client import make_client
from tests.support import mark_of

TOKEN = re.compile(r'name="token" value="(\d{24})"')
STATE = re.compile(r'name="state" value="([A-Za-z0-9_=-]+)"')
EMPTY_FILE = {"file": ("", b"", "application/octet-stream")}


def send(
    client: httpx.Client, fields: dict[str, object], lang: str = "en"
) -> tuple[str, float, float]:
    page = client.get(f"/{lang}/report")
    page.raise_for_status()
    token, state = TOKEN.search(page.text), STATE.search(page.text)
    if token is None or state is None:
        raise SystemExit("the write page has no token or state")
    form = {
        "state": state.group(1),
        "token": token.group(1),
        "token_mark": mark_of(page.text),
        "recipient": "national",
        **fields,
    }
    pressed, started = time.time(), time.perf_counter()
    sent = client.post(f"/{lang}/report/send?then=send", data=form, files=EMPTY_FILE)
    took = time.perf_counter() - started
    if sent.status_code != 200 or token.group(1) not in sent.text.replace(" ", ""):
        raise SystemExit(f"sending failed: {sent.status_code}")
    return token.group(1), pressed, took


def status(client: httpx.Client, token: str, lang: str = "en") -> str:
    page = client.post(f"/{lang}/status", data={"token": token})
    page.raise_for_status()
    return page.text


def main(argv: list[str]) -> int:
    mode, host, port, arg = argv
    with make_client(f"http://{host}", f"socks5h://127.0.0.1:{port}") as client:
        if mode == "send":
            token, pressed, took = send(client, json.loads(arg))
            sys.stdout.write(f"{token}\n{pressed:.6f} {took:.6f}\n")
        else:
            sys.stdout.write(status(client, arg))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
