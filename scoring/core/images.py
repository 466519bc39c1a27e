"""Decoding and preprocessing images exactly as the official HPS v2 scorer does.

The release's validation transform (`light_augmentation=True`) converts to RGB, turns
the image into a float tensor, resizes it with bicubic interpolation so its longest side
is the model's image size, pads the short side with black (half before, half after) and
applies the CLIP normalisation. `preprocess_image` reproduces those steps with the same
torchvision calls, so the pixels that reach the model are the official ones.

The resize of a tensor did not antialias in the torchvision the release was trained and
benchmarked with (before 0.17); since 0.17 it does by default, which changes every score
a little. `antialias` chooses; the default, RELEASE_ANTIALIAS (off), reproduces the
release's own numbers (docs/hpd_v2.md, "Preprocessing and precision"). Two
deliberate differences, both where the release fails or is wrong: the EXIF orientation is
applied (the platform stores uploaded bytes as they came), and an image whose longest side
already equals the image size is still padded to a square (the release skips the padding
then and its model rejects the non-square tensor). RGBA images lose their alpha channel
(the release passes four channels on, which its model cannot take).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import torch
from PIL import Image, ImageOps
from torchvision.transforms import InterpolationMode
from torchvision.transforms import functional as TF

from scoring.errors import BrokenImageError

ImageSource = str | os.PathLike[str] | Image.Image

# What torchvision's tensor resize did when HPS v2 was trained and benchmarked.
RELEASE_ANTIALIAS = False


def source_name(source: ImageSource, index: int) -> str:
    """How an image is named in errors and reports: its path, or its position."""
    if isinstance(source, Image.Image):
        filename = getattr(source, "filename", "")
        return str(filename) if filename else f"image #{index}"
    return os.fspath(source)


def decode_image(source: ImageSource, name: str) -> Image.Image:
    """Open and fully decode an image, upright (EXIF orientation applied), in RGB.

    Raises BrokenImageError naming the file if it is missing, truncated or not an image.
    """
    try:
        if isinstance(source, Image.Image):
            source.load()
            upright = ImageOps.exif_transpose(source)
        else:
            with Image.open(Path(os.fspath(source))) as opened:
                opened.load()
                upright = ImageOps.exif_transpose(opened)
        return upright.convert("RGB")
    except Exception as exc:  # any decoder failure means this file is broken: name it
        raise BrokenImageError(name, str(exc) or type(exc).__name__) from exc


def pixels_from_image(
    image: Image.Image,
    image_size: int,
    mean: Sequence[float],
    std: Sequence[float],
    *,
    antialias: bool = RELEASE_ANTIALIAS,
) -> torch.Tensor:
    """The official validation transform on a decoded RGB image: (3, size, size) float32."""
    tensor = TF.to_tensor(image)
    height, width = tensor.shape[1:]
    scale = image_size / float(max(height, width))
    if scale != 1.0:
        new_size = [round(height * scale), round(width * scale)]
        tensor = TF.resize(tensor, new_size, InterpolationMode.BICUBIC, antialias=antialias)
    pad_h = image_size - tensor.shape[1]
    pad_w = image_size - tensor.shape[2]
    if pad_h or pad_w:
        padding = [pad_w // 2, pad_h // 2, pad_w - pad_w // 2, pad_h - pad_h // 2]
        tensor = TF.pad(tensor, padding=padding, fill=0)
    normalized: torch.Tensor = TF.normalize(tensor, mean=list(mean), std=list(std))
    return normalized


def preprocess_image(
    source: ImageSource,
    name: str,
    image_size: int,
    mean: Sequence[float],
    std: Sequence[float],
    *,
    antialias: bool = RELEASE_ANTIALIAS,
) -> torch.Tensor:
    """Decode one image and return the model's input for it (raises BrokenImageError)."""
    image = decode_image(source, name)
    try:
        return pixels_from_image(image, image_size, mean, std, antialias=antialias)
    except (OSError, ValueError) as exc:
        raise BrokenImageError(name, str(exc) or type(exc).__name__) from exc
