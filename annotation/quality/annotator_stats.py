"""Per-annotator figures of an agreement report, and the quality flags they earn."""

from __future__ import annotations

from typing import Any

import numpy as np
from django.db import connection

from annotation.models import Project, QualitySettings, User
from annotation.quality.agreement_data import JudgmentArrays
from annotation.quality.agreement_stats import Core, inversion_score, mean, number
from annotation.quality.counted import counted_sql


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
        entry: dict[str, Any] = {
            "annotator": display_name(users[annotator]) if annotator in users else str(annotator),
            "annotator_id": annotator,
            "judgments": len(mine),
            "agreement": mean(loo),
            "agreement_judgments": len(loo),
            "left_share": mean(first_won),
            "median_seconds": number(float(np.median(durations)) / 1000)
            if len(durations)
            else None,
            "gold_accuracy": mean(np.array(gold_scores)),
            "gold_judgments": len(gold_scores),
            "self_consistency": mean(np.array(repeat_scores)),
            "repeat_judgments": len(repeat_scores),
        }
        entry["quality_flags"] = quality_flags(entry, thresholds)
        rows.append(entry)
    return rows


def quality_flags(entry: dict[str, Any], thresholds: QualitySettings) -> list[str]:
    """Names of the thresholds an annotator's figures fall below (none before min_judgments)."""
    if entry["judgments"] < thresholds.min_judgments:
        return []
    flags = []
    if entry["agreement"] is not None and entry["agreement"] < thresholds.min_agreement:
        flags.append("low_agreement")
    if entry["gold_accuracy"] is not None and entry["gold_accuracy"] < thresholds.min_gold_accuracy:
        flags.append("low_gold_accuracy")
    left = entry["left_share"]
    if left is not None and abs(left - 0.5) > thresholds.max_position_bias:
        flags.append("position_bias")
    consistency = entry["self_consistency"]
    if consistency is not None and consistency < thresholds.min_self_consistency:
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
