"""`manage.py import_batch` when MEDIA_ROOT cannot take the images: a full disk (a real
file size limit, RLIMIT_FSIZE, makes writes fail with EFBIG half-way through the copy) and
a MEDIA_ROOT that is not a folder. Either way: a non-zero exit, one clear line naming the
problem and the fix, and nothing imported, not a row and not a file."""

from __future__ import annotations

import io
import random
import resource
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from annotation.models import Batch
from tests.factories.batches import database_state, media_state, write_batch
from tests.faults.processes import REPO_ROOT
from tests.services import child_env

pytestmark = pytest.mark.django_db(transaction=True)  # the command commits, or not

FILE_SIZE_LIMIT = 16 * 1024  # bytes per file: the small images fit, the last one does not


def batch_with_a_big_last_image(folder: Path) -> Path:
    write_batch(folder, groups=6, seed=11)
    rng = random.Random(3)
    noise = Image.frombytes("RGB", (128, 128), rng.randbytes(128 * 128 * 3))
    buffer = io.BytesIO()
    noise.save(buffer, "PNG")
    assert len(buffer.getvalue()) > FILE_SIZE_LIMIT
    (folder / "img" / "0005-1.png").write_bytes(buffer.getvalue())
    return folder


def limit_file_size() -> None:
    """In the child: files may not grow past FILE_SIZE_LIMIT; a write beyond fails (EFBIG)
    instead of killing the process with SIGXFSZ."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT, FILE_SIZE_LIMIT))


def import_batch(
    folder: Path, media_root: Path, preexec: Callable[[], None] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", "import_batch", str(folder), "--project", "full-disk"],
        cwd=REPO_ROOT,
        env=child_env(MEDIA_ROOT=str(media_root)),
        preexec_fn=preexec,
        capture_output=True,
        text=True,
        timeout=120,
    )


def last_line(stderr: str) -> str:
    return [line for line in stderr.splitlines() if line.strip()][-1]


def test_a_disk_that_fills_up_half_way_through_the_copy_imports_nothing(
    tmp_path: Path, media_root: Path
) -> None:
    folder = batch_with_a_big_last_image(tmp_path / "batch")
    before = database_state()

    result = import_batch(folder, media_root, limit_file_size)

    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    line = last_line(result.stderr)
    assert line.startswith("CommandError: could not write ")
    assert "(File too large)" in line
    assert f"the disk holding MEDIA_ROOT ({media_root}) is full" in line
    assert line.endswith("free disk space, then import again. Nothing was imported.")
    assert database_state() == before
    assert media_state(media_root) == []  # the images written before the failure are gone

    # With the space back, the same batch imports whole.
    result = import_batch(folder, media_root)
    assert result.returncode == 0, result.stderr
    assert Batch.objects.get().image_count == 12
    assert len([path for path in media_root.rglob("*.png")]) == 12


def test_a_media_root_that_is_not_a_folder_imports_nothing(
    tmp_path: Path, media_root: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("in the way")  # a path under a regular file: unwritable, even as root
    folder = write_batch(tmp_path / "batch", groups=3, seed=12)
    before = database_state()

    result = import_batch(folder, blocker / "media")

    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    line = last_line(result.stderr)
    assert line.startswith(f"CommandError: could not write {blocker}/media/images/")
    assert f"MEDIA_ROOT ({blocker}/media) is not a writable folder" in line
    assert "fix the path or the permissions of MEDIA_ROOT" in line
    assert line.endswith("Nothing was imported.")
    assert database_state() == before
    assert blocker.read_text() == "in the way"
