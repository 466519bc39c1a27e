"""The generator leaderboard: Bradley-Terry strengths and intervals from pair rows."""

from __future__ import annotations

import math
import re
from http import HTTPStatus
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse

from annotation.leaderboard.resampling import JudgedPairs, _fit_strengths_cached, fit_strengths
from annotation.leaderboard.standings import (
    generator_leaderboard,
    judged_pairs,
    refresh_leaderboard,
)
from annotation.models import ExportSnapshot, Prompt, Task, User
from annotation.quality.annotator_quality import set_excluded
from tests.conftest import client_for
from tests.factories.judging import judge_all
from tests.factories.projects import imported_project
from tests.factories.users import member_of

pytestmark = pytest.mark.django_db


def pair_judgments(counts: dict[tuple[str, str], int]) -> list[JudgedPairs]:
    """One judgment of one pair on its own prompt per count."""
    judgments: list[JudgedPairs] = []
    for pair, n in counts.items():
        judgments += [(f"{pair}-{k}", {pair: 1}) for k in range(n)]
    return judgments


def test_two_generators_strength_gap_is_the_log_odds() -> None:
    board = fit_strengths(pair_judgments({("a", "b"): 30, ("b", "a"): 10}), samples=50)
    rows = {row["generator"]: row for row in board["generators"]}
    assert board["comparisons"] == board["pairs"] == board["prompts"] == 40
    assert rows["a"]["strength"] - rows["b"]["strength"] == pytest.approx(math.log(3), abs=0.02)
    for row in rows.values():
        assert row["low"] <= row["strength"] <= row["high"]
    assert rows["a"]["win_rate"] == 0.75


def test_fits_are_reused_for_unchanged_counts_and_redone_when_they_change() -> None:
    judgments = pair_judgments({("x", "y"): 12, ("y", "x"): 5})
    first = fit_strengths(judgments, samples=40)
    first["generators"][0]["mean_score"] = 1.0  # a caller decorating its copy

    hits = _fit_strengths_cached.cache_info().hits
    again = fit_strengths(list(reversed(judgments)), samples=40)
    assert _fit_strengths_cached.cache_info().hits == hits + 1
    assert again == {k: v for k, v in first.items() if k != "generators"} | {
        "generators": [
            {k: v for k, v in row.items() if k != "mean_score"} for row in first["generators"]
        ]
    }
    assert "mean_score" not in again["generators"][0]

    changed = fit_strengths(pair_judgments({("x", "y"): 12, ("y", "x"): 15}), samples=40)
    strengths = {row["generator"]: row["strength"] for row in changed["generators"]}
    assert changed["comparisons"] == 27
    assert strengths["y"] > strengths["x"]


def ranked_by_generator(task: Task) -> list[int]:
    rows = sorted(task.task_images.select_related("image"), key=lambda r: r.image.generator)
    return [row.image_id for row in rows]


def consistent_project(tmp: Path) -> Any:
    """Every judgment ranks gen-0 > gen-1 > gen-2 > gen-3: the first annotator judges all
    seven tasks; each has a slot left for the second."""
    judged = imported_project(
        tmp, "board", train_groups=6, test_groups=1, annotators=2, train_judgments=2
    )
    # Processing the batches classified every prompt's style; these tests show prompts
    # with no style class, a state no service makes, so the classes are cleared here.
    Prompt.objects.filter(project=judged.project).update(style="")
    assert len(judge_all(judged.project, judged.annotators[0], ranked_by_generator)) == 7
    return judged


def test_leaderboard_orders_generators_and_ignores_excluded_work(tmp_path: Path) -> None:
    judged = consistent_project(tmp_path / "in")
    before = generator_leaderboard(judged.project, samples=50)
    order = [row["generator"] for row in before["overall"]["generators"]]
    assert order == ["gen-0", "gen-1", "gen-2", "gen-3"]
    # One 4-way ranking is one comparison implying six pairs; each generator took part
    # in all seven.
    assert before["overall"]["comparisons"] == 7 and before["overall"]["pairs"] == 7 * 6
    assert {row["comparisons"] for row in before["overall"]["generators"]} == {7}
    assert {row["pairs"] for row in before["overall"]["generators"]} == {7 * 3}
    # The service fits exactly what the pure function is given: one entry per judgment.
    entries = judged_pairs(judged.project)[""]
    assert len(entries) == 7 and all(sum(pairs.values()) == 6 for _p, pairs in entries)
    fitted = fit_strengths(entries, samples=50)
    assert before["overall"]["generators"] == [
        row | {"mean_score": None, "mean_score_low": None, "mean_score_high": None}
        for row in fitted["generators"]
    ]
    assert set(before["styles"]) == {"not classified"}
    assert before["mean_scores"] is None

    # An excluded annotator's reversed rankings change nothing (an excluded annotator is
    # served no more tasks: they judged before being excluded).
    cheat = judged.annotators[1]

    def reversed_by_generator(task: Task) -> list[int]:
        return list(reversed(ranked_by_generator(task)))

    assert len(judge_all(judged.project, cheat, reversed_by_generator)) == 7
    set_excluded(judged.project, cheat, excluded=True, by=None)
    after = generator_leaderboard(judged.project, samples=50)
    assert after == before


