"""Which retrier or catcher takes an error, and the backoff delays."""

from __future__ import annotations

import pytest

from stepfn.definition.model import Catcher, Retrier
from stepfn.interp.retry import backoff_delay, find_catcher, find_retrier, matches


class FixedRandom:
    def __init__(self, value: float) -> None:
        self.value = value

    def random(self) -> float:
        return self.value


@pytest.mark.parametrize(
    ("names", "error", "expected"),
    [
        (["Boom"], "Boom", True),
        (["Boom"], "Other", False),
        (["States.ALL"], "Other", True),
        (["States.ALL"], None, True),
        (["States.TaskFailed"], "Lambda.Unknown", True),
        (["States.TaskFailed"], "States.Timeout", False),
        (["States.Timeout"], "States.Timeout", True),
        (["States.ALL"], "States.Runtime", False),
        (["States.Runtime"], "States.Runtime", False),
        (["States.ALL"], "States.DataLimitExceeded", True),
    ],
)
def test_matches(names: list[str], error: str | None, expected: bool) -> None:
    assert matches(names, error) is expected


def test_first_matching_retrier_and_catcher_win() -> None:
    retriers = [Retrier(("A",)), Retrier(("States.ALL",))]
    assert find_retrier(retriers, "A") == 0
    assert find_retrier(retriers, "B") == 1
    catchers = [Catcher(("X",), "x", None, False), Catcher(("States.ALL",), "all", None, False)]
    found = find_catcher(catchers, "Y")
    assert found is not None and found.next == "all"
    assert find_catcher(catchers, "States.Runtime") is None


def test_backoff_grows_and_is_capped() -> None:
    retrier = Retrier(("A",), interval_seconds=1, backoff_rate=2.0, max_delay_seconds=5)
    rng = FixedRandom(0.5)
    assert [backoff_delay(retrier, n, rng) for n in range(5)] == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_full_jitter_scales_the_delay() -> None:
    retrier = Retrier(("A",), interval_seconds=4, backoff_rate=1.0, jitter_strategy="FULL")
    assert backoff_delay(retrier, 0, FixedRandom(0.25)) == 1.0
