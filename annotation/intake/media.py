"""Content-addressed image storage under MEDIA_ROOT, with undo for a failed import."""

from __future__ import annotations

import contextlib
import errno
import os
import uuid
from pathlib import Path

# Disk full, quota exceeded, file size limit (RLIMIT_FSIZE): more space is the fix.
_OUT_OF_SPACE = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


class StorageUnavailable(Exception):
    """MEDIA_ROOT could not be written (disk full, permissions). Nothing was kept."""


def media_path_for(sha256: str, extension: str) -> str:
    """Where an image lives under MEDIA_ROOT: two levels of fan-out by its hash."""
    return f"images/{sha256[:2]}/{sha256[2:4]}/{sha256}.{extension}"


class MediaWriter:
    """Writes files under a media root and can remove exactly what it created.

    A file already present under its content address is left alone (same name, same
    bytes); only files and folders this writer created are removed by `rollback()`.
    Writes go to a temporary name and are renamed into place, so a reader never sees
    half a file.

    With a `journal`, each file's name is appended to it (and flushed) before the file is
    written, so the files of an import whose process was killed, which `rollback()` never
    removed, can be removed later (`remove_journalled`).
    """

    def __init__(self, root: Path, journal: Path | None = None):
        self.root = root
        self.journal = journal
        self.created_files: list[Path] = []
        self.created_dirs: list[Path] = []

    def store(self, relative: str, data: bytes) -> None:
        target = self.root / relative
        if target.exists():
            return
        try:
            if self.journal is not None:
                with open(self.journal, "a", encoding="utf-8") as journal:
                    journal.write(relative + "\n")
            self._make_parents(target.parent)
            temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
            try:
                with open(temporary, "wb") as handle:
                    handle.write(data)
                os.replace(temporary, target)
            finally:
                temporary.unlink(missing_ok=True)
        except OSError as exc:
            raise StorageUnavailable(
                f"could not write {target} ({exc.strerror or exc}); {self._fix_for(exc)}"
            ) from exc
        self.created_files.append(target)

    def _fix_for(self, error: OSError) -> str:
        if error.errno in _OUT_OF_SPACE:
            return (
                f"the disk holding MEDIA_ROOT ({self.root}) is full or a file size limit was "
                "reached; free disk space, then import again"
            )
        return (
            f"MEDIA_ROOT ({self.root}) is not a writable folder; fix the path or the "
            "permissions of MEDIA_ROOT, then import again"
        )

    def _make_parents(self, folder: Path) -> None:
        missing: list[Path] = []
        while not folder.exists():
            missing.append(folder)
            folder = folder.parent
        for path in reversed(missing):
            path.mkdir()
            self.created_dirs.append(path)

    def rollback(self) -> None:
        for path in self.created_files:
            path.unlink(missing_ok=True)
        for path in reversed(self.created_dirs):
            # Not empty: another project's import shares this fan-out folder.
            with contextlib.suppress(OSError):
                path.rmdir()
        self.created_files.clear()
        self.created_dirs.clear()


def journalled(journal: Path) -> list[str]:
    """The files (relative to the media root) a MediaWriter's journal names, in order."""
    try:
        text = journal.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    return list(dict.fromkeys(line for line in text.splitlines() if line))


def remove_journalled(root: Path, relatives: list[str]) -> None:
    """Remove these files under `root`, the half-written temporary files beside them and
    the fan-out folders they leave empty (what a killed MediaWriter left behind)."""
    for relative in relatives:
        target = root / relative
        target.unlink(missing_ok=True)
        for leftover in target.parent.glob(f".{target.name}.*.tmp"):
            leftover.unlink(missing_ok=True)
        folder = target.parent
        while folder != root and root in folder.parents:
            try:
                folder.rmdir()
            except OSError:
                break
            folder = folder.parent
