"""HPD v2 files for training: train.json pairs, test.json ranked groups, and their order.

Formats (docs/hpd_v2.md#the-release-files): train.json is a list of `{"prompt",
"file_path": [a, b], "human_preference": [1, 0]}` (the pair's images may be named
`image_path` instead, as the public copies do; other keys are ignored) whose images live
in `train/` beside it; test.json is a list of `{"prompt", "image_path": [...], "rank":
[...]}` whose images live in `test/`. Every problem raises TrainingDataError naming the
file (and entry); unlike the release's loaders, nothing is silently replaced by another
sample. The one entry skipped is a tied pair (`human_preference` [1, 1] or [0.5, 0.5]):
it says nothing about which image is better; TrainData counts them.

Data order: epoch e's pair order is a permutation seeded with (seed + e), as
DistributedSampler does; optimizer step s of the epoch uses the contiguous block
[s * global_batch, (s + 1) * global_batch) of it, whatever the number of processes and
accumulation micro-steps (rank r takes every world_size-th pair of the order, as
DistributedSampler splits). The order is a pure function of (seed, epoch), so a resumed
run skips the steps already done and sees exactly the pairs it would have seen.
DataLoader workers are started with "spawn": forking a process that has already run
torch's OpenMP threads (a test session, a Celery worker) can hang the children.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Dataset, Sampler

from scoring.core.images import preprocess_image
from scoring.errors import BrokenImageError
from training.core.errors import TrainingDataError


@dataclass(frozen=True)
class PreferencePair:
    """One training pair: a prompt, two images, the probability each one is preferred."""

    prompt: str
    images: tuple[Path, Path]
    preference: tuple[float, float]


@dataclass(frozen=True)
class RankedGroup:
    """One test prompt: its images and their averaged human ranks (1 = best)."""

    prompt: str
    images: tuple[Path, ...]
    ranks: tuple[float, ...]


def _load_entries(path: Path, kind: str) -> list[Any]:
    if not path.is_file():
        raise TrainingDataError(
            f"{path}: {kind} not found; give the path of an HPD v2 {kind} "
            f"(its images in the {'train' if kind == 'train.json' else 'test'}/ folder beside it)"
        )
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TrainingDataError(f"{path}: is not valid JSON ({exc}); fix or re-export it") from exc
    if not isinstance(entries, list) or not entries:
        raise TrainingDataError(f"{path}: must hold a non-empty JSON list of {kind} entries")
    return entries


def _field(entry: Any, key: str, where: str, keys: str) -> Any:
    if not isinstance(entry, dict):
        raise TrainingDataError(f"{where}: is not a JSON object with {keys}")
    if key not in entry:
        raise TrainingDataError(f"{where}: missing key {key!r} (each entry needs {keys})")
    return entry[key]


def _prompt(entry: Any, where: str, keys: str) -> str:
    prompt = _field(entry, "prompt", where, keys)
    if not isinstance(prompt, str) or not prompt.strip():
        raise TrainingDataError(f"{where}: 'prompt' must be a non-empty string")
    return prompt


def _image_paths(value: Any, folder: Path, where: str, key: str, count: int | None) -> list[Path]:
    if (
        not isinstance(value, list)
        or not all(isinstance(item, str) and item for item in value)
        or (count is not None and len(value) != count)
        or len(value) < 2
    ):
        wanted = f"exactly {count}" if count is not None else "at least 2"
        raise TrainingDataError(f"{where}: {key!r} must be a list of {wanted} image paths")
    return [folder / item for item in value]


def _numbers(value: Any, length: int, where: str, key: str) -> list[float]:
    if (
        not isinstance(value, list)
        or len(value) != length
        or not all(isinstance(item, int | float) and not isinstance(item, bool) for item in value)
        or not all(math.isfinite(item) for item in value)
    ):
        raise TrainingDataError(f"{where}: {key!r} must be a list of {length} numbers")
    return [float(item) for item in value]


def _check_images_exist(images: Sequence[tuple[Path, str]], source: Path) -> None:
    missing = [(path, where) for path, where in images if not path.is_file()]
    if missing:
        path, where = missing[0]
        raise TrainingDataError(
            f"{path}: image not found ({where}); {len(missing)} image(s) named in {source} "
            "are missing: copy them into place or remove their entries"
        )


@dataclass(frozen=True)
class TrainData:
    """What a train.json yields: its pairs, and how many tied entries were skipped."""

    pairs: list[PreferencePair]
    ties_skipped: int


def _pair_paths_key(entry: Any, where: str, keys: str) -> str:
    """`file_path` (our export, the paper) or `image_path` (the public copies)."""
    if isinstance(entry, dict) and "file_path" not in entry and "image_path" in entry:
        return "image_path"
    _field(entry, "file_path", where, keys)  # raises naming both when neither is there
    if "image_path" in entry and entry["image_path"] != entry["file_path"]:
        raise TrainingDataError(
            f"{where}: has both 'file_path' and 'image_path' naming different images; keep one"
        )
    return "file_path"


def read_train_data(train_json: Path) -> TrainData:
    """Every pair of an HPD v2 train.json, checked, with image paths under train/.

    `human_preference` may be hard ([1, 0]) or soft ([0.7, 0.3]); it is normalised to
    probabilities (two non-negative numbers with a positive sum). A tie (two equal
    numbers) is skipped and counted; its images need not exist.
    """
    train_json = Path(train_json)
    folder = train_json.parent / "train"
    keys = "prompt, file_path (or image_path) and human_preference"
    pairs = []
    ties = 0
    images: list[tuple[Path, str]] = []
    for index, entry in enumerate(_load_entries(train_json, "train.json")):
        where = f"{train_json} entry {index}"
        prompt = _prompt(entry, where, keys)
        key = _pair_paths_key(entry, where, keys)
        paths = _image_paths(entry[key], folder, where, key, 2)
        weights = _numbers(
            _field(entry, "human_preference", where, keys), 2, where, "human_preference"
        )
        if min(weights) < 0 or sum(weights) <= 0:
            raise TrainingDataError(
                f"{where}: 'human_preference' must be two non-negative numbers with a "
                f"positive sum, like [1, 0] (got {weights})"
            )
        if weights[0] == weights[1]:
            ties += 1
            continue
        total = sum(weights)
        pairs.append(
            PreferencePair(prompt, (paths[0], paths[1]), (weights[0] / total, weights[1] / total))
        )
        images.extend((path, where) for path in paths)
    _check_images_exist(images, train_json)
    return TrainData(pairs, ties)


GENERATORS_FILE = "pairs.parquet"  # the export's pair table beside train.json


def read_image_generators(train_json: Path) -> dict[Path, str]:
    """The generator of each image, from the export's pairs.parquet beside train.json
    (or test.json).

    The release's train.json and test.json name no generators; the platform's export
    writes, beside them, pairs.parquet whose winner_path/loser_path ("train/<file>",
    "test/<file>") and winner_generator/loser_generator columns say which generator made
    each image.
    """
    import pyarrow.parquet as pq

    train_json = Path(train_json)
    source = train_json.parent / GENERATORS_FILE
    if not source.is_file():
        raise TrainingDataError(
            f"{source}: not found; holding out generators needs to know each image's "
            f"generator, which {train_json.name} does not say: train on a dataset export "
            "(it writes pairs.parquet beside train.json), or leave --hold-out-generators empty"
        )
    columns = ["winner_path", "loser_path", "winner_generator", "loser_generator"]
    try:
        table = pq.read_table(source, columns=columns).to_pydict()
    except Exception as exc:  # pyarrow raises several kinds for a damaged or foreign file
        raise TrainingDataError(
            f"{source}: cannot be read as the export's pair table with columns "
            f"{', '.join(columns)} ({exc}); re-export the dataset"
        ) from exc
    generators: dict[Path, str] = {}
    root = train_json.parent
    for side in ("winner", "loser"):
        for path, name in zip(table[f"{side}_path"], table[f"{side}_generator"], strict=True):
            if path is not None:
                generators[root / path] = name or ""
    return generators


@dataclass(frozen=True)
class HeldOut:
    """The pairs left to train on and how many involved a held-out generator."""

    pairs: list[PreferencePair]
    held_out: int


def hold_out_generators(
    pairs: Sequence[PreferencePair], generators: dict[Path, str], names: frozenset[str]
) -> HeldOut:
    """Drop every pair with an image made by one of `names`. Every image of the pairs
    must have a known generator, and each name must be one of them (a typo would
    otherwise hold nothing out)."""
    unknown = [path for pair in pairs for path in pair.images if path not in generators]
    if unknown:
        raise TrainingDataError(
            f"{unknown[0]}: no generator known for this image ({len(unknown)} image(s) are "
            f"not in {GENERATORS_FILE}); re-export the dataset so that both files agree"
        )
    known = {generators[path] for pair in pairs for path in pair.images}
    missing = sorted(names - known)
    if missing:
        raise TrainingDataError(
            f"--hold-out-generators names {', '.join(missing)}, which made none of the "
            f"training images; the generators are {', '.join(sorted(known)) or 'none'}"
        )
    kept = [pair for pair in pairs if not any(generators[path] in names for path in pair.images)]
    return HeldOut(kept, len(pairs) - len(kept))


def read_train_pairs(train_json: Path) -> list[PreferencePair]:
    """The pairs of read_train_data (tied entries skipped)."""
    return read_train_data(train_json).pairs


def read_test_groups(test_json: Path) -> list[RankedGroup]:
    """Every ranked group of an HPD v2 test.json, checked, with image paths under test/."""
    test_json = Path(test_json)
    folder = test_json.parent / "test"
    keys = "prompt, image_path and rank"
    groups = []
    images: list[tuple[Path, str]] = []
    for index, entry in enumerate(_load_entries(test_json, "test.json")):
        where = f"{test_json} entry {index}"
        prompt = _prompt(entry, where, keys)
        paths = _image_paths(
            _field(entry, "image_path", where, keys), folder, where, "image_path", None
        )
        ranks = _numbers(_field(entry, "rank", where, keys), len(paths), where, "rank")
        groups.append(RankedGroup(prompt, tuple(paths), tuple(ranks)))
        images.extend((path, where) for path in paths)
    _check_images_exist(images, test_json)
    return groups


class PairDataset(Dataset[tuple[torch.Tensor, str, torch.Tensor]]):
    """Pairs decoded with the release's preprocessing (long side to size, pad, normalise).

    An item is (pixels (2, 3, S, S) float32, prompt, preference (2,) float32). Decoding
    runs in DataLoader workers; a broken image raises TrainingDataError naming it.
    """

    def __init__(
        self,
        pairs: Sequence[PreferencePair],
        image_size: int,
        mean: Sequence[float],
        std: Sequence[float],
        source: Path,
    ) -> None:
        self.pairs = list(pairs)
        self.image_size = image_size
        self.mean = tuple(mean)
        self.std = tuple(std)
        self.source = source

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, str, torch.Tensor]:
        pair = self.pairs[index]
        try:
            pixels = torch.stack(
                [
                    preprocess_image(path, str(path), self.image_size, self.mean, self.std)
                    for path in pair.images
                ]
            )  # (2, 3, S, S)
        except BrokenImageError as exc:
            raise TrainingDataError(
                f"{exc.name}: cannot be decoded ({exc.reason}); fix or replace the file, "
                f"or remove its pair from {self.source}"
            ) from exc
        return pixels, pair.prompt, torch.tensor(pair.preference, dtype=torch.float32)


def steps_per_epoch(num_pairs: int, global_batch: int) -> int:
    """Full optimizer steps in one pass over the pairs (the remainder is dropped)."""
    return num_pairs // global_batch


def epoch_position(step: int, num_pairs: int, global_batch: int) -> tuple[int, int]:
    """(epoch, step within that epoch) of the optimizer step that comes after `step` steps."""
    per_epoch = steps_per_epoch(num_pairs, global_batch)
    return divmod(step, per_epoch)


class PairOrderSampler(Sampler[int]):
    """This process's pair indices for optimizer steps [start_step, stop_step) of a run.

    Epoch e's order: torch.randperm seeded with seed + e, cut to whole global batches;
    the run's steps walk through epoch 0, 1, ... in turn. Rank r takes positions r,
    r + world_size, ... of each epoch's order (DistributedSampler's split), so every
    optimizer step consumes one contiguous block of global_batch pairs of it. One sampler
    covers the whole run, so DataLoader workers start once, not once per epoch.
    """

    def __init__(
        self,
        num_pairs: int,
        global_batch: int,
        *,
        seed: int,
        start_step: int,
        stop_step: int,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        if global_batch % world_size:
            raise ValueError(f"global_batch {global_batch} does not split over {world_size}")
        self.num_pairs = num_pairs
        self.global_batch = global_batch
        self.seed = seed
        self.start_step = start_step
        self.stop_step = stop_step
        self.rank = rank
        self.world_size = world_size
        self.per_rank_step = global_batch // world_size

    def epoch_order(self, epoch: int) -> torch.Tensor:
        """One epoch's whole pair order (every rank), cut to whole global batches."""
        generator = torch.Generator()
        generator.manual_seed(self.seed + epoch)
        order = torch.randperm(self.num_pairs, generator=generator)
        return order[: steps_per_epoch(self.num_pairs, self.global_batch) * self.global_batch]

    def __iter__(self) -> Iterator[int]:
        step = self.start_step
        while step < self.stop_step:
            epoch, in_epoch = epoch_position(step, self.num_pairs, self.global_batch)
            steps = min(
                steps_per_epoch(self.num_pairs, self.global_batch) - in_epoch,
                self.stop_step - step,
            )
            mine = self.epoch_order(epoch)[self.rank :: self.world_size]
            first = in_epoch * self.per_rank_step
            yield from mine[first : first + steps * self.per_rank_step].tolist()
            step += steps

    def __len__(self) -> int:
        return max(0, self.stop_step - self.start_step) * self.per_rank_step
