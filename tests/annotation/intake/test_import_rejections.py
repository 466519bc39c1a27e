"""import_batch on bad input: every problem is reported clearly, and nothing is left behind.

Each rejection test imports one valid batch first (the `seeded` fixture), so "the database
and MEDIA_ROOT are exactly as before" is checked against a non-empty state.
"""

from __future__ import annotations

import io
import itertools
import os
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from PIL import Image as PILImage

from annotation.intake import importing
from annotation.intake.importing import import_batch
from annotation.intake.media import StorageUnavailable, media_path_for
from annotation.intake.problems import BatchRejected, Problem
from annotation.models import Batch, Image, Project, Prompt, TaskType
from tests.factories.batches import (
    database_state,
    media_state,
    png_bytes,
    write_batch,
    write_manifest,
    zip_folder,
)

pytestmark = pytest.mark.django_db

PROJECT = "foxes"
_seeds = itertools.count(5000)


# --- building batches ------------------------------------------------------------------


@pytest.fixture
def seeded(tmp_path: Path) -> Batch:
    """One valid pairwise batch (2 groups, 4 images) already imported into PROJECT."""
    import_batch(
        write_batch(tmp_path / "seed", groups=2, seed=99, prompt="seed prompt {n}"), PROJECT
    )
    return Batch.objects.get()


def new_png(**save: Any) -> bytes:
    return png_bytes(next(_seeds), **save)


def make_batch(
    folder: Path,
    groups: list[list[str]],
    files: dict[str, bytes | None] | None = None,
    prompt: str = "a blue heron at dawn, take {n}",
) -> Path:
    """A batch folder with one manifest line per group of image paths.

    Every path gets a fresh PNG unless `files` gives its bytes (None: leave it out).
    """
    files = dict(files or {})
    lines = []
    for n, paths in enumerate(groups):
        images = [{"path": path, "generator": f"gen-{k}"} for k, path in enumerate(paths)]
        lines.append({"prompt": prompt.format(n=n), "source": "test", "images": images})
        for path in paths:
            files.setdefault(path, new_png())
    write_files(folder, files)
    write_manifest(folder, lines)
    return folder


def write_files(folder: Path, files: dict[str, bytes | None]) -> None:
    for relative, data in files.items():
        if data is not None:
            (folder / relative).parent.mkdir(parents=True, exist_ok=True)
            (folder / relative).write_bytes(data)


def pair_batch(tmp_path: Path, files: dict[str, bytes | None] | None = None) -> Path:
    """Two valid pairwise groups (img/a.png + img/b.png, img/c.png + img/d.png)."""
    groups = [["img/a.png", "img/b.png"], ["img/c.png", "img/d.png"]]
    return make_batch(tmp_path / "batch", groups, files)


def zip_with(
    folder: Path, target: Path, extra: Iterable[tuple[zipfile.ZipInfo | str, bytes]] = ()
) -> Path:
    """zip_folder, then append crafted members."""
    zip_folder(folder, target)
    with zipfile.ZipFile(target, "a", zipfile.ZIP_DEFLATED) as archive:
        for name, data in extra:
            archive.writestr(name, data)
    return target


def rejected(path: Path, media_root: Path, project: str = PROJECT, **options: Any) -> list[Problem]:
    """Import `path`, expect BatchRejected, check nothing changed; return the problems."""
    db_before = database_state()
    media_before = media_state(media_root)
    with pytest.raises(BatchRejected) as caught:
        import_batch(path, project, **options)
    assert database_state() == db_before
    assert media_state(media_root) == media_before
    assert "nothing was imported" in str(caught.value)
    return caught.value.problems


