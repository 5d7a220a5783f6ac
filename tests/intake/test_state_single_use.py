"""Audit F-14: a sent report's form state is single use.

On e75117f the review page's state, posted again later by anyone, brought the review
page back with every answer and could be sent under a new token, making a second case
with the victim's answers whose replies went to the new token's holder.
"""

from __future__ import annotations

from fastapi.testclient import TestClient

from service.common.crypto.token import generate_token
from service.server.deps import Runtime
from service.server.models import Case
from tests.support import TOKEN_FIELD, count, mark_of, reach_review, state_of

NARRATIVE = "Задержан 3 марта, избит в ИВС."


def test_a_sent_state_shows_nothing_and_files_nothing_more(
    client: TestClient, runtime: Runtime
) -> None:
    page = reach_review(client, narrative=NARRATIVE)
    assert NARRATIVE in page.text
    state = state_of(page.text)
    token_match = TOKEN_FIELD.search(page.text)
    assert token_match is not None
    token = token_match.group(1)
    mark = mark_of(page.text)
    sent = client.post(
        "/en/report/submit", data={"state": state, "token": token, "token_mark": mark}
    )
    assert sent.status_code == 200
    assert count(runtime, Case) == 1

    # The same page sent again (a refresh, a lost response) finds the same case.
    again = client.post(
        "/en/report/submit", data={"state": state, "token": token, "token_mark": mark}
    )
    assert again.status_code == 200
    assert count(runtime, Case) == 1

    # Under another token: refused, no second case.
    other = client.post("/en/report/submit", data={"state": state, "token": generate_token()})
    assert other.status_code >= 400
    assert NARRATIVE not in other.text
    assert count(runtime, Case) == 1

    # Back to the review page with it: the answers are gone (state "lost").
    review = client.post("/en/report", data={"state": state, "go": "review"})
    assert NARRATIVE not in review.text
    assert review.status_code == 400


def test_an_unsent_state_still_works_and_the_spent_set_is_in_memory_only(
    client: TestClient, runtime: Runtime
) -> None:
    page = reach_review(client, narrative=NARRATIVE)
    state = state_of(page.text)
    # Not sent yet: going back to review it is allowed as before.
    review = client.post("/en/report", data={"state": state, "go": "review"})
    assert NARRATIVE in review.text
    assert runtime.form_state.spent_count == 0
