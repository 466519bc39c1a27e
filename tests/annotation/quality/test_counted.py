"""Which judgments count (annotation/quality/counted.py), checked against every user of
the rule: the agreement arrays and annotator figures, repeat scheduling, the export's
reasons, the leaderboard's pairs. The training trigger's check is in
tests/training/test_pipeline_tally.py, on the same scenario."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from itertools import count
from pathlib import Path

import pytest

from annotation.export import create_export, export_snapshot
from annotation.export.query import ALWAYS_REMOVED, FILTER_REMOVED
from annotation.intake.batch_processing import process_batch
from annotation.intake.importing import import_batch
from annotation.judging.assignment import next_assignment
from annotation.judging.submission import submit_judgment
from annotation.leaderboard.standings import pair_counts
from annotation.models import (
    ExportSnapshot,
    Image,
    Judgment,
    Project,
    QualitySettings,
    Task,
    User,
)
from annotation.projects.accounts import add_user
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
from annotation.quality.gold import make_gold_pairs
from annotation.quality.repeats import schedule_repeat_items
from tests.annotation.factories import write_batch

pytestmark = pytest.mark.django_db

_keys = count(1)


@dataclass
class Scenario:
    """One judgment of each kind, made through the services an annotator's work goes
    through: `plain` and `gold` count; the other three do not."""

    project: Project
    alice: User
    bob: User
    calibration: Judgment  # alice's calibration round, on a gold task
    excluded: Judgment  # bob's, on the task alice judged too; bob is then excluded
    plain: Judgment  # alice's
    gold: Judgment  # alice's, on the gold task not used for her calibration
    repeat: Judgment  # alice's, on the repeat item of her plain judgment's task


def judge_next(project: Project, annotator: User, *, calibration: bool = False) -> Judgment:
    """Lease the annotator's next task and submit a ranking of it: the gold ranking for a
    gold task, else the display order."""
    lease = next_assignment(project, annotator)
    assert lease is not None, f"no task left for {annotator.username}"
    assignment = lease.assignment
    assert assignment.is_calibration is calibration
    task = Task.objects.get(pk=assignment.task_id)
    ranking = list(task.gold_ranking or assignment.display_order)
    submitted = submit_judgment(
        assignment.pk,
        annotator,
        ranking=ranking,
        duration_ms=2500,
        flags=[],
        idempotency_key=f"counted-{next(_keys)}",
    )
    return Judgment.objects.get(pk=submitted.judgment.pk)


def counted_scenario(tmp: Path, slug: str = "counted") -> Scenario:
    """A pairwise project of one task wanting two judgments, and two gold pairs made from
    its images; bob judges the task and is excluded, alice passes calibration on one gold
    task, judges the task, the other gold task, and the repeat item of the task."""
    summary = import_batch(write_batch(tmp / "batch", groups=1), slug, judgments_per_task=2)
    process_batch(summary.batch)
    project = Project.objects.get(slug=slug)
    assert len(make_gold_pairs(project, count=2, seed=3)) == 2
    alice, bob = (
        add_user(f"{slug}-{name}", "annotator", password="correct-horse-9x").user
        for name in ("alice", "bob")
    )

    Project.objects.filter(pk=project.pk).update(calibration_tasks=0, gold_rate=0.0)
    project.refresh_from_db()
    excluded = judge_next(project, bob)
    set_excluded(project, bob, excluded=True, by=None, reason="random clicking")

    Project.objects.filter(pk=project.pk).update(calibration_tasks=1)
    project.refresh_from_db()
    calibration = judge_next(project, alice, calibration=True)
    plain = judge_next(project, alice)
    assert plain.task_id == excluded.task_id

    Project.objects.filter(pk=project.pk).update(gold_rate=1.0)
    project.refresh_from_db()
    gold = judge_next(project, alice)

    QualitySettings.objects.create(project=project, repeat_rate=1.0, repeat_after_hours=0)
    assert schedule_repeat_items(project) == 1  # none for bob: he is excluded
    repeat = judge_next(project, alice)  # no gold left: the repeat item is next

    scenario = Scenario(project, alice, bob, calibration, excluded, plain, gold, repeat)
    assert calibration.is_calibration and calibration.task.is_gold
    assert gold.task.is_gold and not gold.is_calibration and gold.task_id != calibration.task_id
    assert repeat.task.repeat_of_id == plain.task_id and repeat.task.repeat_for_id == alice.pk
    return scenario


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
    ]
    assert ALWAYS_REMOVED == ("calibration", "excluded_annotator", "repeat_task")
    assert FILTER_REMOVED[-1] == GOLD_REASON == "gold_task"
    assert uncounted_reasons(include_gold=False)[-1] == ("gold_task", "t.is_gold")
    renamed = dict(uncounted_reasons("o", "ot"))
    assert renamed["calibration"] == "o.is_calibration"
    assert renamed["repeat_task"] == "ot.repeat_of_id IS NOT NULL"
    assert "ot.project_id" in renamed["excluded_annotator"]
    assert "o.annotator_id" in renamed["excluded_annotator"]
    where, params = counted_sql()
    assert params == []
    assert where.count("NOT (") == 3 and "is_gold" not in where
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
    for counts in pair_counts(s.project).values():
        overall.update(counts)
    assert overall == generator_pairs([s.plain, s.gold])
    assert sum(overall.values()) == 2
    assert [loser for _, loser in overall if loser.startswith("degraded:")]  # the gold pair
