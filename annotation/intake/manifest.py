"""Parsing `manifest.jsonl`: one prompt group per line.

The format: docs/hpd_v2.md#our-batch-format-manifestjsonl.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from annotation.intake.batch_source import unsafe_path_reason
from annotation.intake.problems import Problem

GROUP_KEYS = {"prompt", "images", "source"}
IMAGE_KEYS = {"path", "generator"}
MAX_SOURCE_CHARS = 64
MAX_GENERATOR_CHARS = 64


@dataclass
class ManifestImage:
    path: str
    generator: str


@dataclass
class ManifestGroup:
    line: int
    prompt: str
    source: str
    images: list[ManifestImage] = field(default_factory=list)


@dataclass(frozen=True)
class ManifestRules:
    max_prompt_chars: int
    max_images_per_group: int


def parse_manifest(
    data: bytes, where: str, rules: ManifestRules, mentioned: set[str] | None = None
) -> tuple[list[ManifestGroup], list[Problem]]:
    """Parse every line; return the valid groups and a problem for everything else.

    `mentioned`, when given, receives every well-formed image path of every line, the
    lines rejected included, so their files are not also reported as unused.
    """
    groups: list[ManifestGroup] = []
    problems: list[Problem] = []
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    for number, raw_line in enumerate(data.split(b"\n"), start=1):
        at = f"{where} line {number}"
        if not raw_line.strip():
            continue
        try:
            text = raw_line.decode("utf-8")
        except UnicodeDecodeError as exc:
            problems.append(
                Problem(
                    at,
                    f"is not valid UTF-8 (byte 0x{raw_line[exc.start]:02x} at column "
                    f"{exc.start + 1}); save the manifest as UTF-8",
                )
            )
            continue
        try:
            entry = json.loads(text)
        except json.JSONDecodeError as exc:
            problems.append(
                Problem(
                    at,
                    f"is not valid JSON ({exc.msg} at column {exc.colno}); "
                    "each line must be one JSON object",
                )
            )
            continue
        group = _parse_group(entry, number, at, rules, problems, mentioned)
        if group is not None:
            groups.append(group)
    if not groups and not problems:
        problems.append(Problem(where, "is empty; add one JSON line per prompt group"))
    return groups, problems


def _parse_group(
    entry: object,
    number: int,
    at: str,
    rules: ManifestRules,
    problems: list[Problem],
    mentioned: set[str] | None = None,
) -> ManifestGroup | None:
    if not isinstance(entry, dict):
        problems.append(Problem(at, f"must be a JSON object, got {type(entry).__name__}"))
        return None
    found = len(problems)
    _check_keys(entry, GROUP_KEYS, at, "", problems)
    for key in ("prompt", "images"):
        if key not in entry:
            problems.append(Problem(at, f"is missing the required key {key!r}"))
    prompt = check_prompt(entry.get("prompt"), at, rules, problems)
    source = entry.get("source", "")
    if not isinstance(source, str) or len(source) > MAX_SOURCE_CHARS:
        problems.append(
            Problem(at, f"'source' must be a string of at most {MAX_SOURCE_CHARS} characters")
        )
    images = _check_images(entry.get("images"), at, rules, problems, mentioned)
    if len(problems) > found or prompt is None or images is None:
        return None
    return ManifestGroup(line=number, prompt=prompt, source=str(source), images=images)


def check_prompt(
    prompt: object, at: str, rules: ManifestRules, problems: list[Problem]
) -> str | None:
    """The prompt text trimmed, or None with a problem appended (not a string, empty,
    too long); None without a problem when it is missing (the caller says so). The same
    rule for manifest.jsonl groups and HPD v2 release entries."""
    if prompt is None:
        return None
    if not isinstance(prompt, str):
        problems.append(Problem(at, f"'prompt' must be a string, got {type(prompt).__name__}"))
        return None
    text = prompt.strip()
    if not text:
        problems.append(Problem(at, "'prompt' is empty; every group needs the prompt text"))
        return None
    if len(text) > rules.max_prompt_chars:
        problems.append(
            Problem(
                at,
                f"'prompt' is {len(text)} characters, over the limit of "
                f"{rules.max_prompt_chars} (IMPORT_MAX_PROMPT_CHARS)",
            )
        )
        return None
    if any(ord(ch) < 32 and ch not in "\t\n\r" for ch in text):
        problems.append(Problem(at, "'prompt' contains control characters; remove them"))
        return None
    return text


def _check_images(
    images: object,
    at: str,
    rules: ManifestRules,
    problems: list[Problem],
    mentioned: set[str] | None = None,
) -> list[ManifestImage] | None:
    if images is None:
        return None
    if not isinstance(images, list):
        problems.append(Problem(at, '\'images\' must be a list of {"path", "generator"} objects'))
        return None
    if len(images) < 2:
        problems.append(
            Problem(at, f"has {len(images)} image(s); a group needs at least 2 images to rank")
        )
    if len(images) > rules.max_images_per_group:
        problems.append(
            Problem(
                at,
                f"has {len(images)} images, over the limit of "
                f"{rules.max_images_per_group} (IMPORT_MAX_IMAGES_PER_GROUP)",
            )
        )
    parsed: list[ManifestImage] = []
    seen: set[str] = set()
    for index, item in enumerate(images, start=1):
        label = f"image {index}"
        if not isinstance(item, dict):
            problems.append(Problem(at, f"{label} must be an object with 'path' and 'generator'"))
            continue
        _check_keys(item, IMAGE_KEYS, at, f"{label} ", problems)
        path = item.get("path")
        if not isinstance(path, str) or not path.strip():
            problems.append(Problem(at, f"{label} is missing its 'path' (a string)"))
            continue
        reason = unsafe_path_reason(path)
        if reason:
            problems.append(Problem(at, f"{label} path {path!r} {reason}"))
            continue
        path = path.replace("\\", "/").removeprefix("./")
        if mentioned is not None:
            mentioned.add(path)
        if path in seen:
            problems.append(Problem(at, f"{label} path {path!r} is listed twice in this group"))
            continue
        seen.add(path)
        generator = item.get("generator", "")
        if not isinstance(generator, str) or len(generator) > MAX_GENERATOR_CHARS:
            problems.append(
                Problem(
                    at,
                    f"{label} 'generator' must be a string of at most "
                    f"{MAX_GENERATOR_CHARS} characters",
                )
            )
            continue
        parsed.append(ManifestImage(path=path, generator=generator.strip()))
    return parsed


def _check_keys(
    entry: dict[str, object], allowed: set[str], at: str, label: str, problems: list[Problem]
) -> None:
    """A problem naming the unknown keys of `entry` (a typo must not be dropped silently)."""
    unknown = sorted(set(entry) - allowed)
    if unknown:
        problems.append(
            Problem(
                at,
                f"{label}has unknown key(s) {', '.join(map(repr, unknown))}; "
                f"allowed keys are {', '.join(sorted(allowed))}",
            )
        )
