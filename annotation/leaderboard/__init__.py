"""The generator leaderboard: Bradley-Terry strengths per generator from the pair rows,
with bootstrap intervals, beside the active scorer's mean score (standings); stored and
refreshed in the background, served as of its time."""

from annotation.leaderboard.standings import (
    fit_strengths,
    generator_leaderboard,
    leaderboard_version,
    mean_scores_for,
    refresh_leaderboard,
    served_leaderboard,
)

__all__ = [
    "fit_strengths",
    "generator_leaderboard",
    "leaderboard_version",
    "mean_scores_for",
    "refresh_leaderboard",
    "served_leaderboard",
]