def test_leaderboard_api_and_datasets_page(
    tmp_path: Path, researcher_user: User, annotator_user: User, settings: Any
) -> None:
    settings.EXPORT_ROOT = tmp_path / "exports"
    judged = consistent_project(tmp_path / "in")
    member_of(judged.project, researcher_user, "researcher")
    api = client_for(researcher_user).get(
        reverse("project-leaderboard", kwargs={"slug": judged.project.slug})
    )
    assert api.status_code == HTTPStatus.OK
    assert api.json()["overall"]["generators"][0]["generator"] == "gen-0"

    client = client_for(researcher_user)
    client.force_login(researcher_user)
    page = client.get(reverse("datasets"), {"project": judged.project.slug})
    assert page.status_code == HTTPStatus.OK
    html = page.content.decode()
    assert "<svg" in html and html.count("<circle") == 4
    assert re.findall(r"<script(?![^>]*\bsrc=)", html) == []  # no inline script
    assert "gen-0" in html and "No snapshot yet." in html

    started = client.post(
        reverse("datasets-export", kwargs={"slug": judged.project.slug}),
        {"split": "train", "min_annotators": "1"},
    )
    assert started.status_code == HTTPStatus.FOUND
    snapshot = ExportSnapshot.objects.get()
    assert snapshot.parameters["split"] == "train" and snapshot.created_by == researcher_user

    refused = client.post(
        reverse("datasets-export", kwargs={"slug": judged.project.slug}),
        {"split": "train", "min_annotators": "0"},
    )
    assert refused.status_code == HTTPStatus.BAD_REQUEST
    assert "min_annotators" in refused.content.decode()
    assert ExportSnapshot.objects.count() == 1

    annotator = client_for(annotator_user)
    annotator.force_login(annotator_user)
    assert annotator.get(reverse("datasets")).status_code == HTTPStatus.FORBIDDEN
    client.logout()
    assert client.get(reverse("datasets")).status_code == HTTPStatus.FOUND


def test_active_model_scores_sit_beside_the_strengths(
    tmp_path: Path, researcher_user: User
) -> None:
    from annotation.models import Image
    from scoring.models import ImageScore, ModelVersion

    judged = consistent_project(tmp_path / "in")
    version = ModelVersion.objects.create(
        name="hps-test",
        architecture="ViT-B-32",
        checkpoint_path=str(tmp_path / "none.pt"),
        checkpoint_sha256="0" * 64,
        status=ModelVersion.Status.ACTIVE,
    )
    images = Image.objects.filter(project=judged.project)
    expected: dict[str, list[float]] = {}
    for image in images:
        score = 0.2 + 0.01 * int(image.generator.split("-")[1]) + 0.001 * (image.pk % 3)
        ImageScore.objects.create(image=image, model_version=version, score=score)
        expected.setdefault(image.generator, []).append(score)

    board = generator_leaderboard(judged.project, samples=20)

    assert board["mean_scores"] == pytest.approx(
        {generator: sum(v) / len(v) for generator, v in expected.items()}
    )
    # Each mean with its own interval, resampled by prompt (seven prompts, one image of
    # each generator per prompt), overall and per style; the same mean beside the strength.
    intervals = board["mean_score_intervals"]
    assert [row["generator"] for row in intervals["overall"]] == [
        "gen-3", "gen-2", "gen-1", "gen-0"
    ]  # fmt: skip
    for row in intervals["overall"]:
        values = expected[row["generator"]]
        assert row["mean"] == pytest.approx(sum(values) / len(values), abs=1e-4)
        assert row["low"] < row["mean"] < row["high"] and row["high"] - row["low"] < 0.01
        assert row["images"] == row["prompts"] == 7
    assert intervals["styles"] == {"not classified": intervals["overall"]}
    strength_rows = {row["generator"]: row for row in board["overall"]["generators"]}
    for row in intervals["overall"]:
        beside = strength_rows[row["generator"]]
        assert (beside["mean_score"], beside["mean_score_low"], beside["mean_score_high"]) == (
            row["mean"], row["low"], row["high"]
        )  # fmt: skip
    member_of(judged.project, researcher_user, "researcher")
    client = client_for(researcher_user)
    client.force_login(researcher_user)
    refresh_leaderboard(judged.project)  # the background task's refit
    html = client.get(reverse("datasets"), {"project": judged.project.slug}).content.decode()
    assert html.count('class="data score-table"') == 2  # all styles, then "not classified"
    page_board = generator_leaderboard(judged.project)  # the page's 200 resamples
    top = page_board["mean_score_intervals"]["overall"][0]
    assert f"<td>{top['mean']}</td><td>[{top['low']}, {top['high']}]</td>" in html

    # Retired, the version's scores leave the leaderboard.
    version.status = ModelVersion.Status.RETIRED
    version.save(update_fields=["status"])
    retired = generator_leaderboard(judged.project, samples=20)
    assert retired["mean_scores"] is None and retired["mean_score_intervals"] is None
    refresh_leaderboard(judged.project)
    html = client.get(reverse("datasets"), {"project": judged.project.slug}).content.decode()
    assert "Mean scores: not computed" in html and "score-table" not in html
