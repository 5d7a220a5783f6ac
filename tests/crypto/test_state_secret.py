"""The deployment's state secret (ARYZ_STATE_SECRET_FILE): one file, every instance.

Two processes that read the same file open each other's form state and grants; the seed
steps forward once a UTC day, one way, and the file is rewritten so that neither the disk
nor the memory holds a seed older than yesterday's: a blob from before that opens nowhere
any more, whoever takes the server. A bad or exposed file stops the server at start.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from service.common.crypto.formstate import (
    DAY,
    FormStateKey,
    StateSecret,
    new_state_secret,
)
from service.common.crypto.grants import GRANTS
from service.common.errors import ConfigError, FormStateError

CONTEXT = b"istanbul\n1\nabc"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0 + 3600 * 5  # 05:00 UTC of some day

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "state-secret"
    path.write_bytes(new_state_secret(Clock()))
    path.chmod(0o600)
    return path


def _key(path: Path, clock: Clock, purpose: bytes = b"form-state") -> FormStateKey:
    return FormStateKey(secret=StateSecret(path, clock=clock), clock=clock, purpose=purpose)


def test_two_instances_reading_one_file_open_each_others_blobs(secret_file: Path) -> None:
    clock = Clock()
    one, other = _key(secret_file, clock), _key(secret_file, clock)
    assert other.open(one.seal(b"answers", context=CONTEXT), context=CONTEXT) == b"answers"
    clock.now += 20 * 3600  # the day turns between the two pages
    assert one.open(other.seal(b"more", context=CONTEXT), context=CONTEXT) == b"more"


def test_another_deployment_or_a_per_process_secret_opens_nothing(
    secret_file: Path, tmp_path: Path
) -> None:
    clock = Clock()
    foreign = tmp_path / "foreign"
    foreign.write_bytes(new_state_secret(clock))
    foreign.chmod(0o600)
    blob = _key(secret_file, clock).seal(b"answers", context=CONTEXT)
    for stranger in (_key(foreign, clock), FormStateKey(clock=clock)):
        with pytest.raises(FormStateError):
            stranger.open(blob, context=CONTEXT)


def test_a_grant_is_not_form_state(secret_file: Path) -> None:
    clock = Clock()
    grant = _key(secret_file, clock, GRANTS).seal(b"r" * 16, context=CONTEXT)
    with pytest.raises(FormStateError):
        _key(secret_file, clock).open(grant, context=CONTEXT)


def test_the_ratchet_forgets_the_day_before_yesterday(secret_file: Path) -> None:
    clock = Clock()
    old = _key(secret_file, clock).seal(b"answers", context=CONTEXT)
    before = secret_file.read_bytes()
    clock.now += 2 * DAY
    # A process started now (or one running since) reads the file and steps it forward.
    later = _key(secret_file, clock)
    assert secret_file.read_bytes() != before
    assert secret_file.stat().st_mode & 0o777 == 0o600
    with pytest.raises(FormStateError):
        later.open(old, context=CONTEXT)  # and the disk holds nothing that could open it
    fresh = later.seal(b"today", context=CONTEXT)
    assert _key(secret_file, clock).open(fresh, context=CONTEXT) == b"today"


def test_a_running_process_steps_forward_too(secret_file: Path) -> None:
    clock = Clock()
    key = _key(secret_file, clock)
    blob = key.seal(b"answers", context=CONTEXT)
    clock.now += 3 * DAY
    with pytest.raises(FormStateError):
        key.open(blob, context=CONTEXT)
    day, _seed = secret_file.read_text().split()[1:]
    assert int(day) == int(clock.now // DAY) - 1


def test_a_clock_a_little_ahead_elsewhere_is_fine(secret_file: Path) -> None:
    here, ahead = Clock(), Clock()
    here.now += 19 * 3600 - 60  # 23:59
    ahead.now += 19 * 3600 + 60  # 00:01 the next day on another backend
    blob = _key(secret_file, ahead).seal(b"answers", context=CONTEXT)
    assert _key(secret_file, here).open(blob, context=CONTEXT) == b"answers"


@pytest.mark.parametrize(
    ("content", "mode"),
    [
        (b"aryz-state-secret-v1 20000 " + b"ab" * 32 + b"\n", 0o644),  # readable by others
        (b"not a secret\n", 0o600),
        (b"aryz-state-secret-v1 20000 abcd\n", 0o600),  # a short seed
    ],
)
def test_a_bad_or_exposed_file_is_refused(tmp_path: Path, content: bytes, mode: int) -> None:
    path = tmp_path / "state-secret"
    path.write_bytes(content)
    path.chmod(mode)
    with pytest.raises(ConfigError) as refused:
        StateSecret(path)
    assert "ab" * 32 not in str(refused.value)


def test_the_seed_is_never_shown(secret_file: Path) -> None:
    secret = StateSecret(secret_file, clock=Clock())
    seed = secret_file.read_text().split()[2]
    assert seed not in repr(secret)
    assert seed not in repr(FormStateKey(secret=secret))


def test_the_command_makes_a_secret_and_never_overwrites_one(tmp_path: Path) -> None:
    from tests.support import run_aryz

    path = tmp_path / "state-secret"
    made = run_aryz("state-secret", "--out", str(path))
    assert made.returncode == 0, made.stderr
    assert path.stat().st_mode & 0o777 == 0o600
    StateSecret(path)  # reads as a secret
    before = path.read_bytes()
    again = run_aryz("state-secret", "--out", str(path))
    assert again.returncode != 0
    assert "Traceback" not in again.stderr
    assert path.read_bytes() == before
