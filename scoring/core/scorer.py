"""Batched HPS scoring: each prompt encoded once, images decoded in parallel threads.

The score of an image for a prompt is the raw cosine similarity of their normalised
embeddings, `image_features @ text_features.T` taken on the diagonal, exactly what the
official `hpsv2.img_score.score` returns (no logit scale, no factor 100; benchmark tables
multiply by 100 themselves).
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import torch

from scoring.core.images import RELEASE_ANTIALIAS, ImageSource, preprocess_image, source_name
from scoring.core.loading import HpsModel
from scoring.errors import BrokenImageError


@dataclass(frozen=True)
class BrokenImage:
    """An image that was skipped because it could not be decoded."""

    index: int
    name: str
    reason: str


@dataclass
class ScoreResult:
    """Scores aligned with the input images; None where an image was skipped as broken."""

    prompt: str
    scores: list[float | None]
    broken: list[BrokenImage] = field(default_factory=list)


# --precision: what the forward pass runs in on a GPU. The release scores under fp16
# autocast (torch.cuda.amp.autocast's default); fp32 gives exact ties; bf16 autocast.
PRECISIONS = ("fp32", "fp16", "bf16")
DEFAULT_PRECISION = "fp16"
_AUTOCAST_DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16}


def effective_precision(precision: str, device: torch.device | str) -> str:
    """What actually runs: the asked precision on CUDA, fp32 on any other device (the
    release's autocast is CUDA-only, and so is ours)."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    return precision if torch.device(device).type == "cuda" else "fp32"


def default_workers() -> int:
    return max(1, min(8, os.cpu_count() or 1))


class Scorer:
    """Keeps one model loaded and scores (prompt, images) groups in batches.

    Images are decoded and preprocessed by `workers` threads (Pillow and torchvision
    release the GIL) while the model runs; at most two batches are decoded ahead. On
    CUDA the forward pass runs under `precision` autocast (fp16, the release's, unless
    told; fp32 runs without autocast), on CPU always in fp32 (`self.precision` says what
    runs). `antialias` is the preprocessing's resize (scoring/core/images.py). With
    `bf16_image_tower`, the image tower's weights are converted to bf16 (in place, on the
    loaded model) and it runs in plain bf16 without autocast: no per-op casts, for GPU
    throughput; scores then differ from the fp32 ones by bf16 rounding (about 1e-3).
    """

    def __init__(
        self,
        hps: HpsModel,
        *,
        batch_size: int = 64,
        workers: int | None = None,
        compile: bool = False,
        channels_last: bool | None = None,
        bf16_image_tower: bool = False,
        precision: str = DEFAULT_PRECISION,
        antialias: bool = RELEASE_ANTIALIAS,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.hps = hps
        self.precision = effective_precision(precision, hps.device)
        self.antialias = antialias
        self.batch_size = batch_size
        self.workers = workers or default_workers()
        self.channels_last = hps.device.type == "cuda" if channels_last is None else channels_last
        model: Any = hps.model
        self.image_dtype: torch.dtype | None = None
        if bf16_image_tower:
            model.visual.to(dtype=torch.bfloat16)
            self.image_dtype = torch.bfloat16
        if self.channels_last:
            model.visual.to(memory_format=torch.channels_last)
        self._encode_image: Callable[[torch.Tensor], torch.Tensor] = model.encode_image
        self._encode_text: Callable[[torch.Tensor], torch.Tensor] = model.encode_text
        if compile:
            self._encode_image = torch.compile(model.encode_image)

    def _autocast(self) -> AbstractContextManager[Any]:
        dtype = _AUTOCAST_DTYPES.get(self.precision)
        if dtype is not None:  # only ever set on CUDA (effective_precision)
            return torch.autocast(device_type="cuda", dtype=dtype)
        return nullcontext()

    @torch.inference_mode()
    def encode_prompts(self, prompts: Sequence[str]) -> torch.Tensor:
        """Normalised text embeddings, (len(prompts), embed_dim) float32."""
        tokens = self.hps.tokenizer(list(prompts)).to(self.hps.device)
        with self._autocast():
            features = self._encode_text(tokens)
        return torch.nn.functional.normalize(features.float(), dim=-1)

    @torch.inference_mode()
    def score_pixels(self, pixels: torch.Tensor, text_features: torch.Tensor) -> torch.Tensor:
        """Cosine of each preprocessed image (B, 3, H, W) with its prompt's embedding.

        `text_features` is (embed_dim,) for one prompt or (B, embed_dim), one per image.
        """
        pixels = pixels.to(self.hps.device, non_blocking=True)
        if self.channels_last:
            pixels = pixels.contiguous(memory_format=torch.channels_last)
        if self.image_dtype is not None:
            features = self._encode_image(pixels.to(self.image_dtype))
        else:
            with self._autocast():
                features = self._encode_image(pixels)
        image_features = torch.nn.functional.normalize(features.float(), dim=-1)
        if text_features.ndim == 1:
            return image_features @ text_features
        return (image_features * text_features).sum(dim=-1)

    def score(
        self, prompt: str, images: Sequence[ImageSource], *, skip_broken: bool = False
    ) -> ScoreResult:
        """Score images for one prompt (see score_groups)."""
        return self.score_groups([(prompt, images)], skip_broken=skip_broken)[0]

    def score_groups(
        self,
        groups: Sequence[tuple[str, Sequence[ImageSource]]],
        *,
        skip_broken: bool = False,
        progress: Callable[[int], None] | None = None,
    ) -> list[ScoreResult]:
        """Score many (prompt, images) groups; images of different groups share batches.

        A broken image raises BrokenImageError naming it, unless `skip_broken`: then its
        score is None and it is listed in its group's `broken`. `progress` is called with
        the number of images finished after each batch.
        """
        prompts = list(dict.fromkeys(prompt for prompt, _ in groups))
        text_features = self.encode_prompts(prompts) if prompts else torch.empty(0)
        prompt_row = {prompt: row for row, prompt in enumerate(prompts)}
        results = [
            ScoreResult(prompt=prompt, scores=[None] * len(images)) for prompt, images in groups
        ]
        items = [
            (group, index, image)
            for group, (_, images) in enumerate(groups)
            for index, image in enumerate(images)
        ]
        for batch in self._decoded_batches(items, skip_broken, results):
            if not batch:
                continue
            pixels = torch.stack([tensor for _, _, tensor in batch])
            if self.hps.device.type == "cuda":
                pixels = pixels.pin_memory()  # lets the copy to the GPU run asynchronously
            rows = torch.tensor([prompt_row[groups[group][0]] for group, _, _ in batch])
            scores = self.score_pixels(pixels, text_features[rows.to(text_features.device)])
            for (group, index, _), value in zip(batch, scores.tolist(), strict=True):
                results[group].scores[index] = float(value)
            if progress is not None:
                progress(len(batch))
        return results

    def _decoded_batches(
        self,
        items: list[tuple[int, int, ImageSource]],
        skip_broken: bool,
        results: list[ScoreResult],
    ) -> Iterator[list[tuple[int, int, torch.Tensor]]]:
        hps = self.hps
        antialias = self.antialias

        def decode(item: tuple[int, int, ImageSource]) -> torch.Tensor:
            _, index, image = item
            return preprocess_image(
                image,
                source_name(image, index),
                hps.image_size,
                hps.mean,
                hps.std,
                antialias=antialias,
            )

        window = 2 * self.batch_size
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="hps-decode") as pool:
            pending: deque[tuple[tuple[int, int, ImageSource], Future[torch.Tensor]]] = deque()
            position = 0
            batch: list[tuple[int, int, torch.Tensor]] = []
            try:
                while position < len(items) or pending:
                    while position < len(items) and len(pending) < window:
                        pending.append((items[position], pool.submit(decode, items[position])))
                        position += 1
                    item, future = pending.popleft()
                    group, index, _ = item
                    try:
                        batch.append((group, index, future.result()))
                    except BrokenImageError as exc:
                        if not skip_broken:
                            raise
                        results[group].broken.append(BrokenImage(index, exc.name, exc.reason))
                    if len(batch) == self.batch_size:
                        yield batch
                        batch = []
                if batch:
                    yield batch
            finally:
                for _, future in pending:
                    future.cancel()
