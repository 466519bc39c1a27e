"""The stopping rule of adaptive redundancy: has a task reached a confident consensus?

A task collects at least `minimum` judgments and at most `maximum`; in between it keeps
collecting only while its judgments so far are not confidently agreed on
(docs/hpd_v2.md, "Adaptive redundancy", gives the formulas and what they guarantee).

For two images judged a wins to b losses (a >= b), with a uniform prior on the share p
of people who prefer the majority image, the posterior is Beta(1 + a, 1 + b) and the
confidence is P(p > 1/2 | a, b) = 1 - I_{1/2}(1 + a, 1 + b) (I: the regularised
incomplete beta function; `scipy.stats.beta.sf`). Worked values: 2-0 gives 0.875, 3-0
0.9375, 2-1 0.6875, 3-1 0.8125, 1-1 0.5.

For a ranking of N images, the consensus order sorts the images by mean rank (ties
broken by image id); the same confidence is computed for each adjacent pair of that
order from how many judgments put the upper image above the lower one, and the task's
confidence is the smallest of the N - 1. A task is settled when its confidence reaches
the project's threshold.

Ties (where a project allows them: annotation/judging/ties.py): a judgment that puts
two images on one level adds half a win to each side of that pair, so a tie never
makes a pair more confident: a 2-0 pair with one tie besides is 2.5-0.5 (0.840, below
the 0.875 of 2-0). Mean ranks use the tied images' shared (best) rank.

Pure Python and scipy: no database access, so the rule is tested on hand-worked cases.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

from scipy.stats import beta

from annotation.judging.ties import competition_ranks


def pair_confidence(wins: float, losses: float) -> float:
    """Posterior probability that the side with more wins is the one people prefer
    (a tie counts half to each side)."""
    majority, minority = max(wins, losses), min(wins, losses)
    return float(beta.sf(0.5, 1 + majority, 1 + minority))


def consensus_confidence(
    rankings: Sequence[Sequence[int]], levels: Sequence[Sequence[int]] | None = None
) -> float:
    """The smallest adjacent-pair confidence of the consensus order of `rankings`
    (each best to worst, over the same images; `levels`, one per ranking, where some
    tie images: annotation/judging/ties.py); 0.5 with no judgment yet."""
    if not rankings:
        return 0.5
    images = sorted(rankings[0])
    tie_levels = levels or [[] for _ in rankings]
    rank = [
        dict(zip(ranking, competition_ranks(ranking, level), strict=True))
        for ranking, level in zip(rankings, tie_levels, strict=True)
    ]
    mean_rank = {image: sum(r[image] for r in rank) / len(rank) for image in images}
    order = sorted(images, key=lambda image: (mean_rank[image], image))
    confidences = []
    for upper, lower in pairwise(order):
        ties = sum(r[upper] == r[lower] for r in rank) / 2
        confidences.append(
            pair_confidence(
                sum(r[upper] < r[lower] for r in rank) + ties,
                sum(r[upper] > r[lower] for r in rank) + ties,
            )
        )
    return min(confidences, default=1.0)


def wants_more(
    rankings: Sequence[Sequence[int]],
    *,
    minimum: int,
    maximum: int,
    threshold: float,
    levels: Sequence[Sequence[int]] | None = None,
) -> bool:
    """Whether a task with these submitted `rankings` (and their `levels`, where some
    tie) should collect another judgment: always below `minimum`, never at or past
    `maximum`, and in between only while its consensus confidence is below `threshold`."""
    if len(rankings) < minimum:
        return True
    if len(rankings) >= maximum:
        return False
    return consensus_confidence(rankings, levels) < threshold


MAX_JUDGMENTS = 100


def redundancy_problems(
    minimum: int | None, maximum: int | None, threshold: float | None = None
) -> list[tuple[str, str]]:
    """What is wrong with these settings of adaptive redundancy, as (field, message)
    pairs; none when they are usable. None means "not given"."""
    problems = []
    for name, value in (("judgments_per_task", minimum), ("max_judgments_per_task", maximum)):
        if value is not None and not 1 <= value <= MAX_JUDGMENTS:
            problems.append((name, f"{value} is out of range; use 1..{MAX_JUDGMENTS}"))
    if minimum is not None and maximum is not None and maximum < minimum:
        problems.append(
            (
                "max_judgments_per_task",
                f"{maximum} is below judgments_per_task ({minimum}); give a maximum at least "
                "the minimum (equal to it for a fixed number of judgments)",
            )
        )
    if threshold is not None and not 0.5 <= threshold < 1:
        problems.append(
            (
                "consensus_threshold",
                f"{threshold} is out of range; use a probability from 0.5 to below 1 "
                "(0.875 stops a pair at 2-0, 0.9375 at 3-0)",
            )
        )
    return problems
