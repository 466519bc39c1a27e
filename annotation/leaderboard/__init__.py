"""The generator leaderboard: Bradley-Terry strengths per generator from the pair rows,
with bootstrap intervals, beside the active scorer's mean score (standings)."""

from annotation.leaderboard.standings import (
    fit_strengths,
    generator_leaderboard,
    mean_scores_for,
)

__all__ = ["fit_strengths", "generator_leaderboard", "mean_scores_for"]
