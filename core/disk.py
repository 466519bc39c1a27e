"""Disk space: the free space where a folder is (or would be), and sizes in words."""

from __future__ import annotations

import shutil
from pathlib import Path


def free_bytes(folder: Path) -> int:
    """Free bytes on the filesystem that holds `folder`, or would hold it: its nearest
    existing ancestor is measured when it does not exist yet."""
    probe = folder.resolve()
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return shutil.disk_usage(probe).free


def format_bytes(count: int) -> str:
    """`count` bytes in words: 0 B, 512 B, 3.4 KiB, 1.2 GiB, ..."""
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def tree_bytes(path: Path) -> int:
    """The bytes of the files under `path` (a file's own size; 0 when it is missing)."""
    if path.is_file():
        return path.stat().st_size
    return sum(item.stat().st_size for item in path.rglob("*") if item.is_file())
