"""Reading an upload (a .zip or a folder) safely, before anything is trusted.

A source lists its regular files by relative POSIX path and reads them with a size cap.
Everything unsafe about the container itself (zip-slip paths, symlinks, zip bombs,
too many files) is reported as a Problem; such members are never read.
"""

from __future__ import annotations

import os
import re
import stat
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from annotation.intake.problems import Problem

MANIFEST_NAME = "manifest.jsonl"
# Written by operating systems when zipping, never part of a batch.
IGNORED_BASENAMES = {".DS_Store", "Thumbs.db", "desktop.ini"}
IGNORED_PREFIXES = ("__MACOSX/",)
_ZIP_SYMLINK = 0o120000
_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass(frozen=True)
class SourceLimits:
    """Limits on what an upload may expand to (settings IMPORT_MAX_*)."""

    max_archive_bytes: int
    max_uncompressed_bytes: int
    max_files: int
    max_compression_ratio: int
    max_member_bytes: int


class BatchSource(Protocol):
    name: str
    members: dict[str, int]
    problems: list[Problem]

    def open_member(self, member: str) -> BinaryIO: ...

    def close(self) -> None: ...


class MemberTooLarge(Exception):
    """A member produced more bytes than allowed while being read."""


def read_capped(stream: BinaryIO, cap: int) -> bytes:
    """Read a whole stream, failing once it passes `cap` bytes (headers can lie)."""
    data = stream.read(cap + 1)
    if len(data) > cap:
        raise MemberTooLarge(f"larger than {cap} bytes")
    return data


def is_ignored(member: str) -> bool:
    return member.startswith(IGNORED_PREFIXES) or member.rsplit("/", 1)[-1] in IGNORED_BASENAMES


def unsafe_path_reason(name: str) -> str | None:
    """Why a member path could escape the batch folder, or None when it is safe."""
    if name.startswith(("/", "\\")) or _WINDOWS_DRIVE.match(name):
        return "is an absolute path; archive members must be relative to the archive root"
    if ".." in re.split(r"[/\\]", name):
        return "contains '..'; archive members must stay inside the archive root"
    if "\x00" in name:
        return "contains a NUL character"
    return None


class ZipSource:
    """A .zip upload, inspected from its central directory and read member by member."""

    def __init__(self, path: Path, limits: SourceLimits):
        self.name = path.name
        self.members: dict[str, int] = {}
        self.problems: list[Problem] = []
        self._zip: zipfile.ZipFile | None = None
        size = path.stat().st_size
        if size > limits.max_archive_bytes:
            self.problems.append(
                Problem(
                    self.name,
                    f"the archive is {size} bytes, over the limit of {limits.max_archive_bytes} "
                    "(IMPORT_MAX_ARCHIVE_BYTES); split it into several batches",
                )
            )
            return
        try:
            self._zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as exc:
            self.problems.append(
                Problem(self.name, f"is not a readable .zip archive ({exc}); re-create the archive")
            )
            return
        self._inspect(self._zip.infolist(), limits)

    def _inspect(self, infos: list[zipfile.ZipInfo], limits: SourceLimits) -> None:
        files = [info for info in infos if not info.is_dir()]
        if len(files) > limits.max_files:
            self.problems.append(
                Problem(
                    self.name,
                    f"holds {len(files)} files, over the limit of {limits.max_files} "
                    "(IMPORT_MAX_FILES); split it into several batches",
                )
            )
            return
        declared_total = sum(info.file_size for info in files)
        if declared_total > limits.max_uncompressed_bytes:
            self.problems.append(
                Problem(
                    self.name,
                    f"expands to {declared_total} bytes, over the limit of "
                    f"{limits.max_uncompressed_bytes} (IMPORT_MAX_UNCOMPRESSED_BYTES); "
                    "split it into several batches",
                )
            )
            return
        for info in files:
            where = info.filename
            reason = unsafe_path_reason(info.filename)
            if reason:
                self.problems.append(Problem(where, f"archive member {reason}"))
                continue
            name = info.filename.replace("\\", "/")
            if is_ignored(name):
                continue
            if (info.external_attr >> 16) & 0o170000 == _ZIP_SYMLINK:
                self.problems.append(
                    Problem(where, "is a symbolic link; put the file itself in the archive")
                )
                continue
            if info.flag_bits & 0x1:
                self.problems.append(
                    Problem(where, "is encrypted; upload an archive without a password")
                )
                continue
            if info.file_size > limits.max_member_bytes:
                self.problems.append(
                    Problem(
                        where,
                        f"is {info.file_size} bytes, over the per-file limit of "
                        f"{limits.max_member_bytes} (IMPORT_MAX_IMAGE_BYTES)",
                    )
                )
                continue
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size > 1024 * 1024 and ratio > limits.max_compression_ratio:
                self.problems.append(
                    Problem(
                        where,
                        f"expands {ratio:.0f}x ({info.compress_size} -> {info.file_size} bytes), "
                        f"over the limit of {limits.max_compression_ratio}x "
                        "(IMPORT_MAX_COMPRESSION_RATIO): this looks like a zip bomb",
                    )
                )
                continue
            if name in self.members:
                self.problems.append(Problem(where, "appears twice in the archive; keep one copy"))
                continue
            self.members[name] = info.file_size

    def open_member(self, member: str) -> BinaryIO:
        assert self._zip is not None
        return self._zip.open(self._member_info(member))  # type: ignore[return-value]

    def _member_info(self, member: str) -> zipfile.ZipInfo:
        assert self._zip is not None
        try:
            return self._zip.getinfo(member)
        except KeyError:
            return self._zip.getinfo(member.replace("/", "\\"))

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()


