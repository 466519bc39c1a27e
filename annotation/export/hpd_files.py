"""The HPD v2 layout (docs/hpd_v2.md#the-release-files): train.json, test.json, train/, test/."""

from __future__ import annotations

import json
import os
import shutil
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path, PurePosixPath
from typing import Any

from annotation.export.manifest import FileRecord, HashingWriter
from annotation.export.query import JudgmentRow, TaskGroup, TaskImageRow
from annotation.judging import competition_ranks


class ExportFailed(Exception):
    """The export could not be written; the message says what and what to do."""


def ranks_by_position(group: TaskGroup, judgment: JudgmentRow) -> list[int]:
    """The rank (1 = best) this judgment gave each image, in the task's image order;
    tied images share the best rank of their level."""
    rank_of = dict(
        zip(judgment.ranking, competition_ranks(judgment.ranking, judgment.levels), strict=True)
    )
    try:
        return [rank_of[image.id] for image in group.images]
    except KeyError:
        raise ExportFailed(
            f"judgment {judgment.id} does not rank every image of task {group.task_id}; "
            "fix or delete that judgment in /admin/ and export again"
        ) from None


def averaged_rank(raw: list[list[int]]) -> list[int]:
    """Rank of each image by its mean rank over annotators (1 = best).

    Equal means share the best rank of their tie (competition ranking: means 1.5, 1.5, 3
    give 1, 1, 3); the release's evaluate_rank never counts equal human ranks as
    discordant, so no order is invented between them (docs/hpd_v2.md#export-snapshots)."""
    means = [sum(column) / len(column) for column in zip(*raw, strict=True)]
    return [1 + sum(1 for other in means if other < mean) for mean in means]


def group_rank(group: TaskGroup, raw: list[list[int]]) -> list[int | float]:
    """The `rank` list test.json carries for a group: the released one for a group
    imported from an HPD v2 test.json whose every judgment is exported, else derived
    from the exported raw annotations by averaged_rank."""
    if group.released_rank is not None and len(group.judgments) == group.judgments_done:
        return list(group.released_rank)
    return list(averaged_rank(raw))


class JsonListWriter:
    """A JSON list written one element at a time, the way the release's files are read."""

    def __init__(self, root: Path, path: str, record: FileRecord):
        self.out = HashingWriter(root, path, record)
        self.out.write("[")
        self.first = True

    def add(self, item: dict[str, Any]) -> None:
        self.add_json(json.dumps(item, ensure_ascii=False))

    def add_json(self, text: str) -> None:
        """Add an element already encoded as JSON."""
        self.out.write(("\n" if self.first else ",\n") + text)
        self.first = False

    def close(self) -> None:
        self.out.write("\n]\n")
        self.out.close()


def _dumps(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


# Image files placed per thread-pool round; linking is file-system bound, not CPU bound.
LINK_ROUND = 4000
LINK_THREADS = 4


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
        keep_names: set[str],
        record: FileRecord,
    ):
        self.root = str(root)
        self.media_root = str(media_root)
        self.keep_names = keep_names
        self.record = record
        self.lists = {split: JsonListWriter(root, f"{split}.json", record) for split in splits}
        self.linked: dict[str, set[int]] = {split: set() for split in splits}
        self.folders: set[str] = set()
        self.can_link = True
        self.pending: list[tuple[str, str, TaskImageRow]] = []
        self.futures: list[Future[str | None]] = []
        self.pool = ThreadPoolExecutor(max_workers=LINK_THREADS, thread_name_prefix="export")
        for split in splits:
            (root / split).mkdir()

    def image_path(self, split: str, image: TaskImageRow) -> str:
        """The image's path inside its split folder, as train.json / test.json name it."""
        if split in self.keep_names:
            return image.original_name
        return image.sha256 + PurePosixPath(image.file).suffix

    def write_group(self, group: TaskGroup, user_hashes: list[str], paths: list[str]) -> int:
        """Write one task's entries (`paths`: its images' paths); return the train pairs.

        A tied pair has no train.json entry (its human_preference can only say which
        image won); test.json's rank lists, and the richer files, keep ties."""
        self._link_images(group, paths)
        raw = [ranks_by_position(group, judgment) for judgment in group.judgments]
        if group.split == "test":
            self.lists["test"].add(
                {
                    "prompt": group.prompt,
                    "image_path": paths,
                    "rank": group_rank(group, raw),
                    "raw_annotations": [
                        {"rank": ranks, "user_hash": user_hash}
                        for ranks, user_hash in zip(raw, user_hashes, strict=True)
                    ],
                }
            )
            return 0
        # Encoded by hand (the same bytes json.dumps gives): train.json is the largest file.
        head = '{"prompt": ' + _dumps(group.prompt) + ', "file_path": ['
        quoted = [_dumps(path) for path in paths]
        add = self.lists["train"].add_json
        pairs = 0
        for ranks in raw:
            for a in range(len(paths)):
                for b in range(a + 1, len(paths)):
                    if ranks[a] == ranks[b]:
                        continue
                    preference = "[1, 0]" if ranks[a] < ranks[b] else "[0, 1]"
                    add(f'{head}{quoted[a]}, {quoted[b]}], "human_preference": {preference}}}')
                    pairs += 1
        return pairs

    def _link_images(self, group: TaskGroup, paths: list[str]) -> None:
        seen = self.linked[group.split]
        for image, path in zip(group.images, paths, strict=True):
            if image.id in seen:
                continue
            seen.add(image.id)
            relative = f"{group.split}/{path}"
            target = os.path.join(self.root, relative)
            folder = os.path.dirname(target)
            if folder not in self.folders:
                os.makedirs(folder, exist_ok=True)
                self.folders.add(folder)
            self.pending.append((os.path.join(self.media_root, image.file), target, image))
            self.record.add(relative, image.byte_size, image.sha256)
        if len(self.pending) >= LINK_ROUND:
            self._place_pending()

    def _place_pending(self, wait: bool = False) -> None:
        """Hand the pending files to the link threads; they run while the main thread
        goes on encoding JSON. Errors surface at the next call, or at close (`wait`)."""
        pending, self.pending = self.pending, []
        share = -(-len(pending) // LINK_THREADS) or 1
        for start in range(0, len(pending), share):
            self.futures.append(self.pool.submit(self._place_all, pending[start : start + share]))
        still: list[Future[str | None]] = []
        for future in self.futures:
            if wait or future.done():
                error = future.result()
                if error:
                    raise ExportFailed(error)
            else:
                still.append(future)
        self.futures = still

    def _place_all(self, jobs: list[tuple[str, str, TaskImageRow]]) -> str | None:
        for job in jobs:
            error = self._place(job)
            if error:
                return error
        return None

    def _place(self, job: tuple[str, str, TaskImageRow]) -> str | None:
        source, target, image = job
        try:
            if self.can_link:
                try:
                    os.link(source, target)
                    return None
                except FileNotFoundError:
                    raise
                except OSError:
                    self.can_link = False  # another file system: copy from now on
            shutil.copyfile(source, target)
        except FileNotFoundError:
            return (
                f"image {image.sha256} ({image.original_name}) is missing from MEDIA_ROOT "
                f"({source}); restore the file and export again"
            )
        return None

    def abort(self) -> None:
        """Stop after a failure; the caller removes the partial folder."""
        self.pool.shutdown(cancel_futures=True)
        for writer in self.lists.values():
            writer.out.handle.close()

    def close(self) -> None:
        try:
            self._place_pending(wait=True)
        finally:
            self.pool.shutdown()
        for writer in self.lists.values():
            writer.close()
