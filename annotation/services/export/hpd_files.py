"""The HPD v2 layout (HPD_V2.md): train.json, test.json and the images in train/, test/."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path, PurePosixPath
from typing import Any

from annotation.services.export.manifest import FileRecord, HashingWriter
from annotation.services.export.query import JudgmentRow, TaskGroup, TaskImageRow


class ExportFailed(Exception):
    """The export could not be written; the message says what and what to do."""


def ranks_by_position(group: TaskGroup, judgment: JudgmentRow) -> list[int]:
    """The rank (1 = best) this judgment gave each image, in the task's image order."""
    rank_of = {image_id: index + 1 for index, image_id in enumerate(judgment.ranking)}
    try:
        return [rank_of[image.id] for image in group.images]
    except KeyError:
        raise ExportFailed(
            f"judgment {judgment.id} does not rank every image of task {group.task_id}; "
            "fix or delete that judgment in /admin/ and export again"
        ) from None


def averaged_rank(raw: list[list[int]]) -> list[int]:
    """Rank of each image by its mean rank over annotators (1 = best; equal means share)."""
    means = [sum(column) / len(column) for column in zip(*raw, strict=True)]
    return [1 + sum(1 for other in means if other < mean) for mean in means]


class JsonListWriter:
    """A JSON list written one element at a time, the way the release's files are read."""

    def __init__(self, root: Path, path: str, record: FileRecord):
        self.out = HashingWriter(root, path, record)
        self.out.write("[")
        self.first = True

    def add(self, item: dict[str, Any]) -> None:
        self.out.write(("\n" if self.first else ",\n") + json.dumps(item, ensure_ascii=False))
        self.first = False

    def close(self) -> None:
        self.out.write("\n]\n")
        self.out.close()


class HpdWriter:
    """Writes train.json / test.json and links each image once into its split folder.

    Images are hard-linked from MEDIA_ROOT (copied when the two folders are on different
    file systems); their manifest entries use the sha256 and size verified at import.
    """

    def __init__(
        self,
        root: Path,
        splits: tuple[str, ...],
        media_root: Path,
        keep_names: bool,
        record: FileRecord,
    ):
        self.root = root
        self.media_root = media_root
        self.keep_names = keep_names
        self.record = record
        self.lists = {split: JsonListWriter(root, f"{split}.json", record) for split in splits}
        self.linked: dict[str, set[int]] = {split: set() for split in splits}
        self.folders: set[Path] = set()
        self.can_link = True
        for split in splits:
            (root / split).mkdir()

    def image_path(self, image: TaskImageRow) -> str:
        """The image's path inside its split folder, as train.json / test.json name it."""
        if self.keep_names:
            return image.original_name
        return image.sha256 + PurePosixPath(image.file).suffix

    def write_group(self, group: TaskGroup, user_hashes: list[str]) -> int:
        """Write one task's entries; return the number of train pairs written."""
        paths = [self.image_path(image) for image in group.images]
        self._link_images(group, paths)
        raw = [ranks_by_position(group, judgment) for judgment in group.judgments]
        if group.split == "test":
            self.lists["test"].add(
                {
                    "prompt": group.prompt,
                    "image_path": paths,
                    "rank": averaged_rank(raw),
                    "raw_annotations": [
                        {"rank": ranks, "user_hash": user_hash}
                        for ranks, user_hash in zip(raw, user_hashes, strict=True)
                    ],
                }
            )
            return 0
        pairs = 0
        train = self.lists["train"]
        for ranks in raw:
            for a in range(len(paths)):
                for b in range(a + 1, len(paths)):
                    train.add(
                        {
                            "prompt": group.prompt,
                            "file_path": [paths[a], paths[b]],
                            "human_preference": [1, 0] if ranks[a] < ranks[b] else [0, 1],
                        }
                    )
                    pairs += 1
        return pairs

    def _link_images(self, group: TaskGroup, paths: list[str]) -> None:
        seen = self.linked[group.split]
        for image, path in zip(group.images, paths, strict=True):
            if image.id in seen:
                continue
            seen.add(image.id)
            relative = f"{group.split}/{path}"
            target = self.root / relative
            if target.parent not in self.folders:
                target.parent.mkdir(parents=True, exist_ok=True)
                self.folders.add(target.parent)
            source = self.media_root / image.file
            try:
                if self.can_link:
                    try:
                        os.link(source, target)
                    except OSError:
                        if not source.exists():
                            raise
                        self.can_link = False
                if not self.can_link:
                    shutil.copyfile(source, target)
            except FileNotFoundError:
                raise ExportFailed(
                    f"image {image.sha256} ({image.original_name}) is missing from MEDIA_ROOT "
                    f"({source}); restore the file and export again"
                ) from None
            self.record.add(relative, image.byte_size, image.sha256)

    def close(self) -> None:
        for writer in self.lists.values():
            writer.close()
