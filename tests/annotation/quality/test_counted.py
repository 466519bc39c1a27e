"""Which judgments count (annotation/quality/counted.py), checked against every user of
the rule: the agreement arrays and annotator figures, repeat scheduling, the export's
reasons, the leaderboard's pairs. The training trigger's check is in
tests/training/test_pipeline_tally.py, on the same scenario."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from annotation.export import create_export, export_snapshot
from annotation.export.query import ALWAYS_REMOVED, FILTER_REMOVED
from annotation.intake import import_batch, process_batch
from annotation.judging import submit_judgment, undo_last_judgment
from annotation.leaderboard.standings import generator_leaderboard, judged_pairs
from annotation.models import (
    ExportSnapshot,
    Image,
    Judgment,
    Project,
    Task,
)
from annotation.projects import add_user
from annotation.quality import (
    GOLD_REASON,
    UNCOUNTED_REASONS,
    counted_judgments,
    counted_pairs,
    counted_sql,
    uncounted_reasons,
)
from annotation.quality.agreement import compute_agreement
from annotation.quality.agreement_data import read_judgments
from annotation.quality.annotator_quality import set_excluded
from annotation.quality.repeats import schedule_repeat_items
from tests.factories.batches import write_batch
from tests.factories.scenarios import counted_scenario, judge_next

pytestmark = pytest.mark.django_db


def generator_pairs(judgments: list[Judgment]) -> Counter[tuple[str, str]]:
    """(winner generator, loser generator) of each judgment's pair (pairwise judgments)."""
    generators = dict(Image.objects.values_list("pk", "generator"))
    return Counter(
        (generators[j.ranking[0]] or "unknown", generators[j.ranking[1]] or "unknown")
        for j in judgments
    )


def run_export(project: Project, out: Path, **parameters: object) -> ExportSnapshot:
    snapshot = create_export(project, {"split": "all", **parameters}, out=out, enqueue=False)
    done = export_snapshot(snapshot.pk)
    assert done is not None and done.status == ExportSnapshot.Status.DONE, done and done.error
    return done


def test_the_reasons_are_declared_once_in_the_exports_order() -> None:
    assert [name for name, _ in UNCOUNTED_REASONS] == [
        "calibration",
        "excluded_annotator",
        "repeat_task",
        "retracted",
    ]
    assert ALWAYS_REMOVED == ("calibration", "excluded_annotator", "repeat_task", "retracted")
    assert FILTER_REMOVED[-1] == GOLD_REASON == "gold_task"
    assert uncounted_reasons(include_gold=False)[-1] == ("gold_task", "t.is_gold")
    renamed = dict(uncounted_reasons("o", "ot"))
    assert renamed["calibration"] == "o.is_calibration"
    assert renamed["repeat_task"] == "ot.repeat_of_id IS NOT NULL"
    assert "ot.project_id" in renamed["excluded_annotator"]
    assert "o.annotator_id" in renamed["excluded_annotator"]
    where, params = counted_sql()
    assert params == []
    assert where.count("NOT (") == 4 and "is_gold" not in where
    assert "NOT (t.is_gold)" in counted_sql(include_gold=False)[0]


def test_the_querysets_keep_the_judgments_and_pairs_that_count(tmp_path: Path) -> None:
    s = counted_scenario(tmp_path)
    assert Judgment.objects.filter(task__project=s.project).count() == 5

    assert set(counted_judgments(s.project)) == {s.plain, s.gold}
    assert set(counted_judgments(s.project, include_gold=False)) == {s.plain}
    assert set(counted_pairs(s.project).values_list("judgment_id", flat=True)) == {
        s.plain.pk,
        s.gold.pk,
    }
    assert set(counted_pairs(s.project, include_gold=False).values_list("judgment", flat=True)) == {
        s.plain.pk
    }
    # The excluded and repeat judgments have pair rows; the rule, not their absence,
    # leaves them out.
    assert s.excluded.pairs.exists() and s.repeat.pairs.exists()


def test_agreement_reads_the_judgments_that_count(tmp_path: Path) -> None:
    s = counted_scenario(tmp_path)

    arrays = read_judgments(s.project, None, None, None)
    assert arrays.ids.tolist() == [s.plain.pk, s.gold.pk]
    assert arrays.annotator.tolist() == [s.alice.pk, s.alice.pk]
    assert arrays.task.tolist() == [s.plain.task_id, s.gold.task_id]

    report = compute_agreement(s.project, use_cache=False, store=False)
    [row] = report["annotators"]  # bob is excluded: no row of his
    assert row["annotator_id"] == s.alice.pk
    assert row["judgments"] == 2
    # Gold accuracy reads the gold judgment that counts, not the calibration one;
    # self-consistency reads the repeat judgment against the judgment it repeats.
    assert (row["gold_judgments"], row["gold_accuracy"]) == (1, 1.0)
    assert row["repeat_judgments"] == 1
    assert report["excluded_annotators"] == [s.bob.username]


