"""The recipe declared once on TrainConfig and derived everywhere: the CLI's flags, the
TrainingPolicy knobs and their form, the pipeline's child command line. A field added to
TrainConfig, or left out of one of these, fails here."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from django.db import models

from training import runner
from training.cli import build_parser, config_from_options
from training.core import (
    POLICY_KNOBS,
    RECIPE_FIELDS,
    RecipeField,
    TrainConfig,
    recipe_defaults,
)
from training.forms import PolicyForm
from training.models import TrainingPolicy
from training.services.cycle import recipe_of

# TrainConfig fields that are not the recipe: what a run reads and writes, and how.
RUN_SETTINGS = {
    "train_json", "test_json", "model", "out_dir", "checkpoint", "pretrained",
    "allow_random_init", "device", "resume", "progress",
}  # fmt: skip
# TrainingPolicy fields that are the policy's own, not recipe knobs.
POLICY_SETTINGS = {
    "id", "project", "enabled", "min_new_judgments", "promote_margin", "updated_at",
    "evaluation_snapshot", "evaluation_ceiling", "evaluation_frozen_at",
}  # fmt: skip
REQUIRED = ["--train", "t.json", "--model", "m", "--out", "o"]


def test_every_train_config_field_is_declared_recipe_or_run_setting() -> None:
    names = {field.name for field in dataclasses.fields(TrainConfig)}
    recipe = {field.name for field in RECIPE_FIELDS}
    assert recipe.isdisjoint(RUN_SETTINGS)
    assert names == recipe | RUN_SETTINGS


def test_every_recipe_field_is_a_cli_flag_with_the_declared_default() -> None:
    parser = build_parser()
    options = parser.parse_args(REQUIRED)
    help_text = parser.format_help()
    for field in RECIPE_FIELDS:
        assert f"{field.flag} " in help_text, field.flag
        default = list(field.default) if isinstance(field.default, tuple) else field.default
        assert getattr(options, field.name) == default, field.name
    assert config_from_options(options).recipe() == recipe_defaults()


def test_every_policy_knob_is_a_training_policy_field_with_the_declared_default() -> None:
    model_fields = {field.name for field in TrainingPolicy._meta.get_fields()}
    assert model_fields - POLICY_SETTINGS == set(POLICY_KNOBS)
    assert set(PolicyForm.Meta.fields) - POLICY_SETTINGS == set(POLICY_KNOBS)
    for field in RECIPE_FIELDS:
        if not field.spec.policy:
            assert field.name not in model_fields, field.name
            continue
        model_field = TrainingPolicy._meta.get_field(field.name)
        assert isinstance(model_field, models.Field), field.name
        assert model_field.default == field.default, field.name
        assert model_field.help_text.lower().startswith(field.help.lower()), field.name
    assert recipe_of(TrainingPolicy()) == {name: recipe_defaults()[name] for name in POLICY_KNOBS}


def other_value(field: RecipeField) -> Any:
    """A value of the field that is not its default and within its bounds."""
    if field.spec.choices:
        return next(choice for choice in field.spec.choices if choice != field.default)
    if isinstance(field.default, tuple):
        return tuple(value / 2 for value in field.default)
    if isinstance(field.default, str):  # a list of generator names
        return "sd-1.4,dall-e-2"
    if isinstance(field.default, int):
        return field.default + 1
    return field.default * 2


def test_the_runner_gives_the_child_every_recipe_field(tmp_path: Path) -> None:
    recipe = {field.name: other_value(field) for field in RECIPE_FIELDS}
    assert all(recipe[name] != default for name, default in recipe_defaults().items())
    job = runner.TrainingJob(
        train_json=tmp_path / "train.json",
        test_json=tmp_path / "test.json",
        model="ViT-H-14",
        out_dir=tmp_path / "out",
        pretrained="laion2B-s32B-b79K",
        recipe=recipe,
    )
    arguments = runner.cli_arguments(job)
    for field in RECIPE_FIELDS:
        assert arguments.count(field.flag) == 1, field.flag

    child = config_from_options(build_parser().parse_args(arguments))

    assert child.recipe() == recipe
    assert (child.train_json, child.test_json, child.out_dir) == (
        job.train_json, job.test_json, job.out_dir
    )  # fmt: skip
    assert (child.resume, child.progress, child.pretrained) == ("latest", False, job.pretrained)


def test_a_job_keeps_the_declared_defaults_and_refuses_an_unknown_setting(
    tmp_path: Path,
) -> None:
    paths: dict[str, Any] = {
        "train_json": tmp_path / "train.json",
        "test_json": None,
        "model": "m",
        "out_dir": tmp_path / "out",
    }
    job = runner.TrainingJob(**paths, recipe={"steps": 10, "workers": 0})
    assert job.recipe == {**recipe_defaults(), "steps": 10, "workers": 0}
    assert job.workers == 0
    with pytest.raises(runner.TrainingFailed, match=r"unknown recipe setting\(s\) stpes; the"):
        runner.TrainingJob(**paths, recipe={"stpes": 10})


def policy_data(**changes: Any) -> dict[str, Any]:
    return {
        "enabled": "on",
        "min_new_judgments": 1000,
        "promote_margin": 0.0,
        **{name: recipe_defaults()[name] for name in POLICY_KNOBS},
        **changes,
    }


def out_of_bounds(field: RecipeField) -> list[Any]:
    """A value just past each of the field's declared bounds."""
    step = 1 if field.kind is int else 0.5
    values = []
    if field.spec.low is not None:
        values.append(field.kind(field.spec.low if field.spec.above else field.spec.low - step))
    if field.spec.high is not None:
        values.append(field.kind(field.spec.high if field.spec.below else field.spec.high + step))
    return values


def test_the_policy_form_takes_the_defaults() -> None:
    form = PolicyForm(policy_data())
    assert form.is_valid(), form.errors


def test_the_policy_form_refuses_each_declared_bound_saying_what_to_give() -> None:
    checked = 0
    for field in RECIPE_FIELDS:
        if not field.spec.policy:
            continue
        for value in out_of_bounds(field):
            form = PolicyForm(policy_data(**{field.name: value}))
            assert not form.is_valid(), (field.name, value)
            assert set(form.errors) == {field.name}, (field.name, value, form.errors)
            # A negative whole number is refused by the model field itself first.
            expected = (
                "Ensure this value is greater than or equal to 0."
                if field.kind is int and value < 0
                else field.ask()
            )
            assert form.errors[field.name] == [expected], (field.name, value)
            checked += 1
    assert checked == sum(len(out_of_bounds(field)) for field in RECIPE_FIELDS if field.spec.policy)
    refused = PolicyForm(policy_data(precision="fp16"))
    assert not refused.is_valid() and set(refused.errors) == {"precision"}


def test_the_policy_form_applies_the_rules_between_knobs() -> None:
    form = PolicyForm(policy_data(batch_size=16, global_batch=8, steps=100, warmup_steps=101))
    assert not form.is_valid()
    assert form.errors["global_batch"] == [
        "Give a multiple of the batch size (16): pairs per optimizer step are accumulated "
        "over whole batches."
    ]
    assert form.errors["warmup_steps"] == ["Give at most the number of steps (100)."]
