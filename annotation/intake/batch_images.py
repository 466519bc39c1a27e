"""Reading and checking every image of a batch, using all cores.

Members are read in order by the calling thread (archives are read sequentially) and
decoded by worker threads: Pillow and hashlib release the GIL while they work, so
decoding scales with cores. At most `window` decoded-or-pending images are held at
once, so memory stays bounded whatever the batch size.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from annotation.intake.batch_source import BatchSource, MemberTooLarge, read_capped
from annotation.intake.image_checks import ImageFacts, ImageRejected, inspect_image
from annotation.intake.problems import Problem
from core.progress import Progress


@dataclass(frozen=True)
class CheckedImage:
    member: str
    data: bytes
    outcome: ImageFacts | Problem


def _check(member: str, data: bytes, max_pixels: int) -> ImageFacts | Problem:
    try:
        return inspect_image(data, max_pixels)
    except ImageRejected as exc:
        return Problem(member, str(exc))


def check_images(
    source: BatchSource,
    members: Iterable[str],
    *,
    max_bytes: int,
    max_pixels: int,
    workers: int,
    progress: Progress,
) -> Iterator[CheckedImage]:
    """Yield every member with its facts or its problem, in the order given."""
    window = max(1, workers) * 4
    pending: deque[tuple[str, bytes, Future[ImageFacts | Problem] | Problem]] = deque()
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="import") as pool:
        for member in members:
            data = b""
            outcome: Future[ImageFacts | Problem] | Problem
            try:
                with source.open_member(member) as stream:
                    data = read_capped(stream, max_bytes)
                outcome = pool.submit(_check, member, data, max_pixels)
            except MemberTooLarge:
                outcome = Problem(member, f"is over the per-file limit of {max_bytes} bytes")
            except Exception as exc:  # a damaged archive member: report it, never hide it
                outcome = Problem(member, f"could not be read ({exc}); re-create the batch")
            pending.append((member, data, outcome))
            if len(pending) >= window:
                yield _settle(pending.popleft(), progress)
        while pending:
            yield _settle(pending.popleft(), progress)


def _settle(
    entry: tuple[str, bytes, Future[ImageFacts | Problem] | Problem], progress: Progress
) -> CheckedImage:
    member, data, outcome = entry
    result = outcome if isinstance(outcome, Problem) else outcome.result()
    progress.advance()
    return CheckedImage(member=member, data=data, outcome=result)