class FolderSource:
    """A folder on the server's disk (the CLI's PATH). Symlinks are refused, never followed."""

    def __init__(self, path: Path, limits: SourceLimits):
        self.name = path.name
        self.root = path
        self.members: dict[str, int] = {}
        self.problems: list[Problem] = []
        total = 0
        for relative, info in self._walk():
            if is_ignored(relative):
                continue
            if stat.S_ISLNK(info.st_mode):
                self.problems.append(
                    Problem(relative, "is a symbolic link; copy the file itself into the batch")
                )
                continue
            if not stat.S_ISREG(info.st_mode):
                self.problems.append(Problem(relative, "is not a regular file"))
                continue
            if info.st_size > limits.max_member_bytes:
                self.problems.append(
                    Problem(
                        relative,
                        f"is {info.st_size} bytes, over the per-file limit of "
                        f"{limits.max_member_bytes} (IMPORT_MAX_IMAGE_BYTES)",
                    )
                )
                continue
            total += info.st_size
            self.members[relative] = info.st_size
            if len(self.members) > limits.max_files:
                self.problems.append(
                    Problem(
                        self.name,
                        f"holds more than {limits.max_files} files (IMPORT_MAX_FILES); "
                        "split it into several batches",
                    )
                )
                self.members.clear()
                return
        if total > limits.max_uncompressed_bytes:
            self.problems.append(
                Problem(
                    self.name,
                    f"holds {total} bytes, over the limit of {limits.max_uncompressed_bytes} "
                    "(IMPORT_MAX_UNCOMPRESSED_BYTES); split it into several batches",
                )
            )
            self.members.clear()

    def _walk(self) -> Iterator[tuple[str, os.stat_result]]:
        stack = [self.root]
        while stack:
            folder = stack.pop()
            with os.scandir(folder) as entries:
                for entry in entries:
                    relative = Path(entry.path).relative_to(self.root).as_posix()
                    info = entry.stat(follow_symlinks=False)
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(Path(entry.path))
                    else:
                        yield relative, info

    def open_member(self, member: str) -> BinaryIO:
        # O_NOFOLLOW: a file swapped for a symlink after inspection is still refused.
        fd = os.open(self.root / member, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        return os.fdopen(fd, "rb")

    def close(self) -> None:
        pass


def open_batch_source(path: Path, limits: SourceLimits) -> BatchSource:
    """Open PATH as a folder or a .zip archive; problems are on the returned source."""
    if path.is_symlink():
        path = path.resolve()
    if path.is_dir():
        return FolderSource(path, limits)
    return ZipSource(path, limits)
