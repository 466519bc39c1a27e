"""A snapshot as one .tar, streamed from disk a chunk at a time (never held in memory)."""

from __future__ import annotations

import tarfile
from collections.abc import Iterator
from pathlib import Path

CHUNK = 1 << 20
BLOCK = tarfile.BLOCKSIZE


def stream_tar(files: list[tuple[str, Path]], top: str) -> Iterator[bytes]:
    """The tar archive of `files` ((name in the archive, path on disk)) under `top/`.

    Headers carry no timestamps or owners, so the same files give the same archive.
    """
    for name, path in files:
        info = tarfile.TarInfo(f"{top}/{name}")
        info.size = path.stat().st_size
        info.mode = 0o644
        info.mtime = 0
        yield info.tobuf(format=tarfile.PAX_FORMAT)
        written = 0
        with open(path, "rb") as handle:
            while chunk := handle.read(CHUNK):
                written += len(chunk)
                yield chunk
        if written != info.size:
            raise OSError(f"{path} changed size while it was being sent")
        if written % BLOCK:
            yield b"\0" * (BLOCK - written % BLOCK)
    yield b"\0" * (2 * BLOCK)


def tar_size(files: list[tuple[str, Path]], top: str) -> int:
    """The exact length of stream_tar's output, for Content-Length."""
    total = 2 * BLOCK
    for name, path in files:
        info = tarfile.TarInfo(f"{top}/{name}")
        info.size = path.stat().st_size
        info.mode = 0o644
        info.mtime = 0
        total += len(info.tobuf(format=tarfile.PAX_FORMAT))
        total += -(-info.size // BLOCK) * BLOCK
    return total
