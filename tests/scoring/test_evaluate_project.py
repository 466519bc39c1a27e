"""manage.py evaluate --project: a version's accuracy on a project's own test split from
its stored scores, against a computation written out here from the judgments."""

from __future__ import annotations

import io
import itertools
import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from annotation.models import Image, Judgment, Prompt, Task
from scoring.models import ImageScore, ModelVersion
from tests.factories.batches import tasks_of
from tests.factories.projects import imported_project, judged_project

Register = Callable[..., ModelVersion]


def evaluate(*args: str) -> tuple[dict[str, Any], str]:
    out = io.StringIO()
    call_command("evaluate", *args, stdout=out, stderr=io.StringIO())
    return json.loads(out.getvalue().strip().splitlines()[-1]), out.getvalue()


def expected_figures(tasks: list[Task], scores: dict[int, float]) -> dict[str, Any]:
    """The three accuracies, by hand: mean human rank per image over the task's
    judgments, then every pair of images with different mean ranks."""
    rank_accuracy, imagereward, right, pairs = [], [], 0, 0
    by_generator: dict[str, list[int]] = {}
    by_style: dict[str, list[float]] = {}
    for task in tasks:
        ids = list(task.task_images.order_by("position").values_list("image_id", flat=True))
        rankings = list(Judgment.objects.filter(task=task).values_list("ranking", flat=True))
        mean = {i: sum(r.index(i) + 1 for r in rankings) / len(rankings) for i in ids}
        generator = dict(Image.objects.filter(pk__in=ids).values_list("pk", "generator"))
        discordant = ordered = correct = 0
        for a, b in itertools.combinations(ids, 2):
            if mean[a] == mean[b]:
                continue
            ordered += 1
            good = (scores[a] > scores[b]) == (mean[a] < mean[b])
            correct += good
            discordant += not good
            for name in {generator[a], generator[b]}:
                by_generator.setdefault(name, [0, 0])
                by_generator[name][0] += good
                by_generator[name][1] += 1
        n = len(ids)
        rank_accuracy.append(1 - discordant / (n * (n - 1) / 2))
        if ordered:
            imagereward.append(correct / ordered)
        right, pairs = right + correct, pairs + ordered
        by_style.setdefault(task.prompt.style, []).append(rank_accuracy[-1])
    return {
        "ranking": sum(rank_accuracy) / len(rank_accuracy),
        "pairwise": right / pairs,
        "pairs": pairs,
        "imagereward": sum(imagereward) / len(imagereward),
        "by_generator": {name: r / t for name, (r, t) in by_generator.items()},
        "by_style": {style: sum(v) / len(v) for style, v in by_style.items()},
    }


def within(estimate: dict[str, Any], value: float) -> None:
    assert estimate["value"] == pytest.approx(value, abs=1e-9)
    assert estimate["ci_low"] <= estimate["value"] <= estimate["ci_high"]


@pytest.mark.django_db
def test_the_json_line_matches_a_computation_from_the_judgments(
    tmp_path: Path, register_tiny: Register
) -> None:
    judged = judged_project(
        tmp_path, "evalproj", train_groups=1, test_groups=8, images=3, annotators=3
    )
    version = register_tiny("proj-model")
    tasks = tasks_of(judged.test_batch)
    for index, task in enumerate(tasks):
        Prompt.objects.filter(pk=task.prompt_id).update(style="anime" if index % 2 else "photo")
    rng = random.Random(4)
    scores = {image.pk: rng.uniform(0.1, 0.3) for image in Image.objects.all()}
    ImageScore.objects.bulk_create(
        ImageScore(
            image_id=pk, model_version=version, score=score, precision="fp16", antialias=False
        )
        for pk, score in scores.items()
    )
    tasks = list(Task.objects.filter(batch=judged.test_batch).order_by("pk"))

    result, out = evaluate("--project", "evalproj", "--model-version", "proj-model")

    expected = expected_figures(tasks, scores)
    assert (result["model"], result["project"], result["groups"]) == ("proj-model", "evalproj", 8)
    assert (result["precision"], result["antialias"], result["unscored_groups"]) == (
        "fp16",
        False,
        0,
    )
    within(result["ranking_accuracy"], expected["ranking"])
    within(result["pairwise_accuracy"], expected["pairwise"])
    assert result["pairwise_accuracy"]["pairs"] == expected["pairs"]
    within(result["imagereward_accuracy"], expected["imagereward"])
    assert (
        set(result["by_generator"])
        == set(expected["by_generator"])
        == {
            "gen-0",
            "gen-1",
            "gen-2",
        }
    )
    for name, value in expected["by_generator"].items():
        within(result["by_generator"][name]["pairwise_accuracy"], value)
    assert set(result["by_style"]) == {"anime", "photo"}
    for style, value in expected["by_style"].items():
        assert result["by_style"][style]["groups"] == 4
        within(result["by_style"][style]["ranking_accuracy"], value)
    assert "HPD v2 test accuracy of proj-model (8 prompts)" in out

    # A group with an unscored image is left out, and counted.
    first_image = tasks[0].task_images.order_by("position").values_list("image_id", flat=True)[0]
    ImageScore.objects.filter(image_id=first_image).delete()
    partial, out = evaluate("--project", "evalproj", "--model-version", "proj-model")
    assert (partial["groups"], partial["unscored_groups"]) == (7, 1)
    assert "1 judged test group(s) left out" in out

    # No scores at all from the version, or none active: said plainly.
    ImageScore.objects.all().delete()
    with pytest.raises(CommandError, match="none of the 8 judged test group"):
        evaluate("--project", "evalproj", "--model-version", "proj-model")
    with pytest.raises(CommandError, match="no model version is active"):
        evaluate("--project", "evalproj")
    with pytest.raises(CommandError, match="not --checkpoint or --test"):
        evaluate("--project", "evalproj", "--test", "test.json")


@pytest.mark.django_db
def test_a_project_without_judged_test_groups_says_so(
    tmp_path: Path, register_tiny: Register
) -> None:
    imported_project(tmp_path, "unjudged", train_groups=1, test_groups=2, annotators=1)
    register_tiny("proj-model")
    with pytest.raises(CommandError, match="project unjudged has no test data"):
        evaluate("--project", "unjudged", "--model-version", "proj-model")
    with pytest.raises(CommandError, match="there is no project 'nope'"):
        evaluate("--project", "nope", "--model-version", "proj-model")
    with pytest.raises(CommandError, match="give --test TEST_JSON or --project SLUG"):
        evaluate("--model-version", "proj-model")
