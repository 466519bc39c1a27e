"""The recipe's declaration on TrainConfig: its bounds and rules, as validate() applies them."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from training.core import (
    RECIPE_FIELDS,
    RUN_DEFINING,
    TrainConfig,
    TrainingConfigError,
    check_policy_recipe,
    check_recipe,
    recipe_defaults,
    recipe_field,
)


def config(**changes: Any) -> TrainConfig:
    return TrainConfig(
        train_json=Path("t.json"),
        test_json=None,
        model="m",
        out_dir=Path("o"),
        allow_random_init=True,
        **changes,
    )


def test_the_defaults_are_the_hps_v2_recipe_and_pass_validation() -> None:
    assert config().recipe() == recipe_defaults()
    assert recipe_defaults() == {
        "steps": 4000, "batch_size": 16, "global_batch": 128, "lr": 3.3e-6,
        "weight_decay": 0.35, "betas": (0.9, 0.98), "eps": 1e-6, "warmup_steps": 500,
        "unlocked_image_groups": 20, "unlocked_text_layers": 11, "precision": "auto",
        "hold_out_generators": "", "eval_every": 500, "checkpoint_every": 500, "workers": 4,
        "seed": 0,
    }  # fmt: skip
    assert RUN_DEFINING == (
        "steps", "global_batch", "lr", "weight_decay", "betas", "eps", "warmup_steps",
        "unlocked_image_groups", "unlocked_text_layers", "hold_out_generators", "seed",
    )  # fmt: skip
    config().validate()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"steps": 0}, "steps must be at least 1, got 0"),
        ({"checkpoint_every": 0}, "checkpoint_every must be at least 1, got 0"),
        ({"warmup_steps": -1}, "warmup_steps must be at least 0, got -1"),
        ({"lr": 0.0}, "lr must be above 0 and at most 1, got 0.0"),
        ({"eps": 0.0}, "eps must be above 0, got 0.0"),
        ({"weight_decay": -0.1}, "weight_decay must be between 0 and 10, got -0.1"),
        ({"workers": 65}, "workers must be between 0 and 64, got 65"),
        ({"betas": (0.9, 1.0)}, r"betas must each be at least 0 and below 1, got \(0.9, 1.0\)"),
        ({"precision": "fp16"}, "precision must be one of auto, fp32, bf16, got 'fp16'"),
        (
            {"batch_size": 16, "global_batch": 100},
            "global_batch 100 is not a multiple of batch_size 16",
        ),
    ],
)
def test_validate_refuses_each_bound_and_the_batch_multiple_naming_the_value(
    changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(TrainingConfigError, match=f"^{message}"):
        config(**changes).validate()


def test_validate_reports_every_problem_at_once() -> None:
    with pytest.raises(TrainingConfigError) as raised:
        config(steps=0, lr=2.0).validate()
    assert str(raised.value) == (
        "steps must be at least 1, got 0; lr must be above 0 and at most 1, got 2.0"
    )


def test_a_warm_up_longer_than_the_run_is_a_policy_mistake_but_a_valid_config() -> None:
    config(steps=2, warmup_steps=500).validate()
    assert check_recipe({"steps": 2, "warmup_steps": 500}) == []
    problems = check_policy_recipe({"steps": 2, "warmup_steps": 500})
    assert [(p.field, p.ask) for p in problems] == [
        ("warmup_steps", "Give at most the number of steps (2).")
    ]


def test_each_bound_is_checked_at_its_edge_and_just_past_it() -> None:
    for field in RECIPE_FIELDS:
        low, high = field.spec.low, field.spec.high
        if low is not None:
            step = 1 if field.kind is int else 1e-3
            inside, outside = (low + step, low) if field.spec.above else (low, low - step)
            assert field.problem(field.kind(inside)) is None, field.name
            problem = field.problem(field.kind(outside))
            assert problem is not None and problem.field == field.name, field.name
            assert problem.ask == field.ask()
        if high is not None:
            step = 1 if field.kind is int else 1e-3
            inside, outside = (high - step, high) if field.spec.below else (high, high + step)
            assert field.problem(field.kind(inside)) is None, field.name
            assert field.problem(field.kind(outside)) is not None, field.name


def test_asking_for_a_field_that_is_not_declared_names_the_declared_ones() -> None:
    with pytest.raises(KeyError, match=r"'stpes' is not a recipe field of TrainConfig.*steps"):
        recipe_field("stpes")
    with pytest.raises(KeyError, match="stpes"):
        check_recipe({"stpes": 3})
    assert {f.name for f in dataclasses.fields(TrainConfig)} >= {f.name for f in RECIPE_FIELDS}
