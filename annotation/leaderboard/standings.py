"""The generator leaderboard: Bradley-Terry strengths per generator from the pair rows,
with bootstrap 95% intervals, overall and per prompt style (HPS v2's benchmark table,
made from live judgments), beside the active scorer's mean score per generator with its
own interval.

The bootstrap resamples prompts, never implied pairs: every pair of one N-way ranking
comes from one judgment, and every judgment of one prompt shares that prompt's images,
so the prompt is the unit whose data are independent (docs/hpd_v2.md, "Generator
leaderboard"). The statistics are numpy over plain mappings (annotation/leaderboard/
resampling.py); this module reads the database.

Gold pairs are left out: they pit an image against a degraded copy of itself, a check
of the annotators, and would list the copies as `degraded:*` generators.

A page never fits the bootstrap: it serves the stored leaderboard (`served_leaderboard`,
annotation/quality/stored.py) and the refresh task (`refresh_leaderboard`) refits it in
the background when the counted judgments or the active model's scores changed.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from django.db.models import Count, Max

from annotation.leaderboard.resampling import (
    BOOTSTRAP_SAMPLES,
    JudgedPairs,
    fit_strengths,
    mean_score_intervals,
)
from annotation.models import Project, StoredReport
from annotation.quality import (
    DEGRADED_PREFIX,
    ServedReport,
    counted_pairs,
    judgments_version,
    serve_report,
    short_hash,
    store_report,
    stored_report,
)
from scoring.models import ImageScore
from scoring.queries import active_model_version, image_scores, mean_score_by_generator

NOT_CLASSIFIED = "not classified"


def mean_scores_for(project: Project) -> Mapping[str, float] | None:
    """Generator -> mean HPS score of the active scorer model, or None.

    The scoring app's stored image scores of the active ModelVersion, averaged per
    generator (for the leaderboard and the export datasheet); None when no version is
    active or nothing is scored yet, shown as "not computed".
    """
    return mean_score_by_generator(project) or None


def judged_pairs(project: Project) -> dict[str, list[JudgedPairs]]:
    """Per prompt style: one entry per judgment, (prompt id, {(winner generator, loser
    generator): pairs}).

    A tie (PairJudgment.is_tie, annotation/judging/ties.py) is half a win for each
    image: half a pair (A, B) and half a pair (B, A).

    Reads the pair rows of the judgments that count (annotation/quality/counted.py),
    gold pairs left out. One grouped query; memory grows with the judgments, not with
    their implied pairs.
    """
    rows = (
        counted_pairs(project, include_gold=False)
        .values_list(
            "judgment_id",
            "task__prompt_id",
            "task__prompt__style",
            "winner__generator",
            "loser__generator",
            "is_tie",
        )
        .annotate(n=Count("id"))
        .order_by()
    )
    judgments: dict[int, tuple[int, str, dict[tuple[str, str], float]]] = {}
    for judgment, prompt, style, winner, loser, is_tie, n in rows:
        entry = judgments.setdefault(judgment, (prompt, style or "", {}))
        won, lost = winner or "unknown", loser or "unknown"
        shares = [((won, lost), n / 2), ((lost, won), n / 2)] if is_tie else [((won, lost), n)]
        for pair, share in shares:
            entry[2][pair] = entry[2].get(pair, 0) + share
    by_style: dict[str, list[JudgedPairs]] = defaultdict(list)
    for _judgment, (prompt, style, pairs) in sorted(judgments.items()):
        by_style[style].append((prompt, pairs))
    return dict(by_style)


def generator_leaderboard(project: Project, samples: int = BOOTSTRAP_SAMPLES) -> dict[str, Any]:
    """The leaderboard of a project: overall and per style, plus mean model scores.

    Read-only; deterministic for unchanged data (a fixed bootstrap seed). `comparisons`
    counts judgments (one N-way ranking is one comparison), `pairs` the pairs they imply.
    """
    by_style = judged_pairs(project)
    overall = [entry for entries in by_style.values() for entry in entries]
    scores = [
        row for row in image_scores(project) if not (row[0] or "").startswith(DEGRADED_PREFIX)
    ]
    score_table = mean_score_intervals(
        [(generator or "unknown", prompt, score) for generator, _style, prompt, score in scores],
        samples,
    )
    mean_scores = {
        generator: mean
        for generator, mean in (mean_scores_for(project) or {}).items()
        if not generator.startswith(DEGRADED_PREFIX)
    } or None
    table = fit_strengths(overall, samples)
    for row in table["generators"]:
        mean = score_table.get(row["generator"])
        row["mean_score"] = mean["mean"] if mean else None
        row["mean_score_low"] = mean["low"] if mean else None
        row["mean_score_high"] = mean["high"] if mean else None
    scores_by_style: dict[str, list[tuple[str, int, float]]] = defaultdict(list)
    for generator, style, prompt, score in scores:
        scores_by_style[style or NOT_CLASSIFIED].append((generator or "unknown", prompt, score))
    return {
        "project": project.slug,
        "bootstrap_samples": samples,
        "resampled": "prompts",
        "overall": table,
        "styles": {
            style or NOT_CLASSIFIED: fit_strengths(entries, samples)
            for style, entries in sorted(by_style.items())
        },
        "mean_scores": mean_scores,
        "mean_score_intervals": {
            "overall": _score_rows(score_table),
            "styles": {
                style: _score_rows(mean_score_intervals(rows, samples))
                for style, rows in sorted(scores_by_style.items())
            },
        }
        if scores
        else None,
    }


def leaderboard_version(project: Project) -> str:
    """What the leaderboard is computed from: the project's judgments and excluded
    annotators (annotation/quality/stored.py), and the active model version's scores of
    its images."""
    data = judgments_version(project)
    version = active_model_version()
    if version is None:
        return f"{data}|scores=none"
    scored = ImageScore.objects.filter(
        model_version=version, image__project=project, image__is_withdrawn=False
    ).aggregate(count=Count("id"), last=Max("id"))
    withdrawn = project.images.filter(is_withdrawn=True).values_list("id", flat=True)
    return (
        f"{data}|scores={version.pk}:{scored['count'] or 0}:{scored['last'] or 0}"
        f"|withdrawn={short_hash(sorted(withdrawn))}"
    )


def refresh_leaderboard(project: Project) -> dict[str, Any]:
    """The project's leaderboard, refitted and stored when its data changed since the
    stored one (the background task; the API too, which is throttled)."""
    version = leaderboard_version(project)
    stored = stored_report(project, StoredReport.Kind.LEADERBOARD)
    if stored is not None and stored.data_version == version:
        return {**stored.report, "as_of": stored.computed_at.isoformat()}
    started = time.perf_counter()
    board = generator_leaderboard(project)
    store_report(
        project, StoredReport.Kind.LEADERBOARD, version, board, time.perf_counter() - started
    )
    fresh = stored_report(project, StoredReport.Kind.LEADERBOARD)
    return {**board, "as_of": fresh.computed_at.isoformat() if fresh else None}


def served_leaderboard(project: Project) -> ServedReport:
    """The stored leaderboard as of its time (no fit); queues a refresh when stale."""
    return serve_report(project, StoredReport.Kind.LEADERBOARD, leaderboard_version(project))


def _score_rows(table: Mapping[str, dict[str, Any]]) -> list[dict[str, Any]]:
    rows = [{"generator": generator, **values} for generator, values in table.items()]
    rows.sort(key=lambda row: (-row["mean"], row["generator"]))
    return rows
