"""The stopping rule of adaptive redundancy on hand-worked cases."""

from __future__ import annotations

from typing import Any

import pytest

from annotation.judging.stopping import consensus_confidence, pair_confidence, wants_more

A, B, C = 11, 22, 33


@pytest.mark.parametrize(
    ("wins", "losses", "expected"),
    [
        # Beta(1 + a, 1 + b) above 1/2. For b = 0: 1 - 0.5^(a + 1).
        (2, 0, 1 - 0.5**3),  # 0.875
        (3, 0, 1 - 0.5**4),  # 0.9375
        # 2-1: P(Beta(3, 2) > 1/2) = 11/16 (the chance that at most 2 of 4 fair coins
        # land heads, by the beta-binomial identity).
        (2, 1, 11 / 16),
        # 3-1: P(Beta(4, 2) > 1/2) = P(at most 3 of 5 fair coins heads) = 26/32 = 13/16.
        (3, 1, 13 / 16),
        (1, 1, 0.5),  # a tie: no side preferred
        (0, 2, 1 - 0.5**3),  # symmetric: the majority side is whichever has more
    ],
)
def test_pair_confidence_on_hand_worked_cases(wins: int, losses: int, expected: float) -> None:
    assert pair_confidence(wins, losses) == pytest.approx(expected)


def test_a_pair_task_stops_once_confident_within_min_and_max() -> None:
    rule: dict[str, Any] = {"minimum": 2, "maximum": 5, "threshold": 0.9}
    assert wants_more([[A, B]], **rule)  # below the minimum
    assert wants_more([[A, B], [A, B]], **rule)  # 2-0: 0.875 < 0.9
    assert not wants_more([[A, B]] * 3, **rule)  # 3-0: 0.9375
    assert wants_more([[A, B], [A, B], [B, A]], **rule)  # 2-1: 0.6875
    assert wants_more([[A, B], [A, B], [A, B], [B, A]], **rule)  # 3-1: 0.8125
    assert not wants_more([[A, B], [B, A]] * 2 + [[A, B]], **rule)  # at the maximum
    # minimum == maximum: today's fixed redundancy, whatever the judgments say.
    fixed: dict[str, Any] = {"minimum": 3, "maximum": 3, "threshold": 0.9}
    assert wants_more([[A, B], [B, A]], **fixed)
    assert not wants_more([[A, B], [B, A], [A, B]], **fixed)


def test_rankings_use_every_adjacent_pair_of_the_consensus_order() -> None:
    # Three agree on A > B > C: every adjacent pair is 3-0.
    assert consensus_confidence([[A, B, C]] * 3) == pytest.approx(0.9375)
    # A is clearly first, but B and C are split 2-1: the weakest pair decides.
    split = [[A, B, C], [A, B, C], [A, C, B]]
    assert consensus_confidence(split) == pytest.approx(11 / 16)
    # Four: A > B 4-0, B > C 3-1.
    four = [[A, B, C], [A, B, C], [A, B, C], [A, C, B]]
    assert consensus_confidence(four) == pytest.approx(13 / 16)
    # A pair that is not adjacent in the consensus does not count: A > C is 4-0 above,
    # and reversing A and C in one judgment (C, B, A) leaves the order but weakens both.
    assert consensus_confidence([[A, B, C]] * 3 + [[C, B, A]]) == pytest.approx(13 / 16)
    rule: dict[str, Any] = {"minimum": 3, "maximum": 6, "threshold": 0.9}
    assert not wants_more([[A, B, C]] * 3, **rule)
    assert wants_more(split, **rule)
    assert consensus_confidence([]) == 0.5
