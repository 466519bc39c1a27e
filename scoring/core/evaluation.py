"""Read HPD v2 test data, score it, and report the accuracies (evaluation_stats.py).

`test.json` is the release's list of {"prompt", "image_path": [...], "rank": [...]}
(docs/hpd_v2.md); image paths are relative to the images folder (`test/` beside the
file unless another is given). Two optional keys per entry, which the release lacks and
the platform's exports can carry, give the breakdowns: "generators" (one name per image)
and "style".
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

from scoring.core.evaluation_stats import ScoredGroup
from scoring.core.scorer import Scorer


class TestDataError(ValueError):
    """test.json or its images are not usable; the message names the entry or file."""


def _entry_list(entry: dict[str, object], key: str, where: str, size: int | None) -> list[object]:
    value = entry.get(key)
    if not isinstance(value, list) or (size is not None and len(value) != size):
        wanted = f"a list of {size}" if size is not None else "a list"
        raise TestDataError(f"{where}: {key!r} must be {wanted}, got {value!r}"[:300])
    return value


def read_test_json(
    test_json: Path, images_dir: Path | None = None
) -> list[tuple[str, list[Path], ScoredGroup]]:
    """(prompt, image paths, group without scores) per entry; every image must exist."""
    test_json = Path(test_json)
    folder = Path(images_dir) if images_dir is not None else test_json.parent / "test"
    if not test_json.is_file():
        raise TestDataError(f"{test_json}: test file not found")
    try:
        entries = json.loads(test_json.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TestDataError(f"{test_json}: not valid UTF-8 JSON ({exc})") from exc
    if not isinstance(entries, list) or not entries:
        raise TestDataError(f"{test_json}: expected a non-empty JSON list of ranked groups")
    read = []
    for index, entry in enumerate(entries):
        where = f"{test_json} entry {index}"
        if not isinstance(entry, dict) or not isinstance(entry.get("prompt"), str):
            raise TestDataError(f"{where}: needs a 'prompt' string, 'image_path' and 'rank'")
        names = _entry_list(entry, "image_path", where, None)
        if len(names) < 2 or not all(isinstance(name, str) for name in names):
            raise TestDataError(f"{where}: 'image_path' must list at least 2 file names")
        ranks = _entry_list(entry, "rank", where, len(names))
        if not all(
            isinstance(r, int | float) and not isinstance(r, bool) and math.isfinite(r)
            for r in ranks
        ):
            raise TestDataError(f"{where}: 'rank' must hold numbers")
        generators = None
        if "generators" in entry:
            generators = [str(g) for g in _entry_list(entry, "generators", where, len(names))]
        style = entry.get("style")
        paths = [folder / str(name) for name in names]
        for path in paths:
            if not path.is_file():
                raise TestDataError(
                    f"{path}: image of {where} not found; give the images folder with --images"
                )
        group = ScoredGroup(
            scores=[],
            ranks=[float(r) for r in ranks],  # type: ignore[arg-type]
            generators=generators,
            style=str(style) if style is not None else None,
        )
        read.append((str(entry["prompt"]), paths, group))
    return read


def score_test_groups(
    scorer: Scorer,
    read: list[tuple[str, list[Path], ScoredGroup]],
    *,
    progress: Callable[[int], None] | None = None,
) -> list[ScoredGroup]:
    """The groups with their raw cosine scores (a broken image raises BrokenImageError)."""
    results = scorer.score_groups(
        [(prompt, list(paths)) for prompt, paths, _ in read], progress=progress
    )
    return [
        ScoredGroup(
            scores=[float(s) for s in result.scores if s is not None],
            ranks=group.ranks,
            generators=group.generators,
            style=group.style,
        )
        for result, (_, _, group) in zip(results, read, strict=True)
    ]
