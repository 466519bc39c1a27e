"""manifest.json: every file of a snapshot with its size and sha256, and the writers
that record them while the files are written."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from types import TracebackType

MANIFEST_NAME = "manifest.json"


class FileRecord:
    """Sizes and sha256s of a snapshot's files, by path relative to the snapshot."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[int, str]] = {}

    def add(self, path: str, size: int, sha256: str) -> None:
        self.files[path] = (size, sha256)

    def add_file(self, root: Path, path: str) -> None:
        digest = hashlib.sha256()
        size = 0
        with open(root / path, "rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
                size += len(chunk)
        self.add(path, size, digest.hexdigest())


class HashingWriter:
    """A UTF-8 text file that records its size and sha256 in a FileRecord when closed.

    Text is gathered and written in blocks of about BLOCK characters.
    """

    BLOCK = 1 << 18

    def __init__(self, root: Path, path: str, record: FileRecord):
        self.path = path
        self.record = record
        self.digest = hashlib.sha256()
        self.size = 0
        self.parts: list[str] = []
        self.gathered = 0
        self.handle = open(root / path, "wb")  # noqa: SIM115 - closed in close()

    def write(self, text: str) -> None:
        self.parts.append(text)
        self.gathered += len(text)
        if self.gathered >= self.BLOCK:
            self._flush()

    def _flush(self) -> None:
        data = "".join(self.parts).encode("utf-8")
        self.parts = []
        self.gathered = 0
        self.digest.update(data)
        self.size += len(data)
        self.handle.write(data)

    def close(self) -> None:
        if not self.handle.closed:
            self._flush()
            self.handle.close()
            self.record.add(self.path, self.size, self.digest.hexdigest())

    def __enter__(self) -> HashingWriter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def write_manifest(root: Path, record: FileRecord) -> str:
    """Write manifest.json (files sorted by path), one entry at a time, and return its
    sha256: the snapshot's checksum."""
    out = HashingWriter(root, MANIFEST_NAME, FileRecord())
    out.write('{\n "files": [')
    for index, path in enumerate(sorted(record.files)):
        size, sha = record.files[path]
        # The same text json.dumps gives, written by hand: one line per file.
        out.write(
            ("\n  " if index == 0 else ",\n  ")
            + f'{{"path": {json.dumps(path, ensure_ascii=False)}, "sha256": "{sha}", '
            f'"size": {size}}}'
        )
    out.write("\n ]\n}\n")
    out.close()
    return out.digest.hexdigest()
