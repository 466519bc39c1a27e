"""`python -m scoring evaluate` / `manage.py evaluate`: the release's accuracies with
intervals, per style and per generator."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from scoring.core import Scorer, load_model
from scoring.core.evaluation_stats import Estimate, ScoredGroup, evaluate_groups
from scoring.core.metrics import ranks_from_scores
from scoring.evaluate_cli import evaluate_main
from scoring.models import ModelVersion
from tests.official_hpsv2 import official
from tests.scoring.helpers import real_prompts, write_images, write_tiny_model

GENERATORS = ("SDXL", "DALLE", "VQD")


def known(estimate: Estimate | None) -> Estimate:
    """The estimate, which these tests always expect to exist."""
    assert estimate is not None
    return estimate


def random_groups(seed: int, count: int) -> list[ScoredGroup]:
    rng = np.random.default_rng(seed)
    groups = []
    for index in range(count):
        size = int(rng.integers(2, 5))
        ranks = [int(r) for r in rng.integers(1, size + 1, size)]
        if len(set(ranks)) == 1:
            ranks[0] = ranks[0] % size + 1
        # A third of the scores tie, so the tie rules matter.
        scores = [float(s) for s in np.round(rng.normal(0, 1, size), 0 if index % 3 else 3)]
        generators = [GENERATORS[int(g)] for g in rng.integers(0, 3, size)]
        groups.append(ScoredGroup(scores, ranks, generators, ("anime", "photo")[index % 2]))
    return groups


def test_accuracies_equal_the_release_functions_and_a_direct_count() -> None:
    train = official("hpsv2.src.training.train")
    groups = random_groups(0, 300)
    report = evaluate_groups(groups, resamples=300)

    # evaluate_rank: argsort(-scores) gives each image's place, then inversion_score.
    official_rank = [
        train.inversion_score(
            [
                list(np.argsort(-np.array(g.scores), kind="stable")).index(j)
                for j in range(len(g.scores))
            ],
            list(g.ranks),
        )
        for g in groups
    ]
    assert known(report.overall.ranking).value == pytest.approx(np.mean(official_rank))
    official_ir = [train.calc_ImageReward(list(g.scores), list(g.ranks)) for g in groups]
    assert known(report.overall.imagereward).value == pytest.approx(np.mean(official_ir))

    right = total = 0
    per_generator: dict[str, list[int]] = {name: [0, 0] for name in GENERATORS}
    for g in groups:
        for i in range(len(g.scores)):
            for j in range(i + 1, len(g.scores)):
                if g.ranks[i] == g.ranks[j]:
                    continue
                preferred = 0 if g.ranks[i] < g.ranks[j] else 1
                argmax = int(np.argmax([g.scores[i], g.scores[j]]))
                right += argmax == preferred
                total += 1
                assert g.generators is not None
                for name in {g.generators[i], g.generators[j]}:
                    per_generator[name][0] += argmax == preferred
                    per_generator[name][1] += 1
    assert known(report.overall.pairwise).value == pytest.approx(right / total)
    assert known(report.overall.pairwise).count == total
    for name, (r, t) in per_generator.items():
        assert known(report.by_generator[name]).value == pytest.approx(r / t)
        assert (
            known(report.by_generator[name]).ci_low
            < r / t
            < known(report.by_generator[name]).ci_high
        )
    anime = [value for value, g in zip(official_rank, groups, strict=True) if g.style == "anime"]
    assert known(report.by_style["anime"].ranking).value == pytest.approx(np.mean(anime))
    assert report.by_style["anime"].groups == 150
    estimate = known(report.overall.ranking)
    assert estimate.ci_low < estimate.value < estimate.ci_high
    assert estimate.ci_high - estimate.ci_low < 0.15


def test_bad_groups_are_refused_naming_them() -> None:
    with pytest.raises(ValueError, match="group 0: 1 generator"):
        evaluate_groups([ScoredGroup([0.1, 0.2], [1, 2], ["A"])])
    with pytest.raises(ValueError, match="no test groups"):
        evaluate_groups([])


def write_test_set(root: Path) -> Path:
    """A test.json of 12 prompts x 3 images with the generators and styles keys."""
    images = write_images(root / "test", [(70, 50), (40, 90), (64, 64)] * 12, seed=9)
    entries = []
    for index, prompt in enumerate(real_prompts(12, 100)):
        names = [path.name for path in images[3 * index : 3 * index + 3]]
        entries.append(
            {
                "prompt": prompt,
                "image_path": names,
                "rank": [1, 2, 3] if index % 2 else [3, 1, 2],
                "generators": list(GENERATORS),
                "style": ("anime", "photo")[index % 2],
            }
        )
    test_json = root / "test.json"
    test_json.write_text(json.dumps(entries))
    return test_json


def test_module_and_management_command_report_the_same_accuracy(
    tmp_path: Path, register_tiny: Callable[..., ModelVersion]
) -> None:
    test_json = write_test_set(tmp_path / "hpd")
    config, checkpoint = write_tiny_model(tmp_path / "model", seed=0)
    version = register_tiny("tiny-eval", seed=0)

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = evaluate_main(
            [
                "--model",
                str(config),
                "--checkpoint",
                str(checkpoint),
                "--test",
                str(test_json),
                "--bootstrap",
                "200",
            ]
        )
    assert code == 0
    from_module = json.loads(out.getvalue().strip().splitlines()[-1])
    command_out = io.StringIO()
    call_command(
        "evaluate",
        "--model-version",
        version.name,
        "--test",
        str(test_json),
        "--bootstrap",
        "200",
        stdout=command_out,
        stderr=io.StringIO(),
    )
    from_command = json.loads(command_out.getvalue().strip().splitlines()[-1])
    assert from_command["model"] == "tiny-eval"

    # Independently: our scorer's scores, the release's inversion score.
    train = official("hpsv2.src.training.train")
    scorer = Scorer(load_model(str(config), checkpoint))
    entries = json.loads(test_json.read_text())
    values = []
    for entry in entries:
        paths = [test_json.parent / "test" / name for name in entry["image_path"]]
        scores = scorer.score(entry["prompt"], paths).scores
        known_scores = [score for score in scores if score is not None]
        assert len(known_scores) == len(scores)
        values.append(train.inversion_score(ranks_from_scores(known_scores), entry["rank"]))
    for result in (from_module, from_command):
        assert result["groups"] == 12
        assert result["ranking_accuracy"]["value"] == pytest.approx(np.mean(values))
        assert set(result["by_style"]) == {"anime", "photo"}
        assert set(result["by_generator"]) == set(GENERATORS)
        assert result["pairwise_accuracy"]["pairs"] == 36
    assert from_module["ranking_accuracy"] == pytest.approx(from_command["ranking_accuracy"])


def test_a_missing_test_image_is_an_error_naming_it(
    tmp_path: Path, register_tiny: Callable[..., Any]
) -> None:
    test_json = write_test_set(tmp_path / "hpd")
    missing = test_json.parent / "test" / "img-004.png"
    missing.unlink()
    version = register_tiny("tiny-miss")
    with pytest.raises(CommandError, match=rf"{missing}: image of .* entry 1 not found"):
        call_command(
            "evaluate",
            "--model-version",
            version.name,
            "--test",
            str(test_json),
            stdout=io.StringIO(),
        )
    with pytest.raises(CommandError, match="give either --model-version or --checkpoint"):
        call_command("evaluate", "--test", str(test_json), stdout=io.StringIO())