def only_problem(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, problems
    return problems[0]


def assert_problems(problems: list[Problem], expected: list[tuple[str, list[str]]]) -> None:
    """Exactly these problems, in this order: (where, phrases the message contains)."""
    assert [p.where for p in problems] == [where for where, _ in expected], problems
    for problem, (_, phrases) in zip(problems, expected, strict=True):
        for phrase in phrases:
            assert phrase in problem.message, (phrase, problem)


# --- the container: zip members and folder entries ------------------------------------


@pytest.mark.parametrize("member", ["/etc/x.png", "\\x.png", "C:/x.png"])
def test_zip_member_with_an_absolute_path(
    tmp_path: Path, media_root: Path, seeded: Batch, member: str
) -> None:
    archive = zip_with(pair_batch(tmp_path), tmp_path / "upload.zip", [(member, new_png())])

    problem = only_problem(rejected(archive, media_root))

    assert problem.where == member
    assert "is an absolute path" in problem.message
    assert "must be relative to the archive root" in problem.message


@pytest.mark.parametrize("member", ["../evil.png", "img/../../evil.png", "..\\evil.png"])
def test_zip_member_with_dot_dot(
    tmp_path: Path, media_root: Path, seeded: Batch, member: str
) -> None:
    archive = zip_with(pair_batch(tmp_path), tmp_path / "upload.zip", [(member, new_png())])

    problem = only_problem(rejected(archive, media_root))

    assert problem.where == member
    assert "contains '..'" in problem.message
    assert "must stay inside the archive root" in problem.message
    assert not (tmp_path / "evil.png").exists()


def test_symlink_member_in_a_zip(tmp_path: Path, media_root: Path, seeded: Batch) -> None:
    link = zipfile.ZipInfo("img/link.png")
    link.external_attr = 0o120777 << 16
    archive = zip_with(pair_batch(tmp_path), tmp_path / "upload.zip", [(link, b"/etc/passwd")])

    problem = only_problem(rejected(archive, media_root))

    assert problem.where == "img/link.png"
    assert "is a symbolic link; put the file itself in the archive" in problem.message


def test_symlinked_file_in_a_folder_batch(tmp_path: Path, media_root: Path, seeded: Batch) -> None:
    folder = pair_batch(tmp_path)
    outside = tmp_path / "outside.png"
    outside.write_bytes(new_png())
    (folder / "img/b.png").unlink()
    (folder / "img/b.png").symlink_to(outside)

    problems = rejected(folder, media_root)

    assert_problems(
        problems,
        [
            ("img/b.png", ["is a symbolic link", "copy the file itself into the batch"]),
            ("manifest.jsonl line 1", ["image 'img/b.png' is not in the batch"]),
        ],
    )


def test_symlinked_directory_in_a_folder_batch(
    tmp_path: Path, media_root: Path, seeded: Batch
) -> None:
    folder = pair_batch(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "secret.png").write_bytes(new_png())
    (folder / "more").symlink_to(elsewhere, target_is_directory=True)

    problem = only_problem(rejected(folder, media_root))

    assert problem.where == "more"
    assert "is a symbolic link" in problem.message


@pytest.mark.parametrize(
    ("packed", "phrase"),
    [
        ("zip", "holds 7 files, over the limit of 4 (IMPORT_MAX_FILES)"),
        ("folder", "holds more than 4 files (IMPORT_MAX_FILES)"),
    ],
)
def test_over_the_file_count_limit(
    tmp_path: Path, media_root: Path, seeded: Batch, settings: Any, packed: str, phrase: str
) -> None:
    settings.IMPORT_MAX_FILES = 4
    folder = write_batch(tmp_path / "batch", groups=3, seed=1)  # 6 images + manifest
    path = zip_folder(folder, tmp_path / "upload.zip") if packed == "zip" else folder

    problem = only_problem(rejected(path, media_root))

    assert problem.where == path.name
    assert phrase in problem.message
    assert "split it into several batches" in problem.message


@pytest.mark.parametrize("packed", ["zip", "folder"])
def test_expanding_past_the_uncompressed_size_limit(
    tmp_path: Path, media_root: Path, seeded: Batch, settings: Any, packed: str
) -> None:
    settings.IMPORT_MAX_UNCOMPRESSED_BYTES = 1000
    folder = write_batch(tmp_path / "batch", groups=3, seed=1)
    path = zip_folder(folder, tmp_path / "upload.zip") if packed == "zip" else folder

    problem = only_problem(rejected(path, media_root))

    assert problem.where == path.name
    assert "over the limit of 1000 (IMPORT_MAX_UNCOMPRESSED_BYTES)" in problem.message
    assert "split it into several batches" in problem.message


def test_zip_bomb_compression_ratio(tmp_path: Path, media_root: Path, seeded: Batch) -> None:
    bomb = b"\0" * (4 * 1024 * 1024)  # deflates about 1000x
    archive = zip_with(pair_batch(tmp_path), tmp_path / "upload.zip", [("img/bomb.png", bomb)])

    problem = only_problem(rejected(archive, media_root))

    assert problem.where == "img/bomb.png"
    assert "over the limit of 200x (IMPORT_MAX_COMPRESSION_RATIO)" in problem.message
    assert "looks like a zip bomb" in problem.message


# --- the images ------------------------------------------------------------------------


def test_image_over_our_pixel_limit(
    tmp_path: Path, media_root: Path, seeded: Batch, settings: Any
) -> None:
    settings.IMPORT_MAX_IMAGE_PIXELS = 1000  # the 32x24 images pass
    folder = pair_batch(tmp_path, {"img/c.png": new_png(size=(40, 30))})

    problem = only_problem(rejected(folder, media_root))

    assert problem.where == "img/c.png"
    assert "is 40x30 = 1200 pixels, over the limit of 1000 (IMPORT_MAX_IMAGE_PIXELS)" in (
        problem.message
    )
    assert "downscale it" in problem.message


def test_pillow_decompression_bomb_warning_is_an_error(
    tmp_path: Path, media_root: Path, seeded: Batch, settings: Any, monkeypatch: Any
) -> None:
    settings.IMPORT_MAX_IMAGE_PIXELS = 10**9  # above Pillow's own limit: ours is not the one hit
    monkeypatch.setattr(PILImage, "MAX_IMAGE_PIXELS", 1000)  # 1200 px warns, 2000+ would raise
    folder = pair_batch(tmp_path, {"img/c.png": new_png(size=(40, 30))})

    problem = only_problem(rejected(folder, media_root))

    assert problem.where == "img/c.png"
    assert "is a decompression bomb" in problem.message
    assert "exceeds limit of 1000 pixels" in problem.message  # the warning, not the error
    assert problem.message.endswith("; downscale it")


def truncated_png() -> bytes:
    data = new_png(size=(64, 64))
    return data[: len(data) // 2]


def corrupt_png() -> bytes:
    data = bytearray(new_png(size=(64, 64)))
    start = data.index(b"IDAT") + 4
    for offset in range(start + 2, start + 10):
        data[offset] ^= 0xFF
    return bytes(data)


@pytest.mark.parametrize(
    ("name", "content", "phrases"),
    [
        ("img/c.png", truncated_png(), ["is a truncated or corrupt image", "re-export it"]),
        ("img/c.png", corrupt_png(), ["is a truncated or corrupt image", "re-export it"]),
        ("img/c.png", b"these are notes, not pixels\n", ["is not an image", "PNG, JPEG or WebP"]),
        ("img/c.png", b"", ["is an empty (zero-byte) file", "re-export the image"]),
        (
            "img/c.svg",
            b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>',
            ["is an SVG drawing", "only raster images are accepted", "convert it"],
        ),
        (
            "img/c.png",
            b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>',
            ["is an SVG drawing", "convert it"],
        ),
        (
            "img/c.gif",
            png_bytes(1, fmt="GIF"),
            ["is a GIF image; accepted formats are PNG, JPEG and WebP: convert it"],
        ),
        (
            "img/c.bmp",
            png_bytes(2, fmt="BMP"),
            ["is a BMP image; accepted formats are PNG, JPEG and WebP: convert it"],
        ),
    ],
    ids=["truncated", "corrupt-idat", "text", "zero-byte", "svg", "svg-named-png", "gif", "bmp"],
)
def test_a_file_that_is_not_an_image_we_serve(
    tmp_path: Path,
    media_root: Path,
    seeded: Batch,
    name: str,
    content: bytes,
    phrases: list[str],
) -> None:
    folder = make_batch(
        tmp_path / "batch", [["img/a.png", "img/b.png"], [name, "img/d.png"]], {name: content}
    )

    problem = only_problem(rejected(folder, media_root))

    assert problem.where == name
    for phrase in phrases:
        assert phrase in problem.message


def test_the_same_image_twice_within_a_batch(
    tmp_path: Path, media_root: Path, seeded: Batch
) -> None:
    same = new_png()
    folder = pair_batch(tmp_path, {"img/a.png": same, "img/d.png": same})

    problem = only_problem(rejected(folder, media_root))

    assert problem.where == "img/d.png"
    assert "is the same image (sha256" in problem.message
    assert "as img/a.png; each image may appear once" in problem.message


def test_an_image_from_an_earlier_batch_of_the_project(
    tmp_path: Path, media_root: Path, seeded: Batch
) -> None:
    earlier = (tmp_path / "seed/img/0001-0.png").read_bytes()
    folder = pair_batch(tmp_path, {"img/c.png": earlier})

    problem = only_problem(rejected(folder, media_root))

    assert problem.where == "img/c.png"
    assert f"is already in project 'foxes' (batch {seeded.pk})" in problem.message
    assert "each image may be imported once" in problem.message


def test_the_same_image_in_a_different_project_is_accepted(
    tmp_path: Path, media_root: Path, seeded: Batch
) -> None:
    earlier = (tmp_path / "seed/img/0001-0.png").read_bytes()
    folder = pair_batch(tmp_path, {"img/c.png": earlier})
    files_before = media_state(media_root)

    summary = import_batch(folder, "birds")

    assert (summary.project, summary.images) == ("birds", 4)
    shared = Image.objects.filter(original_name__in=["img/0001-0.png", "img/c.png"])
    assert sorted(shared.values_list("project__slug", "original_name")) == [
        ("birds", "img/c.png"),
        ("foxes", "img/0001-0.png"),
    ]
    assert len({image.file for image in shared}) == 1  # one stored file, two rows
    # Three new files (and their folders); the shared image is stored only once.
    new = [p for p in media_state(media_root) if p not in files_before and p.endswith(".png")]
    assert len(new) == 3


# --- the manifest ----------------------------------------------------------------------

GOOD = {"prompt": "a lighthouse in fog", "images": [{"path": "img/a.png"}, {"path": "img/b.png"}]}


IMG_D = {"path": "img/d.png", "generator": "g"}


def two(first: str = "img/c.png", second: str = "img/d.png") -> list[dict[str, str]]:
    return [{"path": first, "generator": "g"}, {"path": second, "generator": "g"}]


@pytest.mark.parametrize(
    ("lines", "absent", "where", "phrases"),
    [
        (
            [GOOD, '{"prompt": "a cat", "images": ['],
            [],
            "manifest.jsonl line 2",
            ["is not valid JSON", "each line must be one JSON object"],
        ),
        ([GOOD, "[1, 2]"], [], "manifest.jsonl line 2", ["must be a JSON object, got list"]),
        ([GOOD, '"a cat"'], [], "manifest.jsonl line 2", ["must be a JSON object, got str"]),
        (
            [GOOD, {"images": two()}],
            [],
            "manifest.jsonl line 2",
            ["is missing the required key 'prompt'"],
        ),
        ([GOOD, {"prompt": "a cat"}], [], "manifest.jsonl line 2", ["required key 'images'"]),
        (
            [GOOD, {"prompt": "a cat", "images": two(), "seed": 3}],
            [],
            "manifest.jsonl line 2",
            ["has unknown key(s) 'seed'", "allowed keys are images, prompt, source"],
        ),
        (
            [GOOD, {"prompt": "a cat", "images": [{"path": "img/c.png", "model": "x"}, IMG_D]}],
            [],
            "manifest.jsonl line 2",
            ["image 1 has unknown key(s) 'model'", "allowed keys are generator, path"],
        ),
        (
            [GOOD, {"prompt": "a cat", "images": two()}],
            ["img/d.png"],
            "manifest.jsonl line 2",
            ["image 'img/d.png' is not in the batch", "add the file or fix the path"],
        ),
        (
            [GOOD, {"prompt": "", "images": two()}],
            [],
            "manifest.jsonl line 2",
            ["'prompt' is empty", "every group needs the prompt text"],
        ),
        (
            [GOOD, {"prompt": " \t\n ", "images": two()}],
            [],
            "manifest.jsonl line 2",
            ["'prompt' is empty"],
        ),
        (
            [GOOD, {"prompt": "x" * 100_000, "images": two()}],
            [],
            "manifest.jsonl line 2",
            ["'prompt' is 100000 characters, over the limit of 2000 (IMPORT_MAX_PROMPT_CHARS)"],
        ),
        (
            [GOOD, {"prompt": "a cat", "images": [{"path": "img/c.png"}]}],
            [],
            "manifest.jsonl line 2",
            ["has 1 image(s); a group needs at least 2 images to rank"],
        ),
        (
            [GOOD, {"prompt": "a cat", "images": []}],
            [],
            "manifest.jsonl line 2",
            ["has 0 image(s); a group needs at least 2 images to rank"],
        ),
        (
            [GOOD, {"prompt": "a cat", "images": two("img/c.png", "img/c.png")}],
            [],
            "manifest.jsonl line 2",
            ["image 2 path 'img/c.png' is listed twice in this group"],
        ),
        (
            [GOOD, {"prompt": "a cat", "images": two("img/a.png", "img/c.png")}],
            [],
            "manifest.jsonl line 2",
            ["image 'img/a.png' is also used on line 1", "an image belongs to one prompt group"],
        ),
    ],
    ids=[
        "not-json",
        "json-list",
        "json-string",
        "missing-prompt",
        "missing-images",
        "unknown-key",
        "unknown-image-key",
        "image-absent",
        "empty-prompt",
        "whitespace-prompt",
        "absurdly-long-prompt",
        "one-image",
        "zero-images",
        "same-path-twice-in-a-group",
        "same-path-on-two-lines",
    ],
)
def test_a_bad_manifest_line(
    tmp_path: Path,
    media_root: Path,
    seeded: Batch,
    lines: list[Any],
    absent: list[str],
    where: str,
    phrases: list[str],
) -> None:
    folder = tmp_path / "batch"
    paths = {
        image["path"]
        for line in lines
        if isinstance(line, dict)
        for image in line.get("images", [])
    }
    write_files(folder, {path: None if path in absent else new_png() for path in paths})
    write_manifest(folder, lines)

    problem = only_problem(rejected(folder, media_root))

    assert problem.where == where
    for phrase in phrases:
        assert phrase in problem.message


def test_a_file_that_no_manifest_line_uses(tmp_path: Path, media_root: Path, seeded: Batch) -> None:
    folder = pair_batch(tmp_path, {"img/extra.png": new_png()})

    problem = only_problem(rejected(folder, media_root))

    assert problem.where == "img/extra.png"
    assert "no manifest line uses it; remove it or add it to a group" in problem.message


def test_the_prompt_limit_follows_the_setting(
    tmp_path: Path, media_root: Path, seeded: Batch, settings: Any
) -> None:
    settings.IMPORT_MAX_PROMPT_CHARS = 20
    folder = make_batch(tmp_path / "batch", [["img/a.png", "img/b.png"]], prompt="y" * 21)

    problem = only_problem(rejected(folder, media_root))

    assert problem.where == "manifest.jsonl line 1"
    assert "'prompt' is 21 characters, over the limit of 20 (IMPORT_MAX_PROMPT_CHARS)" in (
        problem.message
    )


def test_a_manifest_line_that_is_not_utf8(tmp_path: Path, media_root: Path, seeded: Batch) -> None:
    folder = make_batch(tmp_path / "batch", [["img/a.png", "img/b.png"]])
    with open(folder / "manifest.jsonl", "ab") as manifest:
        manifest.write(b'{"prompt": "caf\xe9 au lait", "images": []}\n')

    problem = only_problem(rejected(folder, media_root))

    assert problem.where == "manifest.jsonl line 2"
    assert "is not valid UTF-8 (byte 0xe9 at column 16)" in problem.message
    assert "save the manifest as UTF-8" in problem.message


def test_three_images_into_an_existing_pairwise_project(
    tmp_path: Path, media_root: Path, seeded: Batch
) -> None:
    folder = make_batch(tmp_path / "batch", [["img/a.png", "img/b.png", "img/c.png"]])

    problem = only_problem(rejected(folder, media_root))

    assert problem.where == "manifest.jsonl line 1"
    assert "has 3 images but project 'foxes' is pairwise" in problem.message
    assert "import it into a ranking project" in problem.message
    assert Project.objects.get(slug=PROJECT).task_type == TaskType.PAIRWISE


def test_a_prompt_already_in_the_other_split(
    tmp_path: Path, media_root: Path, seeded: Batch
) -> None:
    folder = make_batch(
        tmp_path / "batch",
        [["img/a.png", "img/b.png"], ["img/c.png", "img/d.png"]],
        prompt="seed prompt {n}",  # the seed batch's prompts, which are in train
    )

    problems = rejected(folder, media_root, split="test")

    assert_problems(
        problems,
        [
            ("manifest.jsonl line 1", ["already in the train split of project 'foxes'"]),
            ("manifest.jsonl line 2", ["train and test must not share a prompt"]),
        ],
    )


def test_a_prompt_in_several_batches_of_the_other_split_is_reported_once(
    tmp_path: Path, media_root: Path, seeded: Batch
) -> None:
    # A second train batch repeating the seed's first prompt, with other images.
    import_batch(
        make_batch(tmp_path / "again", [["img/x.png", "img/y.png"]], prompt="seed prompt {n}"),
        PROJECT,
    )
    folder = make_batch(tmp_path / "batch", [["img/a.png", "img/b.png"]], prompt="seed prompt {n}")

    problems = rejected(folder, media_root, split="test")

    assert_problems(
        problems, [("manifest.jsonl line 1", ["already in the train split of project 'foxes'"])]
    )


# --- options and the upload as a whole -------------------------------------------------


@pytest.mark.parametrize(
    ("options", "where", "phrases"),
    [
        ({"project_slug": "not a slug!"}, "project", ["is not a valid slug", "use letters"]),
        ({"project_slug": "x" * 65}, "project", ["64 characters"]),
        ({"split": "validation"}, "split", ["'validation' is not a split; use train or test"]),
        ({"judgments_per_task": 0}, "judgments_per_task", ["0 is out of range; use 1..100"]),
    ],
    ids=["slug-with-spaces", "slug-too-long", "split", "judgments-per-task"],
)
def test_invalid_options(
    tmp_path: Path,
    media_root: Path,
    seeded: Batch,
    options: dict[str, Any],
    where: str,
    phrases: list[str],
) -> None:
    folder = pair_batch(tmp_path)
    project = options.pop("project_slug", PROJECT)

    problem = only_problem(rejected(folder, media_root, project, **options))

    assert problem.where == where
    for phrase in phrases:
        assert phrase in problem.message


def test_random_bytes_named_zip(tmp_path: Path, media_root: Path, seeded: Batch) -> None:
    upload = tmp_path / "upload.zip"
    upload.write_bytes(os.urandom(4096))

    problem = only_problem(rejected(upload, media_root))

    assert problem.where == "upload.zip"
    assert "is not a readable .zip archive" in problem.message
    assert "re-create the archive" in problem.message


def test_a_path_that_does_not_exist(tmp_path: Path, media_root: Path, seeded: Batch) -> None:
    missing = tmp_path / "nowhere.zip"

    problem = only_problem(rejected(missing, media_root))

    assert problem.where == str(missing)
    assert "does not exist; give a .zip file or a folder" in problem.message


def test_no_manifest(tmp_path: Path, media_root: Path, seeded: Batch) -> None:
    folder = tmp_path / "batch"
    write_files(folder, {"img/a.png": new_png(), "img/b.png": new_png()})
    archive = zip_folder(folder, tmp_path / "upload.zip")

    problem = only_problem(rejected(archive, media_root))

    assert problem.where == "upload.zip"
    assert "has no manifest.jsonl at its top" in problem.message
    assert "add one JSON line per prompt group" in problem.message
    assert "or an HPD v2 folder" in problem.message


def many_problems_batch(tmp_path: Path) -> Path:
    folder = tmp_path / "batch"
    same = new_png()
    files: dict[str, bytes | None] = {
        "img/d.png": b"just some text",
        "img/f.png": same,
        "img/g.png": truncated_png(),
        "img/unused.png": new_png(),
    }
    lines: list[Any] = [
        {"prompt": "line one is fine", "images": two("img/a.png", "img/b.png")},
        "{oops",
        {"images": two("img/c.png", "img/d.png")},
        {"prompt": "line four", "images": two("img/missing.png", "img/e.png")},
        {"prompt": "line five", "images": two("img/f.png", "img/g.png")},
    ]
    lines += [
        {"prompt": f"fine line {n}", "images": two(f"img/ok-{n}-0.png", f"img/ok-{n}-1.png")}
        for n in range(6, 11)
    ]
    lines.append({"prompt": "   ", "images": []})
    paths = {image["path"] for line in lines if isinstance(line, dict) for image in line["images"]}
    for path in sorted(paths - {"img/missing.png"}):
        files.setdefault(path, new_png())
    files["img/a.png"] = same
    write_files(folder, files)
    write_manifest(folder, lines)
    link = zipfile.ZipInfo("img/link.png")
    link.external_attr = 0o120777 << 16
    return zip_with(folder, tmp_path / "upload.zip", [("../evil.png", new_png()), (link, b"a")])


def test_a_batch_with_many_problems_reports_all_of_them_in_a_stable_order(
    tmp_path: Path, media_root: Path, seeded: Batch
) -> None:
    archive = many_problems_batch(tmp_path)

    problems = rejected(archive, media_root)

    assert_problems(
        problems,
        [
            ("../evil.png", ["contains '..'"]),
            ("img/d.png", ["is not an image"]),
            ("img/f.png", ["is the same image", "as img/a.png"]),
            ("img/g.png", ["is a truncated or corrupt image"]),
            ("img/link.png", ["is a symbolic link"]),
            ("img/unused.png", ["no manifest line uses it"]),
            ("manifest.jsonl line 2", ["is not valid JSON"]),
            ("manifest.jsonl line 3", ["is missing the required key 'prompt'"]),
            ("manifest.jsonl line 4", ["image 'img/missing.png' is not in the batch"]),
            ("manifest.jsonl line 11", ["'prompt' is empty"]),
            ("manifest.jsonl line 11", ["has 0 image(s)"]),
        ],
    )
    assert rejected(archive, media_root) == problems  # the same list, in the same order


# --- accepted oddities -----------------------------------------------------------------


def test_macos_junk_in_a_zip_is_ignored(tmp_path: Path, media_root: Path) -> None:
    folder = make_batch(tmp_path / "batch", [["img/a.png", "img/b.png"]])
    junk = [
        ("__MACOSX/img/._a.png", b"\0\5\26\7 resource fork"),
        ("__MACOSX/._manifest.jsonl", b"\0\5\26\7"),
        (".DS_Store", b"Bud1 not an image"),
        ("img/.DS_Store", b"Bud1"),
        ("img/Thumbs.db", b"\xd0\xcf\x11\xe0"),
    ]
    archive = zip_with(folder, tmp_path / "upload.zip", junk)

    summary = import_batch(archive, PROJECT)

    assert (summary.prompts, summary.images) == (1, 2)
    assert sorted(Image.objects.values_list("original_name", flat=True)) == [
        "img/a.png",
        "img/b.png",
    ]


def test_a_utf8_bom_at_the_start_of_the_manifest_is_accepted(tmp_path: Path) -> None:
    folder = make_batch(tmp_path / "batch", [["img/a.png", "img/b.png"]], prompt="café crème")
    manifest = folder / "manifest.jsonl"
    manifest.write_bytes(b"\xef\xbb\xbf" + manifest.read_bytes())

    summary = import_batch(folder, PROJECT)

    assert summary.prompts == 1
    assert Prompt.objects.get().raw_text == "café crème"


def test_a_jpeg_with_exif_orientation_6_is_stored_with_width_and_height_swapped(
    tmp_path: Path, media_root: Path
) -> None:
    image = PILImage.new("RGB", (40, 20), (200, 30, 30))
    exif = image.getexif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif)
    folder = make_batch(
        tmp_path / "batch", [["img/a.jpg", "img/b.png"]], {"img/a.jpg": buffer.getvalue()}
    )

    import_batch(folder, PROJECT)

    stored = Image.objects.get(original_name="img/a.jpg")
    assert (stored.format, stored.width, stored.height, stored.exif_orientation) == (
        "JPEG",
        20,
        40,
        6,
    )
    assert stored.file == media_path_for(stored.sha256, "jpg")
    assert (media_root / stored.file).read_bytes() == buffer.getvalue()


# --- failures after validation: nothing is left behind ---------------------------------


def test_unwritable_media_root_raises_storage_unavailable_and_writes_no_rows(
    tmp_path: Path, media_root: Path, seeded: Batch, settings: Any
) -> None:
    blocker = tmp_path / "a-file-not-a-folder"
    blocker.write_text("in the way")
    settings.MEDIA_ROOT = blocker / "media"  # mkdir fails with NotADirectoryError, even as root
    folder = pair_batch(tmp_path)
    db_before = database_state()
    media_before = media_state(media_root)

    with pytest.raises(StorageUnavailable) as caught:
        import_batch(folder, PROJECT)

    message = str(caught.value)
    assert f"could not write {blocker}/media/images/" in message
    assert f"MEDIA_ROOT ({blocker}/media) is not a writable folder" in message
    assert "fix the path or the permissions of MEDIA_ROOT, then import again" in message
    assert database_state() == db_before
    assert media_state(media_root) == media_before
    assert blocker.read_text() == "in the way"


def test_a_failure_after_the_files_were_written_removes_them(
    tmp_path: Path, media_root: Path, seeded: Batch, monkeypatch: Any
) -> None:
    folder = pair_batch(tmp_path)
    db_before = database_state()
    media_before = media_state(media_root)
    during: list[str] = []

    def failing_write_rows(*args: Any, **kwargs: Any) -> dict[str, int]:
        during.extend(media_state(media_root))
        raise RuntimeError("the database went away")

    monkeypatch.setattr(importing, "_write_rows", failing_write_rows)

    with pytest.raises(RuntimeError, match="the database went away"):
        import_batch(folder, PROJECT)

    written = [path for path in during if path.endswith(".png") and path not in media_before]
    assert len(written) == 4  # the import had stored its four images ...
    new_folders = [path for path in during if path not in media_before and "." not in path]
    assert new_folders  # ... in fan-out folders that did not exist before
    assert database_state() == db_before
    assert media_state(media_root) == media_before  # ... and removed every one of them


# --- the command line ------------------------------------------------------------------


def test_command_lists_every_problem_on_stderr_and_imports_nothing(
    tmp_path: Path, media_root: Path, seeded: Batch
) -> None:
    folder = pair_batch(tmp_path, {"img/b.png": b"not an image", "img/d.png": None})
    expected = rejected(folder, media_root)
    assert len(expected) == 2
    db_before = database_state()
    stderr = io.StringIO()
    stdout = io.StringIO()

    with pytest.raises(CommandError) as caught:
        call_command(
            "import_batch", str(folder), "--project", PROJECT, stderr=stderr, stdout=stdout
        )

    assert str(caught.value) == (
        f"2 problem(s) in {folder}; nothing was imported. Fix them all and run the import again."
    )
    assert stderr.getvalue().splitlines() == [
        "  img/b.png: is not an image (its content is not PNG, JPEG or WebP, whatever its name)",
        "  manifest.jsonl line 2: image 'img/d.png' is not in the batch; add the file or fix "
        "the path (paths are relative to the manifest's folder)",
    ]
    assert stderr.getvalue().splitlines() == [f"  {problem}" for problem in expected]
    assert stdout.getvalue() == ""
    assert database_state() == db_before


def test_command_reports_unwritable_storage(
    tmp_path: Path, media_root: Path, seeded: Batch, settings: Any
) -> None:
    blocker = tmp_path / "a-file-not-a-folder"
    blocker.write_text("in the way")
    settings.MEDIA_ROOT = blocker / "media"
    db_before = database_state()

    with pytest.raises(CommandError, match="Nothing was imported"):
        call_command("import_batch", str(pair_batch(tmp_path)), "--project", PROJECT)

    assert database_state() == db_before


def test_the_seed_batch_is_really_there(tmp_path: Path, media_root: Path, seeded: Batch) -> None:
    # Guards the fixture every rejection test relies on: the state compared is not empty.
    assert database_state()["Image"] == 4
    assert sum(1 for path in media_state(media_root) if path.endswith(".png")) == 4
    assert (seeded.prompt_count, seeded.image_count, seeded.task_count) == (2, 4, 2)
