"""Per-annotator figures of an agreement report, and the quality flags they earn."""

from __future__ import annotations

from typing import Any

import numpy as np
from django.db import connection

from annotation.models import Project, QualitySettings, User
from annotation.quality.agreement_data import JudgmentArrays
from annotation.quality.agreement_stats import Core, inversion_score, mean, number
from annotation.quality.counted import counted_sql
from core.intervals import wilson_interval


def thresholds_for(project: Project) -> QualitySettings:
    settings_row = QualitySettings.objects.filter(project=project).first()
    return settings_row or QualitySettings(project=project)


def annotator_rows(
    project: Project, judgments: JudgmentArrays, core: Core, thresholds: QualitySettings
) -> list[dict[str, Any]]:
    gold = gold_accuracy(project)
    repeats = self_consistency(project)
    # Every source reads only judgments that count (annotation/quality/counted.py), so an
    # excluded annotator has no row.
    ids = sorted(set(judgments.annotator.tolist()) | set(gold) | set(repeats))
    users = {user.pk: user for user in User.objects.filter(pk__in=ids)}
    order = np.argsort(judgments.annotator, kind="stable")
    sorted_annotators = judgments.annotator[order]
    starts = np.searchsorted(sorted_annotators, ids, side="left")
    ends = np.searchsorted(sorted_annotators, ids, side="right")
    rows = []
    for annotator, start, end in zip(ids, starts, ends, strict=True):
        mine = order[start:end]
        durations = judgments.duration_ms[mine]
        durations = durations[~np.isnan(durations)]
        loo = core.loo_score[mine]
        loo = loo[~np.isnan(loo)]
        first_won = core.first_won[mine]
        first_won = first_won[~np.isnan(first_won)]
        gold_scores = gold.get(annotator, [])
        repeat_scores = repeats.get(annotator, [])
        agreement, gold_mean = mean(loo), mean(np.array(gold_scores))
        left, consistency = mean(first_won), mean(np.array(repeat_scores))
        entry: dict[str, Any] = {
            "annotator": display_name(users[annotator]) if annotator in users else str(annotator),
            "annotator_id": annotator,
            "judgments": len(mine),
            "agreement": agreement,
            "agreement_judgments": len(loo),
            "agreement_interval": wilson_interval(agreement, len(loo)),
            "left_share": left,
            "left_judgments": len(first_won),
            "left_share_interval": wilson_interval(left, len(first_won)),
            "median_seconds": number(float(np.median(durations)) / 1000)
            if len(durations)
            else None,
            "gold_accuracy": gold_mean,
            "gold_judgments": len(gold_scores),
            "gold_interval": wilson_interval(gold_mean, len(gold_scores)),
            "self_consistency": consistency,
            "repeat_judgments": len(repeat_scores),
            "self_consistency_interval": wilson_interval(consistency, len(repeat_scores)),
        }
        entry["quality_flags"] = quality_flags(entry, thresholds)
        rows.append(entry)
    return rows


def quality_flags(entry: dict[str, Any], thresholds: QualitySettings) -> list[str]:
    """Names of the thresholds an annotator is confidently on the wrong side of.

    A share-like figure (agreement, gold accuracy, self-consistency, first-shown share)
    raises its flag only when its whole 95% interval (core/intervals.py, Wilson) is past
    the threshold: an annotator with 5 judgments who agreed on 3 is not flagged on the
    point estimate 0.6. Speed is flagged on the median. Nobody is flagged before
    `min_judgments` judgments. A figure without an interval raises no flag.
    """
    if entry["judgments"] < thresholds.min_judgments:
        return []

    def below(interval_key: str, threshold: float) -> bool:
        interval = entry.get(interval_key)
        return interval is not None and interval[1] < threshold

    flags = []
    if below("agreement_interval", thresholds.min_agreement):
        flags.append("low_agreement")
    if below("gold_interval", thresholds.min_gold_accuracy):
        flags.append("low_gold_accuracy")
    left = entry.get("left_share_interval")
    bias = thresholds.max_position_bias
    if left is not None and (left[0] > 0.5 + bias or left[1] < 0.5 - bias):
        flags.append("position_bias")
    if below("self_consistency_interval", thresholds.min_self_consistency):
        flags.append("low_self_consistency")
    seconds = entry["median_seconds"]
    if seconds is not None and seconds < thresholds.min_median_seconds:
        flags.append("too_fast")
    return flags


def gold_accuracy(project: Project) -> dict[int, list[float]]:
    """Per annotator: inversion score of each gold judgment that counts (calibration
    judgments and excluded annotators' aside) against the gold ranking."""
    counted, counted_params = counted_sql("j", "t")
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT j.annotator_id, j.ranking, t.gold_ranking
            FROM annotation_judgment j JOIN annotation_task t ON t.id = j.task_id
            WHERE t.project_id = %s AND t.is_gold AND t.gold_ranking IS NOT NULL
              AND {counted}
            """,
            [project.pk, *counted_params],
        )
        rows = cursor.fetchall()
    scores: dict[int, list[float]] = {}
    for annotator, ranking, gold_ranking in rows:
        reference = {image: float(rank) for rank, image in enumerate(gold_ranking)}
        score = inversion_score(ranking, reference)
        if score is not None:
            scores.setdefault(annotator, []).append(score)
    return scores


def self_consistency(project: Project) -> dict[int, list[float]]:
    """Per annotator: inversion score of each repeat judgment against their first one.

    A repeat judgment never counts itself (its task is a repeat item); it is read when
    the first judgment it repeats counts, which leaves out excluded annotators.
    """
    counted, counted_params = counted_sql("o", "ot")
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT j.annotator_id, j.ranking, o.ranking
            FROM annotation_judgment j
            JOIN annotation_task t ON t.id = j.task_id
            JOIN annotation_judgment o
              ON o.task_id = t.repeat_of_id AND o.annotator_id = j.annotator_id
            JOIN annotation_task ot ON ot.id = o.task_id
            WHERE t.project_id = %s AND t.repeat_of_id IS NOT NULL AND {counted}
              AND j.retracted_at IS NULL
            """,
            [project.pk, *counted_params],
        )
        rows = cursor.fetchall()
    scores: dict[int, list[float]] = {}
    for annotator, ranking, earlier in rows:
        reference = {image: float(rank) for rank, image in enumerate(earlier)}
        score = inversion_score(ranking, reference)
        if score is not None:
            scores.setdefault(annotator, []).append(score)
    return scores


def display_name(user: User) -> str:
    return user.external_id or user.username
