"""What a fine-tuning run is asked to do (TrainConfig) and what it produced (TrainResult).

TrainConfig's recipe fields are the one declaration of the HPS v2 fine-tuning recipe
for ViT-H-14: each carries its default, help text and bounds here, and whether it is a
per-project policy knob or defines a run for resume. `python -m training`'s flags
(training/cli.py), the TrainingPolicy model and its form (training/models.py,
training/forms.py) and the pipeline's child command line (training/runner.py) are all
derived from RECIPE_FIELDS
(docs/hpd_v2.md#the-training-recipe gives the recipe and where it departs from the paper).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from training.core.errors import TrainingConfigError

PRECISIONS = ("auto", "fp32", "bf16")

RecipeValue = int | float | str | tuple[float, ...]
_V = TypeVar("_V", int, float, str, tuple[float, float])
_SPEC = "recipe"  # the dataclass field metadata key of a recipe field's RecipeSpec


@dataclass(frozen=True)
class RecipeSpec:
    """What a recipe field declares besides its name and default.

    Bounds are inclusive unless `above` (value > low) or `below` (value < high); for a
    tuple they hold for each element. `noun` is how the policy form asks for a value
    ("Give a learning rate above 0 ..."); `section` is the CLI's group of the flag.
    """

    help: str
    low: float | None = None
    high: float | None = None
    above: bool = False
    below: bool = False
    choices: tuple[str, ...] = ()
    noun: str = ""
    metavar: tuple[str, ...] = ()
    policy: bool = True  # a per-project knob of training.models.TrainingPolicy
    run_defining: bool = True  # a resumed run must have the checkpoint's value
    section: str = "recipe"  # "recipe" or "running"


def _recipe(default: _V, spec: RecipeSpec) -> _V:
    """A TrainConfig field that is part of the recipe, declared by `spec`."""
    return dataclasses.field(default=default, metadata={_SPEC: spec})


@dataclass(frozen=True)
class RecipeField:
    """One recipe field of TrainConfig: its name, default and declaration."""

    name: str
    default: RecipeValue
    spec: RecipeSpec

    @property
    def flag(self) -> str:
        """The `python -m training` flag of the field (--kebab-case)."""
        return "--" + self.name.replace("_", "-")

    @property
    def kind(self) -> type[int] | type[float] | type[str]:
        """The type of the value, or of each element of a tuple."""
        value = self.default[0] if isinstance(self.default, tuple) else self.default
        return type(value)

    @property
    def help(self) -> str:
        return self.spec.help

    def bounds(self) -> str:
        """The bounds in words ("at least 1", "above 0 and at most 1"), "" without any."""
        low, high = self.spec.low, self.spec.high
        if low is not None and high is not None and not (self.spec.above or self.spec.below):
            return f"between {_number(low)} and {_number(high)}"
        parts = []
        if low is not None:
            parts.append(f"{'above' if self.spec.above else 'at least'} {_number(low)}")
        if high is not None:
            parts.append(f"{'below' if self.spec.below else 'at most'} {_number(high)}")
        return " and ".join(parts)

    def ask(self) -> str:
        """What to give instead of a value out of bounds (the policy form's message)."""
        if self.spec.choices:
            return f"Give one of {', '.join(self.spec.choices)} (HPS v2: {self.default})."
        noun = self.spec.noun or ("a whole number" if self.kind is int else "a number")
        bounds = self.bounds()
        if bounds.startswith("at least ") and self.spec.high is None:
            bounds = f"of {bounds.removeprefix('at least ')} or more"
        return f"Give {noun} {bounds} (HPS v2: {self.default})."

    def problem(self, value: Any) -> RecipeProblem | None:
        """What is wrong with this value of the field, or None when nothing is."""
        if self.spec.choices:
            if value in self.spec.choices:
                return None
            choices = ", ".join(self.spec.choices)
            message = f"{self.name} must be one of {choices}, got {value!r}"
            return RecipeProblem(self.name, message, self.ask())
        elements = tuple(value) if isinstance(value, tuple | list) else (value,)
        if all(self._within(element) for element in elements):
            return None
        each = " each" if isinstance(self.default, tuple) else ""
        message = f"{self.name} must{each} be {self.bounds()}, got {value}"
        return RecipeProblem(self.name, message, self.ask())

    def _within(self, value: float) -> bool:
        low, high = self.spec.low, self.spec.high
        if low is not None and (value <= low if self.spec.above else value < low):
            return False
        return high is None or not (value >= high if self.spec.below else value > high)


@dataclass(frozen=True)
class RecipeProblem:
    """A recipe value no run can use: the field, what is wrong (TrainingConfigError's
    wording) and what to give instead (the policy form's wording)."""

    field: str
    message: str
    ask: str


def _number(bound: float) -> str:
    return f"{bound:g}"


@dataclass
class TrainConfig:
    train_json: Path  # HPD v2 train.json; images resolve against train/ beside it
    test_json: Path | None  # HPD v2 test.json; images resolve against test/ beside it
    model: str  # open_clip architecture name or path to a model-config JSON
    out_dir: Path
    checkpoint: Path | None = None  # start weights; None -> pretrained tag (or random if allowed)
    pretrained: str | None = None  # open_clip pretrained tag found in the local cache
    allow_random_init: bool = False  # tests and benchmarks only
    # The recipe (HPS v2 on ViT-H-14). global_batch pairs make one optimizer step:
    # accumulation = global_batch / (batch_size * world size).
    steps: int = _recipe(4000, RecipeSpec("optimizer steps", low=1))
    batch_size: int = _recipe(
        16, RecipeSpec("pairs per device per micro-step", low=1, run_defining=False)
    )
    global_batch: int = _recipe(
        128,
        RecipeSpec(
            "pairs per optimizer step, a multiple of the batch size (gradient accumulation "
            "makes up the difference)",
            low=1,
        ),
    )
    lr: float = _recipe(
        3.3e-6, RecipeSpec("peak learning rate", low=0, above=True, high=1, noun="a learning rate")
    )
    weight_decay: float = _recipe(
        0.35,
        RecipeSpec(
            "AdamW weight decay (not on biases, norms, embeddings or the logit scale)",
            low=0,
            high=10,
            noun="a weight decay",
        ),
    )
    betas: tuple[float, float] = _recipe(
        (0.9, 0.98),
        RecipeSpec(
            "AdamW betas",
            low=0,
            high=1,
            below=True,
            noun="two AdamW betas each",
            metavar=("B1", "B2"),
            policy=False,
        ),
    )
    eps: float = _recipe(1e-6, RecipeSpec("AdamW epsilon", low=0, above=True, policy=False))
    warmup_steps: int = _recipe(
        500, RecipeSpec("steps of linear learning-rate warm-up before the cosine decay", low=0)
    )
    unlocked_image_groups: int = _recipe(
        20, RecipeSpec("trainable layer groups at the end of the image tower", low=0)
    )
    unlocked_text_layers: int = _recipe(
        11,
        RecipeSpec(
            "trainable blocks at the end of the text tower (plus its final norm and projection)",
            low=0,
        ),
    )
    precision: str = _recipe(
        "auto",
        RecipeSpec(
            "auto: bf16 autocast on CUDA, fp32 on CPU", choices=PRECISIONS, run_defining=False
        ),
    )
    hold_out_generators: str = _recipe(
        "",
        RecipeSpec(
            "generators (comma-separated) whose pairs are kept out of training, to measure "
            "accuracy on generators the scorer never saw; empty: train on every pair",
            noun="generator names",
            metavar=("NAME[,NAME]",),
        ),
    )
    eval_every: int = _recipe(
        500, RecipeSpec("steps; 0: only at the end", low=0, run_defining=False, section="running")
    )
    checkpoint_every: int = _recipe(
        500, RecipeSpec("steps between checkpoints", low=1, run_defining=False, section="running")
    )
    workers: int = _recipe(
        4,
        RecipeSpec(
            "image decoding processes (DataLoader workers)",
            low=0,
            high=64,
            noun="a number of data loader processes",
            run_defining=False,
            section="running",
        ),
    )
    seed: int = _recipe(
        0, RecipeSpec("random seed (data order, initialisation)", low=0, section="running")
    )
    device: str | None = None  # None = cuda if available else cpu (LOCAL_RANK under torchrun)
    resume: str | None = None  # None or "latest" or a checkpoint path
    progress: bool = True  # tqdm bar (rank 0 only)

    def __post_init__(self) -> None:
        self.train_json = Path(self.train_json)
        self.test_json = None if self.test_json is None else Path(self.test_json)
        self.out_dir = Path(self.out_dir)
        self.checkpoint = None if self.checkpoint is None else Path(self.checkpoint)
        self.betas = (float(self.betas[0]), float(self.betas[1]))

    def recipe(self) -> dict[str, RecipeValue]:
        """The values of the recipe fields."""
        values: dict[str, RecipeValue] = {f.name: getattr(self, f.name) for f in RECIPE_FIELDS}
        return values

    def held_out(self) -> frozenset[str]:
        """The generators named by hold_out_generators (parse_generator_names)."""
        return parse_generator_names(self.hold_out_generators)

    def validate(self) -> None:
        """Raise TrainingConfigError on values no run can use (check_recipe's problems,
        or no start weights / two sources of them)."""
        problems = check_recipe(self.recipe())
        if problems:
            raise TrainingConfigError("; ".join(problem.message for problem in problems))
        sources = sum([self.checkpoint is not None, self.pretrained is not None])
        if sources > 1:
            raise TrainingConfigError(
                "give either a start checkpoint or a pretrained tag, not both"
            )
        if sources == 0 and not self.allow_random_init:
            raise TrainingConfigError(
                "no start weights: give a checkpoint (e.g. HPS_v2_compressed.pt) or an "
                "open_clip pretrained tag (laion2B-s32B-b79K for ViT-H-14); random "
                "weights only with allow_random_init (--allow-random-init)"
            )

    def accumulation_steps(self, world_size: int) -> int:
        """Micro-steps per optimizer step so that global_batch pairs make one step."""
        per_micro_step = self.batch_size * world_size
        if self.global_batch % per_micro_step:
            raise TrainingConfigError(
                f"global_batch {self.global_batch} is not a multiple of batch_size "
                f"{self.batch_size} x {world_size} process(es) = {per_micro_step}; "
                "change --global-batch or --batch-size"
            )
        return self.global_batch // per_micro_step

    def to_json(self) -> dict[str, Any]:
        """The config as plain JSON values (paths as strings, betas as a list)."""
        values = dataclasses.asdict(self)
        for key, value in values.items():
            if isinstance(value, Path):
                values[key] = str(value)
            elif isinstance(value, tuple):
                values[key] = list(value)
        return values


@dataclass
class TrainResult:
    out_dir: Path
    checkpoint: Path  # out_dir/checkpoints/latest.pt, official format (dict with "state_dict")
    model_config: dict[str, Any]  # the open_clip model config stored in the checkpoint
    step: int  # last completed optimizer step
    final_loss: float
    test_accuracy: float | None  # HPD v2 ranking accuracy at the end, if test_json
    metrics_path: Path  # out_dir/metrics.jsonl
    train_pairs: int = 0  # pairs trained on (read from train_json, less those held out)
    ties_skipped: int = 0  # tied train_json entries skipped (human_preference [1, 1])
    held_out_pairs: int = 0  # pairs kept out because they involve a held-out generator

    def summary(self) -> dict[str, Any]:
        """The JSON summary the CLI prints as its last line."""
        return {
            "out_dir": str(self.out_dir),
            "checkpoint": str(self.checkpoint),
            "step": self.step,
            "final_loss": self.final_loss,
            "test_accuracy": self.test_accuracy,
            "metrics": str(self.metrics_path),
            "train_pairs": self.train_pairs,
            "ties_skipped": self.ties_skipped,
            "held_out_pairs": self.held_out_pairs,
        }


def parse_generator_names(text: str) -> frozenset[str]:
    """The names of a comma-separated list ("sdxl, dalle2" -> {"sdxl", "dalle2"})."""
    return frozenset(name.strip() for name in text.split(",") if name.strip())


def _declared(field: dataclasses.Field[Any]) -> RecipeField:
    default, spec = field.default, field.metadata[_SPEC]
    assert isinstance(default, int | float | str | tuple) and isinstance(spec, RecipeSpec)
    return RecipeField(field.name, default, spec)


RECIPE_FIELDS: tuple[RecipeField, ...] = tuple(
    _declared(field) for field in dataclasses.fields(TrainConfig) if _SPEC in field.metadata
)
POLICY_KNOBS: tuple[str, ...] = tuple(f.name for f in RECIPE_FIELDS if f.spec.policy)
RUN_DEFINING: tuple[str, ...] = tuple(f.name for f in RECIPE_FIELDS if f.spec.run_defining)
_BY_NAME = {field.name: field for field in RECIPE_FIELDS}


def recipe_field(name: str) -> RecipeField:
    """The declaration of one recipe field; KeyError names the known ones."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(
            f"{name!r} is not a recipe field of TrainConfig; the recipe fields are "
            f"{', '.join(_BY_NAME)}"
        ) from None


def recipe_default(name: str) -> RecipeValue:
    return recipe_field(name).default


def recipe_defaults() -> dict[str, RecipeValue]:
    """Every recipe field's default (the HPS v2 recipe)."""
    return {field.name: field.default for field in RECIPE_FIELDS}


def check_recipe(values: Mapping[str, Any]) -> list[RecipeProblem]:
    """Every problem with these recipe values (fields left out or None are not checked): each
    field's bounds, and global_batch a whole number of batch_size batches.

    The multiple rule is TrainConfig.validate's too: at any number of processes a step
    accumulates whole micro-batches of batch_size pairs per process, so a global_batch
    that is not a multiple of batch_size can run nowhere (accumulation_steps then also
    checks the multiple of batch_size x processes once their number is known).
    """
    problems = []
    for name, value in values.items():
        problem = None if value is None else recipe_field(name).problem(value)
        if problem is not None:
            problems.append(problem)
    wrong = {problem.field for problem in problems}
    batch, global_batch = values.get("batch_size"), values.get("global_batch")
    checkable = not wrong & {"batch_size", "global_batch"}
    if (
        isinstance(batch, int)
        and isinstance(global_batch, int)
        and checkable
        and global_batch % batch
    ):
        problems.append(
            RecipeProblem(
                "global_batch",
                f"global_batch {global_batch} is not a multiple of batch_size {batch}; "
                "change --global-batch or --batch-size",
                f"Give a multiple of the batch size ({batch}): pairs per optimizer step are "
                "accumulated over whole batches.",
            )
        )
    return problems


def check_policy_recipe(values: Mapping[str, Any]) -> list[RecipeProblem]:
    """check_recipe's problems, and a warm-up longer than the run.

    TrainConfig.validate accepts warmup_steps > steps: the schedule is defined for it
    (the learning rate only ramps up), and a short run from the command line keeps the
    default warm-up. A project's policy refuses it: there it is a typing mistake.
    """
    problems = check_recipe(values)
    wrong = {problem.field for problem in problems}
    steps, warmup = values.get("steps"), values.get("warmup_steps")
    checkable = not wrong & {"steps", "warmup_steps"}
    if isinstance(steps, int) and isinstance(warmup, int) and checkable and warmup > steps:
        problems.append(
            RecipeProblem(
                "warmup_steps",
                f"warmup_steps {warmup} is more than steps {steps}",
                f"Give at most the number of steps ({steps}).",
            )
        )
    return problems
