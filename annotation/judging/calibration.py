"""The calibration round: a new annotator's first gold tasks, with feedback after each."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import F
from django.utils import timezone

from annotation.models import Judgment, ProjectAnnotator


@dataclass(frozen=True)
class CalibrationFeedback:
    """What the annotator is told after a calibration judgment."""

    correct: bool
    expected: list[int]
    done: int
    round_size: int
    passed: bool | None  # None while the round is still under way

    def as_dict(self) -> dict[str, object]:
        return {
            "correct": self.correct,
            "expected": self.expected,
            "done": self.done,
            "round_size": self.round_size,
            "passed": self.passed,
        }


def matches_gold(ranking: list[int], gold_ranking: list[int]) -> bool:
    """Whether `ranking` orders the gold images as the gold ranking does.

    A gold ranking may name only some of the task's images (an "obvious" pair in a
    larger group): the other images may sit anywhere.
    """
    gold = set(gold_ranking)
    return [image for image in ranking if image in gold] == list(gold_ranking)


def record_calibration(judgment: Judgment) -> CalibrationFeedback:
    """Score a calibration judgment and, once a round is complete, decide it.

    Must run inside the submit transaction; it takes the annotator's ProjectAnnotator
    row lock (already held when the judgment's lease was taken in the same project by
    next_assignment, which runs in its own transaction). A round is the last
    `calibration_tasks` calibration judgments: when at least `calibration_pass_rate` of
    them match their gold order, `calibrated_at` is set and the round is over. A failed
    round is followed by another while unseen gold tasks remain.
    """
    task = judgment.task
    project = task.project
    standing, _ = ProjectAnnotator.objects.select_for_update().get_or_create(
        project=project, annotator=judgment.annotator
    )
    feedback = feedback_for(judgment)
    if standing.calibrated_at is not None or feedback.passed is not True:
        return feedback
    standing.calibrated_at = timezone.now()
    standing.quality_flags = [f for f in standing.quality_flags if f != "calibration_failed"]
    standing.save(update_fields=["calibrated_at", "quality_flags"])
    return feedback


def feedback_for(judgment: Judgment) -> CalibrationFeedback:
    """Feedback on one calibration judgment, from what is stored (replays give the same)."""
    task = judgment.task
    project = task.project
    expected = list(task.gold_ranking or [])
    recent = list(
        Judgment.objects.filter(
            annotator=judgment.annotator,
            task__project=project,
            is_calibration=True,
            created_at__lte=judgment.created_at,
        )
        .order_by("-created_at", "-id")
        .values_list("ranking", F("task__gold_ranking"))[: project.calibration_tasks]
    )
    done = len(recent)
    passed: bool | None = None
    if done >= project.calibration_tasks:
        correct = sum(matches_gold(list(r), list(g or [])) for r, g in recent)
        passed = correct >= project.calibration_pass_rate * project.calibration_tasks
    return CalibrationFeedback(
        correct=matches_gold(list(judgment.ranking), expected),
        expected=expected,
        done=done,
        round_size=project.calibration_tasks,
        passed=passed,
    )