def test_repeats_are_scheduled_from_judgments_that_count(tmp_path: Path) -> None:
    s = counted_scenario(tmp_path)
    repeats = Task.objects.filter(project=s.project).exclude(repeat_of=None)
    assert [(t.repeat_of_id, t.repeat_for_id) for t in repeats] == [(s.plain.task_id, s.alice.pk)]

    # Re-included, bob's judgment counts again, and it earns him a repeat item.
    set_excluded(s.project, s.bob, excluded=False, by=None)
    assert schedule_repeat_items(s.project) == 1
    assert repeats.filter(repeat_for=s.bob, repeat_of_id=s.excluded.task_id).exists()


def test_the_export_names_the_first_reason_each_judgment_is_left_out(tmp_path: Path) -> None:
    s = counted_scenario(tmp_path)

    everything = run_export(s.project, tmp_path / "all")
    assert everything.counts["removed"] == {
        "calibration": 1,
        "excluded_annotator": 1,
        "repeat_task": 1,
    }
    exported = (tmp_path / "all" / "annotations.jsonl").read_text().splitlines()
    assert len(exported) == 2 == everything.counts["splits"]["train"]["judgments"]

    no_gold = run_export(s.project, tmp_path / "no-gold", exclude_gold=True)
    assert no_gold.counts["removed"] == {
        "calibration": 1,
        "excluded_annotator": 1,
        "repeat_task": 1,
        "gold_task": 1,
    }
    assert no_gold.counts["splits"]["train"]["judgments"] == 1


def test_the_leaderboard_counts_the_pairs_of_judgments_that_count(tmp_path: Path) -> None:
    s = counted_scenario(tmp_path)

    overall: Counter[tuple[str, str]] = Counter()
    for entries in judged_pairs(s.project).values():
        for _prompt, pairs in entries:
            overall.update(pairs)
    # Gold pairs are a check of the annotators (an image against its degraded copy), not
    # a preference between generators: the leaderboard leaves them out.
    assert overall == generator_pairs([s.plain])
    assert sum(overall.values()) == 1
    # The degraded copies' scores stay out of the mean scores too.
    from annotation.models import Image
    from scoring.models import ImageScore, ModelVersion

    version = ModelVersion.objects.create(
        name="hps-gold-check",
        architecture="ViT-B-32",
        checkpoint_path=str(tmp_path / "none.pt"),
        checkpoint_sha256="0" * 64,
        status=ModelVersion.Status.ACTIVE,
    )
    images = Image.objects.filter(project=s.project)
    assert images.filter(generator__startswith="degraded:").exists()
    for image in images:
        ImageScore.objects.create(image=image, model_version=version, score=0.2)
    board = generator_leaderboard(s.project, samples=10)
    generators = {row["generator"] for row in board["overall"]["generators"]}
    assert generators and not [g for g in generators if g.startswith("degraded:")]
    assert board["mean_scores"] and not [g for g in board["mean_scores"] if "degraded:" in g]
    scored = {row["generator"] for row in board["mean_score_intervals"]["overall"]}
    assert scored and not [g for g in scored if g.startswith("degraded:")]


def test_an_undone_judgment_counts_nowhere_and_its_replacement_does(tmp_path: Path) -> None:
    summary = import_batch(
        write_batch(tmp_path / "batch", groups=2), "undone", judgments_per_task=2
    )
    process_batch(summary.batch)
    project = Project.objects.get(slug="undone")
    Project.objects.filter(pk=project.pk).update(calibration_tasks=0)
    project.refresh_from_db()
    alice, bob = (
        add_user(f"undone-{name}", "annotator", password="correct-horse-9x").user
        for name in ("alice", "bob")
    )
    for annotator in (alice, bob, alice, bob):
        judge_next(project, annotator)
    # Cached before the undo: the report must not be served from the cache after it.
    assert compute_agreement(project)["judgments"] == 4

    undone = undo_last_judgment(project, bob).judgment

    assert undone not in counted_judgments(project)
    assert not counted_pairs(project).filter(judgment_id=undone.pk).exists()
    assert undone.pk not in read_judgments(project, None, None, None).ids.tolist()
    report = compute_agreement(project)
    assert report["judgments"] == 3
    assert {row["annotator_id"]: row["judgments"] for row in report["annotators"]} == {
        alice.pk: 2,
        bob.pk: 1,
    }
    pairs = sum(sum(p.values()) for entries in judged_pairs(project).values() for _, p in entries)
    assert pairs == 3
    exported = run_export(project, tmp_path / "after-undo")
    assert exported.counts["removed"] == {"retracted": 1}
    assert exported.counts["splits"]["train"]["judgments"] == 3
    lines = (tmp_path / "after-undo" / "annotations.jsonl").read_text().splitlines()
    assert undone.pk not in {json.loads(line)["judgment"] for line in lines}
    assert len(json.loads((tmp_path / "after-undo" / "train.json").read_text())) == 3

    # The replacement, on the same assignment, counts in its place.
    assert undone.assignment_id is not None
    replacement = submit_judgment(
        undone.assignment_id,
        bob,
        ranking=list(reversed(undone.ranking)),
        duration_ms=900,
        flags=[],
        idempotency_key="replacement",
    ).judgment
    assert replacement in counted_judgments(project)
    assert compute_agreement(project)["judgments"] == 4
