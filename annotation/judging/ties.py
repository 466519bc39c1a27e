"""Ties: images a judgment puts on one level ("about the same"), where a project allows them.

A judgment's `ranking` lists its images best to worst; its `levels`, when not empty, give
the level of each (0 best), non-decreasing down the ranking and rising by at most one
from one image to the next, so equal neighbours are tied. Empty levels are a strict
order. Everything that reads ties goes through the functions here: the submit's check,
the derived pair rows (a tie pair is half a win for each image), the stopping rule and
the agreement statistics.

Pure Python: no database access.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations, pairwise


class TieError(ValueError):
    """Levels that cannot be stored; the message says what is wrong and how to fix it."""


def effective_levels(ranking: Sequence[int], levels: Sequence[int]) -> list[int]:
    """The level of each image of `ranking`: `levels`, or 0, 1, 2, ... when empty."""
    return list(levels) if levels else list(range(len(ranking)))


def has_ties(levels: Sequence[int]) -> bool:
    return len(set(levels)) < len(levels)


def checked_levels(ranking: Sequence[int], levels: Sequence[int], *, allowed: bool) -> list[int]:
    """The levels to store for `ranking`: empty for a strict order (also when `levels`
    has no tie), else `levels` as given. Raises TieError when they are malformed or tie
    images in a project that does not allow ties (`allowed`)."""
    if not levels:
        return []
    if len(levels) != len(ranking):
        raise TieError(
            f"levels must give one level per image of the ranking ({len(ranking)}), "
            f"got {len(levels)}."
        )
    steps = [b - a for a, b in pairwise(levels)]
    if levels[0] != 0 or any(step not in (0, 1) for step in steps):
        raise TieError(
            "levels must start at 0 (the best level) and go down the ranking rising by 0 "
            f"(tied with the image before) or 1; got {list(levels)}."
        )
    if not has_ties(levels):
        return []
    if not allowed:
        raise TieError(
            "this project does not allow ties: put every image on a level of its own "
            "(leave levels out), or ask a manager to allow ties."
        )
    return list(levels)


def derived_pairs(ranking: Sequence[int], levels: Sequence[int]) -> list[tuple[int, int, bool]]:
    """(winner, loser, is_tie) for every pair of the ranking's images; a tie pair names
    its images in ranking order."""
    level = effective_levels(ranking, levels)
    return [
        (ranking[i], ranking[j], level[i] == level[j])
        for i, j in combinations(range(len(ranking)), 2)
    ]


def competition_ranks(ranking: Sequence[int], levels: Sequence[int]) -> list[int]:
    """The rank (1 = best) of each image of `ranking`, tied images sharing the best rank
    of their level (1, 1, 3 for two tied best images and a third)."""
    level = effective_levels(ranking, levels)
    first: dict[int, int] = {}
    for position, value in enumerate(level):
        first.setdefault(value, position + 1)
    return [first[value] for value in level]
