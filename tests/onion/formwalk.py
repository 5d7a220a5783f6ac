"""One step of the no-JavaScript report form, as Tor Browser sends it, through a SOCKS port.

Run inside the private network (``python -m tests.onion.formwalk STEP HOST SOCKS_PORT``)
so that a test can change which backend is up between two steps of one report:

* ``review``: the steps up to the review page (``tests.support.reach_review``); prints
  ``state=<blob>`` and ``token=<24 digits>`` that page carries;
* ``send``: reads ``state=`` and ``token=`` lines on stdin, sends the review page; prints
  ``sent <status code>``.

Each step retries a dropped connection a few times (a circuit to a backend that has just
died), as a person pressing the button again would.
"""

from __future__ import annotations

import sys
import time

import httpx

from service.field.client import make_client
from tests.support import TOKEN_FIELD, mark_of, reach_review, state_of

MESSAGE = "Задержали на улице, в отделе били. (Onionbalance test)"
TRIES = 5


def _post(client: httpx.Client, path: str, form: dict[str, str]) -> httpx.Response:
    for attempt in range(TRIES):
        try:
            return client.post(path, data=form)
        except httpx.TransportError:
            if attempt == TRIES - 1:
                raise
            time.sleep(2)  # the button pressed again after a moment
    raise AssertionError("unreachable")


def review(client: httpx.Client) -> None:
    # A page that does not load (the client's tor tried a dead backend's introduction
    # point) is loaded again, as a person would, from the start of the form.
    for attempt in range(TRIES):
        try:
            response = reach_review(client, "ru", narrative=MESSAGE, victim__sex="female")
            break
        except httpx.TransportError:
            if attempt == TRIES - 1:
                raise
            time.sleep(2)
    token = TOKEN_FIELD.search(response.text)
    assert token is not None
    mark = mark_of(response.text)
    sys.stdout.write(f"state={state_of(response.text)}\ntoken={token.group(1)}\nmark={mark}\n")


def send(client: httpx.Client) -> None:
    given = dict(line.strip().split("=", 1) for line in sys.stdin if "=" in line)
    form = {
        "state": given["state"],
        "token": given["token"],
        "token_mark": given["mark"],
        "action": "send",
    }
    response = _post(client, "/ru/report/submit", form)
    # 200 and the token page: filed whole. 400 and the write page: the details were lost.
    sys.stdout.write(f"sent {response.status_code}\n")


if __name__ == "__main__":
    step, host, port = sys.argv[1], sys.argv[2], sys.argv[3]
    with make_client(f"http://{host}", f"socks5h://127.0.0.1:{port}") as http:
        {"review": review, "send": send}[step](http)
