"""Export parameters: what a snapshot contains, validated, as canonical JSON."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.conf import settings

SPLITS = ("all", "train", "test")


class ExportParamsError(Exception):
    """The export parameters are wrong; `problems` says which and how to fix each."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))


@dataclass(frozen=True)
class ExportParams:
    """The filters of one export. Always left out, whatever these say: calibration
    judgments, judgments of excluded annotators and repeat tasks."""

    split: str = "all"
    batches: tuple[int, ...] = field(default_factory=tuple)
    created_from: date | None = None  # judgments made on or after this day (UTC)
    created_to: date | None = None  # judgments made on or before this day (UTC)
    exclude_flagged_annotators: bool = False
    exclude_gold: bool = False
    min_annotators: int = 1  # test groups with fewer judgments are left out

    def as_json(self) -> dict[str, Any]:
        return {
            "split": self.split,
            "batches": sorted(self.batches),
            "created_from": self.created_from.isoformat() if self.created_from else None,
            "created_to": self.created_to.isoformat() if self.created_to else None,
            "exclude_flagged_annotators": self.exclude_flagged_annotators,
            "exclude_gold": self.exclude_gold,
            "min_annotators": self.min_annotators,
        }

    def canonical(self) -> str:
        return json.dumps(self.as_json(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ExportParams:
        """Parse and check parameters; raise ExportParamsError listing every problem."""
        problems: list[str] = []
        unknown = sorted(set(data) - set(cls().as_json()))
        if unknown:
            problems.append(
                f"unknown parameter(s) {', '.join(unknown)}; use "
                f"{', '.join(sorted(cls().as_json()))}"
            )
        split = data.get("split") or "all"
        if split not in SPLITS:
            problems.append(f"split {split!r} is not one of {', '.join(SPLITS)}")
        batches_raw = data.get("batches") or []
        batches: list[int] = []
        if not isinstance(batches_raw, list | tuple) or not all(
            isinstance(b, int) and not isinstance(b, bool) and b > 0 for b in batches_raw
        ):
            problems.append("batches must be a list of batch ids (positive integers)")
        else:
            batches = sorted(set(batches_raw))
        days: dict[str, date | None] = {}
        for key in ("created_from", "created_to"):
            value = data.get(key)
            if value in (None, ""):
                days[key] = None
            elif isinstance(value, date):
                days[key] = value
            else:
                try:
                    days[key] = date.fromisoformat(str(value))
                except ValueError:
                    problems.append(f"{key} {value!r} is not a date; use YYYY-MM-DD")
                    days[key] = None
        if (
            days["created_from"]
            and days["created_to"]
            and days["created_from"] > days["created_to"]
        ):
            problems.append("created_from is after created_to; swap them")
        flags: dict[str, bool] = {}
        for key in ("exclude_flagged_annotators", "exclude_gold"):
            value = data.get(key, False)
            if not isinstance(value, bool):
                problems.append(f"{key} must be true or false")
                value = False
            flags[key] = value
        minimum = data.get("min_annotators", 1)
        if minimum is None:
            minimum = 1
        if not isinstance(minimum, int) or isinstance(minimum, bool) or not 1 <= minimum <= 1000:
            problems.append(f"min_annotators {minimum!r} is out of range; use 1..1000")
            minimum = 1
        if problems:
            raise ExportParamsError(problems)
        return cls(
            split=split,
            batches=tuple(batches),
            created_from=days["created_from"],
            created_to=days["created_to"],
            exclude_flagged_annotators=flags["exclude_flagged_annotators"],
            exclude_gold=flags["exclude_gold"],
            min_annotators=minimum,
        )


def describe_export(parameters: Mapping[str, Any]) -> str:
    """A snapshot's stored parameters (ExportParams.as_json) in words, for its listing."""
    split = parameters.get("split") or "all"
    words = ["train and test splits" if split == "all" else f"{split} split only"]
    batches = parameters.get("batches") or []
    words.append(
        f"batch{'es' if len(batches) > 1 else ''} {', '.join(str(b) for b in batches)}"
        if batches
        else "every batch"
    )
    start, end = parameters.get("created_from"), parameters.get("created_to")
    if start and end:
        words.append(f"judgments made {start} to {end}")
    elif start:
        words.append(f"judgments made on or after {start}")
    elif end:
        words.append(f"judgments made on or before {end}")
    else:
        words.append("judgments of any date")
    if parameters.get("exclude_flagged_annotators"):
        words.append("flagged annotators left out")
    if parameters.get("exclude_gold"):
        words.append("gold tasks left out")
    minimum = parameters.get("min_annotators") or 1
    if minimum > 1:
        words.append(f"test groups of at least {minimum} annotators")
    return "; ".join(words)


def snapshot_salt(project_slug: str, params: ExportParams) -> bytes:
    """The per-snapshot salt of pseudonymous annotator ids: the same project and
    parameters give the same salt (so files are byte-identical), and without the
    server secret nobody can link a pseudonym to an account."""
    message = f"hpd-export-salt\0{project_slug}\0{params.canonical()}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).digest()


def pseudonym(salt: bytes, annotator_id: int) -> str:
    return hmac.new(salt, str(annotator_id).encode(), hashlib.sha256).hexdigest()[:20]
