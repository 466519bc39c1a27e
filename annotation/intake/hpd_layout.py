"""Reading an HPD v2 release folder (train.json / test.json + train/, test/): every
problem listed, as the manifest path does, before anything is written.

The files are read as the release is found (docs/hpd_v2.md#importing-a-release-folder):
a train.json entry names its two images under `file_path` or `image_path`, may carry
`user_hash` (its pseudonymous annotator) and other keys (ignored), and gives
`human_preference` as any two non-negative numbers; a tie ([1, 1], [0.5, 0.5]) says
nothing about which image is better, so it is counted and skipped, not refused."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from annotation.intake.batch_source import BatchSource, MemberTooLarge, read_capped
from annotation.intake.manifest import ManifestRules, check_prompt
from annotation.intake.problems import Problem

HPD_FILES = {"train": "train.json", "test": "test.json"}
MAX_JSON_BYTES = 2 * 1024**3
TRAIN_KEYS = {"prompt", "human_preference"}  # and one of TRAIN_PATH_KEYS
TRAIN_PATH_KEYS = ("file_path", "image_path")
TEST_KEYS = {"prompt", "image_path", "rank", "raw_annotations"}
MAX_USER_HASH = 128


@dataclass
class HpdEntry:
    """One entry of train.json (a pair) or test.json (a ranked group)."""

    number: int  # 1-based position in its file
    prompt: str
    paths: list[str]  # relative to the split folder, in the file's order
    # Rankings as each annotator gave them: rank per image (1 = best), in `paths` order.
    rankings: list[list[int]]
    user_hashes: list[str]  # "" for a train.json entry that names no annotator
    released_rank: list[int | float] | None = None  # test.json's `rank`, as released


@dataclass(frozen=True)
class SkippedTie:
    """A train.json pair whose `human_preference` is a tie: counted, not imported."""

    number: int
    paths: tuple[str, ...]


@dataclass
class HpdSplit:
    split: str
    entries: list[HpdEntry] = field(default_factory=list)
    ties: list[SkippedTie] = field(default_factory=list)


def find_hpd_prefix(source: BatchSource) -> str | None:
    """'' or 'folder/' when the source holds train.json and/or test.json at its top."""
    names = set(HPD_FILES.values())
    if names & set(source.members):
        return ""
    tops = {member.split("/", 1)[0] for member in source.members}
    if len(tops) == 1:
        top = tops.pop()
        if any(f"{top}/{name}" in source.members for name in names):
            return f"{top}/"
    return None


def parse_hpd(
    source: BatchSource, prefix: str, rules: ManifestRules, problems: list[Problem]
) -> list[HpdSplit]:
    """Parse the splits present; append every problem found to `problems`."""
    splits = []
    for split, name in HPD_FILES.items():
        member = prefix + name
        if member not in source.members:
            continue
        try:
            with source.open_member(member) as stream:
                raw = read_capped(stream, MAX_JSON_BYTES)
        except MemberTooLarge:
            problems.append(Problem(member, f"is over {MAX_JSON_BYTES} bytes"))
            continue
        try:
            data = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            problems.append(Problem(member, "is not UTF-8 text; save it as UTF-8"))
            continue
        except json.JSONDecodeError as exc:
            problems.append(Problem(member, f"is not valid JSON ({exc}); fix the file"))
            continue
        if not isinstance(data, list):
            problems.append(Problem(member, "must be a JSON list of entries, as in HPD v2"))
            continue
        parsed = HpdSplit(split)
        for number, item in enumerate(data, start=1):
            at = f"{member} entry {number}"
            entry = (
                _train_entry(item, number, at, rules, problems)
                if split == "train"
                else _test_entry(item, number, at, rules, problems)
            )
            if isinstance(entry, SkippedTie):
                parsed.ties.append(entry)
            elif entry is not None:
                parsed.entries.append(entry)
        splits.append(parsed)
    return splits


def _keys(item: object, wanted: set[str], at: str, problems: list[Problem]) -> bool:
    """The entry is an object holding every wanted key (other keys are ignored)."""
    if not isinstance(item, dict):
        problems.append(Problem(at, "must be a JSON object"))
        return False
    missing = sorted(wanted - set(item))
    if missing:
        problems.append(Problem(at, f"lacks {', '.join(missing)}; HPD v2 entries have them all"))
    return not missing


def _paths(value: object, key: str, at: str, problems: list[Problem]) -> list[str] | None:
    if (
        not isinstance(value, list)
        or len(value) < 2
        or not all(isinstance(p, str) and p for p in value)
    ):
        problems.append(Problem(at, f"'{key}' must be a list of at least 2 image paths"))
        return None
    if len(set(value)) != len(value):
        problems.append(Problem(at, f"'{key}' names the same image twice"))
        return None
    return list(value)


def _train_paths(item: dict[str, Any], at: str, problems: list[Problem]) -> list[str] | None:
    """The pair's images, named `file_path` (our export, the paper) or `image_path`
    (the public copies); both may be present only when they agree."""
    given = [key for key in TRAIN_PATH_KEYS if key in item]
    if not given:
        problems.append(Problem(at, "lacks file_path (or image_path): the two images of the pair"))
        return None
    if len(given) == 2 and item["file_path"] != item["image_path"]:
        problems.append(
            Problem(at, "has both file_path and image_path naming different images; keep one")
        )
        return None
    key = given[0]
    paths = _paths(item[key], key, at, problems)
    if paths is not None and len(paths) != 2:
        problems.append(Problem(at, f"'{key}' must name exactly 2 images"))
        return None
    return paths


def _preference(value: object, at: str, problems: list[Problem]) -> tuple[float, float] | None:
    if (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
        and all(math.isfinite(v) and v >= 0 for v in value)
        and sum(value) > 0
    ):
        return float(value[0]), float(value[1])
    problems.append(
        Problem(
            at,
            "'human_preference' must be two non-negative numbers with a positive sum, "
            "the larger marking the preferred image ([1, 0], [0, 1], [0.8, 0.2])",
        )
    )
    return None


def _user_hash(item: dict[str, Any], at: str, problems: list[Problem]) -> str | None:
    """The pair's pseudonymous annotator: '' when the entry names none."""
    user_hash = item.get("user_hash")
    if user_hash is None or user_hash == "":
        return ""
    if not isinstance(user_hash, str) or len(user_hash) > MAX_USER_HASH:
        problems.append(
            Problem(at, f"'user_hash' must be a string of 1 to {MAX_USER_HASH} characters")
        )
        return None
    return user_hash


