"""The HPS v2 fine-tuning library (torch-only): data, loss, recipe, loop, distributed.

Nothing here imports Django: it runs from a notebook, `python -m training`, torchrun, or
a worker. `train(TrainConfig(...))` fine-tunes; `evaluate_ranking_accuracy` measures.
The recipe's declaration (RECIPE_FIELDS and its helpers, training/core/config.py) loads
without torch, so the Django side derives its policy knobs from it in a web process;
torch loads when `train` or `evaluate_ranking_accuracy` is first looked up here.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from training.core.config import (
    POLICY_KNOBS,
    RECIPE_FIELDS,
    RUN_DEFINING,
    RecipeField,
    RecipeProblem,
    RecipeSpec,
    RecipeValue,
    TrainConfig,
    TrainResult,
    check_policy_recipe,
    check_recipe,
    parse_generator_names,
    recipe_default,
    recipe_defaults,
    recipe_field,
)
from training.core.errors import TrainingConfigError, TrainingDataError

if TYPE_CHECKING:
    from training.core.evaluation import evaluate_ranking_accuracy
    from training.core.loop import train

_TORCH_NAMES = {
    "evaluate_ranking_accuracy": "training.core.evaluation",
    "train": "training.core.loop",
}


def __getattr__(name: str) -> Any:
    """`train` and `evaluate_ranking_accuracy`, imported (with torch) on first use."""
    module = _TORCH_NAMES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "POLICY_KNOBS",
    "RECIPE_FIELDS",
    "RUN_DEFINING",
    "RecipeField",
    "RecipeProblem",
    "RecipeSpec",
    "RecipeValue",
    "TrainConfig",
    "TrainResult",
    "TrainingConfigError",
    "TrainingDataError",
    "check_policy_recipe",
    "check_recipe",
    "evaluate_ranking_accuracy",
    "parse_generator_names",
    "recipe_default",
    "recipe_defaults",
    "recipe_field",
    "train",
]
