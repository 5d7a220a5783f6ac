"""Onionbalance on the private Tor network: one public address, two ``aryz serve`` backends
(harness: ``tests/onion/balanced.py``, the steps of deploy/README.md section 5).

One story, in order (each step needs the one before):
1. a report filed through the public address lands (both backends up);
2. backend 1 dies (SIGKILL of its app and its tor: the machine is gone): the public
   address takes a report again within ``FAILOVER_SECONDS`` (the runbook's figure);
3. backend 1 restarts (same instance key) and backend 2 stops cleanly (tor first, then
   the app): reports go to backend 1 again, so it rejoined;
4. a report whose review page came from backend 2 (step 2, while backend 1 was down) and
   is sent to backend 1 (step 3, while backend 2 is down) is filed whole: the form state
   opens on every instance of the deployment (ARYZ_STATE_SECRET_FILE, SECURITY.md).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator

import pytest

from tests.conftest import require
from tests.onion.balanced import Balanced, available, balanced_deployment

pytestmark = pytest.mark.slow

# The runbook's figures (deploy/README.md, section 5): the first publication of the
# public descriptor (Onionbalance waits before its first fetch), and how long after a
# backend dies a client reaches the other one.
FIRST_PUBLICATION_SECONDS = 300.0
FAILOVER_SECONDS = 60.0


@pytest.fixture(scope="module")
def balanced(
    tmp_path_factory: pytest.TempPathFactory, pg_template: str | None
) -> Iterator[Balanced]:
    missing = available()
    require(not missing, missing)
    require(pg_template is not None, "PostgreSQL")
    assert pg_template is not None
    with balanced_deployment(tmp_path_factory.mktemp("onionbalance"), pg_template) as b:
        yield b


def test_reports_through_the_front_while_backends_die_and_return(balanced: Balanced) -> None:
    b = balanced
    first = b.reach(FIRST_PUBLICATION_SECONDS)
    token = b.submit()
    assert "status: received" in b.status(token)

    # 2. Backend 1's machine dies. The public descriptor still lists its introduction
    # points (its last instance descriptor stays on the HSDirs), so the client's tor
    # fails over to backend 2's.
    b.backends[0].kill()
    with b.user.client.control() as control:
        control.new_circuits()
    failover = b.reach(FAILOVER_SECONDS)
    token_on_2 = b.submit()
    review = b.form("review")  # this review page is backend 2's: the only one up
    assert "token=" in review

    # 3. Backend 1 comes back; backend 2 stops cleanly. Only backend 1 can answer now.
    b.backends[0].start(b.network)
    b.backends[1].stop()
    rejoin = b.reach(FIRST_PUBLICATION_SECONDS)
    token_on_1 = b.submit()
    for each in (token, token_on_2, token_on_1):
        assert "status: received" in b.status(each)  # one database behind both

    # 4. The review page backend 2 sealed is sent to backend 1: filed whole.
    sent = b.form("send", review)
    assert "sent 200" in sent, sent
    filed = re.search(r"token=(\d{24})", review)
    assert filed is not None
    assert "status: received" in b.status(filed.group(1))
    sys.stdout.write(
        f"\nonionbalance: first reach {first:.0f} s, failover {failover:.0f} s, "
        f"rejoin {rejoin:.0f} s\n"
    )
    b.backends[1].start(b.network)