def _train_entry(
    item: object, number: int, at: str, rules: ManifestRules, problems: list[Problem]
) -> HpdEntry | SkippedTie | None:
    if not _keys(item, TRAIN_KEYS, at, problems):
        return None
    assert isinstance(item, dict)
    found = len(problems)
    prompt = check_prompt(item["prompt"], at, rules, problems)
    paths = _train_paths(item, at, problems)
    preference = _preference(item["human_preference"], at, problems)
    user_hash = _user_hash(item, at, problems)
    if (
        len(problems) > found
        or prompt is None
        or paths is None
        or preference is None
        or user_hash is None
    ):
        return None
    if preference[0] == preference[1]:
        return SkippedTie(number, tuple(paths))
    ranks = [1, 2] if preference[0] > preference[1] else [2, 1]
    return HpdEntry(number, prompt, paths, [ranks], [user_hash])


def _test_entry(
    item: object, number: int, at: str, rules: ManifestRules, problems: list[Problem]
) -> HpdEntry | None:
    if not _keys(item, TEST_KEYS, at, problems):
        return None
    assert isinstance(item, dict)
    found = len(problems)
    prompt = check_prompt(item["prompt"], at, rules, problems)
    paths = _paths(item["image_path"], "image_path", at, problems)
    size = len(paths) if paths else 0
    if paths is not None and size > rules.max_images_per_group:
        problems.append(
            Problem(
                at,
                f"has {size} images, over the limit of {rules.max_images_per_group} "
                "(IMPORT_MAX_IMAGES_PER_GROUP)",
            )
        )
    rank = item["rank"]
    if (
        not isinstance(rank, list)
        or len(rank) != size
        or not all(isinstance(r, int | float) and not isinstance(r, bool) for r in rank)
        or not all(math.isfinite(r) for r in rank)
    ):
        problems.append(Problem(at, "'rank' must hold one number per image of 'image_path'"))
    annotations = item["raw_annotations"]
    rankings: list[list[int]] = []
    hashes: list[str] = []
    if not isinstance(annotations, list) or not annotations:
        problems.append(Problem(at, "'raw_annotations' must be a non-empty list"))
        annotations = []
    for k, annotation in enumerate(annotations, start=1):
        where = f"{at} raw_annotations[{k}]"
        if not isinstance(annotation, dict) or not {"rank", "user_hash"} <= set(annotation):
            problems.append(Problem(where, "must be an object with 'rank' and 'user_hash'"))
            continue
        user_hash = annotation["user_hash"]
        if not isinstance(user_hash, str) or not user_hash or len(user_hash) > MAX_USER_HASH:
            problems.append(
                Problem(where, f"'user_hash' must be a string of 1 to {MAX_USER_HASH} characters")
            )
            continue
        if user_hash in hashes:
            problems.append(
                Problem(where, f"user_hash {user_hash!r} ranks this group twice; keep one ranking")
            )
            continue
        ranks = annotation["rank"]
        if not isinstance(ranks, list) or sorted(ranks) != list(range(1, size + 1)):
            problems.append(
                Problem(
                    where,
                    f"'rank' must rank every image once: a permutation of 1..{size} "
                    "(ties cannot be imported)",
                )
            )
            continue
        rankings.append(list(ranks))
        hashes.append(user_hash)
    if len(problems) > found or prompt is None or paths is None:
        return None
    return HpdEntry(number, prompt, paths, rankings, hashes, released_rank=list(rank))
