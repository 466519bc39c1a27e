"""Batched scoring: the same numbers whatever the batching, prompts encoded once, broken
images named or reported."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image

from scoring.core import BrokenImage, BrokenImageError, Scorer, load_model
from scoring.core.images import preprocess_image
from tests.scoring.helpers import write_images, write_tiny_model


@pytest.fixture
def tiny(tmp_path: Path) -> tuple[Path, Path]:
    return write_tiny_model(tmp_path / "model")


def test_score_is_the_raw_cosine_of_the_two_embeddings(
    tiny: tuple[Path, Path], tmp_path: Path
) -> None:
    hps = load_model(str(tiny[0]), tiny[1])
    images = write_images(tmp_path / "img", [(90, 70), (64, 64), (30, 120)])
    model = hps.model
    with torch.no_grad():
        pixels = torch.stack([preprocess_image(p, str(p), 64, hps.mean, hps.std) for p in images])
        image_features = model.encode_image(pixels, normalize=True)  # type: ignore[operator]
        text_features = model.encode_text(hps.tokenizer(["a fox"]), normalize=True)  # type: ignore[operator]
        expected = (image_features @ text_features.T)[:, 0]

    result = Scorer(hps).score("a fox", images)

    assert result.scores == pytest.approx(expected.tolist(), abs=1e-6)
    assert all(-1.0 <= score <= 1.0 for score in result.scores if score is not None)


def test_batch_size_and_worker_count_do_not_change_scores(
    tiny: tuple[Path, Path], tmp_path: Path
) -> None:
    hps = load_model(str(tiny[0]), tiny[1])
    images = write_images(tmp_path / "img", [(50 + 7 * i, 80 - 3 * i) for i in range(7)])
    one = Scorer(hps, batch_size=1, workers=1).score("a fox", images).scores
    many = Scorer(hps, batch_size=3, workers=4).score("a fox", images).scores
    assert many == pytest.approx(one, abs=1e-5)
    assert len(set(one)) == len(images)


def test_bf16_image_tower_scores_close_to_fp32(tiny: tuple[Path, Path], tmp_path: Path) -> None:
    images = write_images(tmp_path / "img", [(50 + 7 * i, 80 - 3 * i) for i in range(5)])
    exact = Scorer(load_model(str(tiny[0]), tiny[1])).score("a fox", images).scores
    hps = load_model(str(tiny[0]), tiny[1])
    fast = Scorer(hps, bf16_image_tower=True).score("a fox", images).scores

    assert next(hps.model.visual.parameters()).dtype == torch.bfloat16  # type: ignore[union-attr]
    assert fast == pytest.approx(exact, abs=2e-2)
    assert fast != pytest.approx(exact, abs=1e-7)  # it did run in bf16


def test_groups_each_prompt_encoded_once_and_scored_with_its_own_prompt(
    tiny: tuple[Path, Path], tmp_path: Path
) -> None:
    hps = load_model(str(tiny[0]), tiny[1])
    images = write_images(tmp_path / "img", [(60, 60)] * 5, seed=9)
    scorer = Scorer(hps, batch_size=4)
    encoded: list[int] = []
    original = scorer._encode_text

    def counting(tokens: torch.Tensor) -> torch.Tensor:
        encoded.append(tokens.shape[0])
        return original(tokens)

    scorer._encode_text = counting
    groups = [("a fox", images[:2]), ("a cat", images[2:]), ("a fox", images[4:])]

    results = scorer.score_groups(groups)

    assert encoded == [2]  # one call, the two distinct prompts
    separately = Scorer(hps)
    assert results[0].scores == pytest.approx(
        separately.score("a fox", images[:2]).scores, abs=1e-5
    )
    assert results[1].scores == pytest.approx(
        separately.score("a cat", images[2:]).scores, abs=1e-5
    )
    assert results[2].scores == pytest.approx(
        separately.score("a fox", images[4:]).scores, abs=1e-5
    )
    assert results[1].prompt == "a cat"


def test_a_broken_image_is_an_error_naming_the_file(
    tiny: tuple[Path, Path], tmp_path: Path
) -> None:
    images = write_images(tmp_path / "img", [(60, 60), (60, 60)])
    truncated = tmp_path / "img" / "truncated.png"
    truncated.write_bytes(images[0].read_bytes()[:100])
    with pytest.raises(
        BrokenImageError, match=r"truncated\.png: cannot be decoded .*--skip-broken"
    ):
        Scorer(load_model(str(tiny[0]), tiny[1])).score("a fox", [images[0], truncated, images[1]])


def test_skip_broken_reports_each_skipped_image_and_scores_the_rest(
    tiny: tuple[Path, Path], tmp_path: Path
) -> None:
    images = write_images(tmp_path / "img", [(60, 60), (70, 50)])
    text = tmp_path / "img" / "notes.png"
    text.write_text("this is not an image", encoding="utf-8")
    missing = tmp_path / "img" / "gone.png"
    scorer = Scorer(load_model(str(tiny[0]), tiny[1]), batch_size=2)

    result = scorer.score("a fox", [images[0], text, missing, images[1]], skip_broken=True)

    clean = scorer.score("a fox", images).scores
    assert result.scores[0] == pytest.approx(clean[0], abs=1e-6)
    assert result.scores[3] == pytest.approx(clean[1], abs=1e-6)
    assert result.scores[1] is None and result.scores[2] is None
    assert [(b.index, b.name) for b in result.broken] == [(1, str(text)), (2, str(missing))]
    assert all(isinstance(b, BrokenImage) and b.reason for b in result.broken)


def test_exif_orientation_is_applied(tiny: tuple[Path, Path], tmp_path: Path) -> None:
    (upright,) = write_images(tmp_path / "img", [(90, 40)])
    rotated = tmp_path / "rotated.jpg"
    stored = Image.open(upright).transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 clockwise to display": undoes the transpose above
    stored.save(rotated, quality=100, exif=exif)
    plain = tmp_path / "plain.jpg"
    Image.open(upright).save(plain, quality=100)
    scorer = Scorer(load_model(str(tiny[0]), tiny[1]))
    scores = scorer.score("a fox", [plain, rotated]).scores
    assert scores[0] == pytest.approx(scores[1], abs=2e-3)


def test_batch_size_must_be_positive(tiny: tuple[Path, Path]) -> None:
    with pytest.raises(ValueError, match="batch_size must be at least 1, got 0"):
        Scorer(load_model(str(tiny[0]), tiny[1]), batch_size=0)


def test_precision_is_fp32_on_a_cpu_and_a_wrong_one_is_refused() -> None:
    from scoring.cli import PRECISION_CHOICES
    from scoring.core.scorer import PRECISIONS, effective_precision

    assert PRECISION_CHOICES == PRECISIONS
    assert [effective_precision(p, "cpu") for p in PRECISIONS] == ["fp32"] * 3
    assert [effective_precision(p, "cuda:0") for p in PRECISIONS] == list(PRECISIONS)
    with pytest.raises(ValueError, match="precision must be one of fp32, fp16, bf16, got 'fp8'"):
        effective_precision("fp8", "cpu")
