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
    """A UTF-8 text file that records its size and sha256 in a FileRecord when closed."""

    def __init__(self, root: Path, path: str, record: FileRecord):
        self.path = path
        self.record = record
        self.digest = hashlib.sha256()
        self.size = 0
        self.handle = open(root / path, "wb")  # noqa: SIM115 - closed in close()

    def write(self, text: str) -> None:
        data = text.encode("utf-8")
        self.digest.update(data)
        self.size += len(data)
        self.handle.write(data)

    def close(self) -> None:
        if not self.handle.closed:
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
    """Write manifest.json (files sorted by path) and return its sha256: the checksum."""
    entries = [
        {"path": path, "sha256": sha, "size": size}
        for path, (size, sha) in sorted(record.files.items())
    ]
    data = (json.dumps({"files": entries}, indent=1, sort_keys=True) + "\n").encode("utf-8")
    (root / MANIFEST_NAME).write_bytes(data)
    return hashlib.sha256(data).hexdigest()
