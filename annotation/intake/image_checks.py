"""Deciding whether a file is an image we can serve, and reading its facts."""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image as PILImage
from PIL import UnidentifiedImageError

# A decompression bomb is an error everywhere in this platform, never a warning that a
# log swallows. Set once for the process: warnings.catch_warnings is not thread-safe, and
# images are checked in worker threads.
warnings.filterwarnings("error", category=PILImage.DecompressionBombWarning)

# What every browser shows and every training loader reads.
ACCEPTED_FORMATS = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp"}
_EXIF_ORIENTATION = 0x0112
_ROTATED_ORIENTATIONS = {5, 6, 7, 8}


@dataclass(frozen=True)
class ImageFacts:
    sha256: str
    format: str
    extension: str
    width: int
    height: int
    exif_orientation: int
    byte_size: int


class ImageRejected(Exception):
    """The file is not an image we accept; the message says why and what to do."""


def inspect_image(data: bytes, max_pixels: int) -> ImageFacts:
    """Fully decode `data` and return its facts, or raise ImageRejected.

    Decoding the whole image (not just the header) is what catches truncated files.
    Pillow's decompression-bomb warning is an error here, and our own pixel limit,
    checked from the header before decoding, is stricter.
    """
    if not data:
        raise ImageRejected("is an empty (zero-byte) file; re-export the image")
    head = data[:512].lstrip().lower()
    if head.startswith((b"<?xml", b"<svg")) or b"<svg" in head:
        raise ImageRejected(
            "is an SVG drawing; only raster images are accepted (PNG, JPEG, WebP): convert it"
        )
    try:
        return _decode(data, max_pixels)
    except ImageRejected:
        raise
    except (PILImage.DecompressionBombError, PILImage.DecompressionBombWarning) as exc:
        raise ImageRejected(f"is a decompression bomb ({exc}); downscale it") from exc
    except UnidentifiedImageError as exc:
        raise ImageRejected(
            "is not an image (its content is not PNG, JPEG or WebP, whatever its name)"
        ) from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageRejected(f"is a truncated or corrupt image ({exc}); re-export it") from exc


def _decode(data: bytes, max_pixels: int) -> ImageFacts:
    with PILImage.open(io.BytesIO(data)) as probe:
        image_format = probe.format or "unknown"
        if image_format not in ACCEPTED_FORMATS:
            raise ImageRejected(
                f"is a {image_format} image; accepted formats are PNG, JPEG and WebP: convert it"
            )
        width, height = probe.size
        # Pillow's own threshold, checked here too: its warning is only an error while the
        # process-wide filter above is in force, and any library may reset filters.
        pillow_limit = PILImage.MAX_IMAGE_PIXELS
        if pillow_limit and width * height > pillow_limit:
            raise ImageRejected(
                f"is a decompression bomb (image size {width * height} pixels exceeds limit of "
                f"{pillow_limit} pixels); downscale it"
            )
        if width * height > max_pixels:
            raise ImageRejected(
                f"is {width}x{height} = {width * height} pixels, over the limit of "
                f"{max_pixels} (IMPORT_MAX_IMAGE_PIXELS); downscale it"
            )
        # verify() checks the container (chunk checksums); it leaves the image unusable.
        probe.verify()
    with PILImage.open(io.BytesIO(data)) as image:
        image.load()
        orientation = int(image.getexif().get(_EXIF_ORIENTATION, 1) or 1)
    if orientation not in range(1, 9):
        orientation = 1
    if orientation in _ROTATED_ORIENTATIONS:
        width, height = height, width
    return ImageFacts(
        sha256=hashlib.sha256(data).hexdigest(),
        format=image_format,
        extension=ACCEPTED_FORMATS[image_format],
        width=width,
        height=height,
        exif_orientation=orientation,
        byte_size=len(data),
    )
