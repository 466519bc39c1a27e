"""Our loader takes the official release's checkpoints and scores exactly as it does."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest
import torch
from PIL import Image

from scoring.core import Scorer, load_model
from scoring.core.loading import _build_network
from tests.official_hpsv2 import official
from tests.scoring.helpers import release_torchvision, write_images

PROMPT = "A cat with two horns on its head"


def official_model(architecture: str) -> tuple[Any, Any, Any]:
    open_clip = official("hpsv2.src.open_clip")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model, _, preprocess_val = open_clip.create_model_and_transforms(
            architecture,
            None,
            precision="amp",
            device="cpu",
            jit=False,
            force_quick_gelu=False,
            force_custom_text=False,
            force_patch_dropout=False,
            force_image_size=None,
            pretrained_image=False,
            image_mean=None,
            image_std=None,
            light_augmentation=True,
            aug_cfg={},
            output_dict=True,
            with_score_predictor=False,
            with_region_predictor=False,
        )
    return model, preprocess_val, open_clip.get_tokenizer(architecture)


def official_scores(
    architecture: str,
    checkpoint: Path,
    images: list[Path],
    prompt: str,
    *,
    antialias: bool = False,
) -> list[float]:
    """hpsv2.img_score.score's loop, line for line, on CPU (its autocast is CUDA-only),
    under the torchvision behaviour of the release's time (no antialias) unless told."""
    with release_torchvision(antialias):
        return _official_scores(architecture, checkpoint, images, prompt)


def _official_scores(
    architecture: str, checkpoint: Path, images: list[Path], prompt: str
) -> list[float]:
    model, preprocess_val, tokenizer = official_model(architecture)
    model.load_state_dict(torch.load(checkpoint, map_location="cpu")["state_dict"])
    model.eval()
    result = []
    for path in images:
        with torch.no_grad():
            image = preprocess_val(Image.open(path)).unsqueeze(0)
            text = tokenizer([prompt])
            outputs = model(image, text)
            image_features, text_features = outputs["image_features"], outputs["text_features"]
            logits_per_image = image_features @ text_features.T
            result.append(float(torch.diagonal(logits_per_image).numpy()[0]))
    return result


def test_scores_equal_the_official_scorer_on_its_own_checkpoint(tmp_path: Path) -> None:
    torch.manual_seed(1234)
    model, _, _ = official_model("ViT-S-32")
    checkpoint = tmp_path / "official.pt"
    torch.save({"state_dict": model.state_dict()}, checkpoint)
    # Landscape, portrait, larger than the model's size, smaller, and square.
    images = write_images(
        tmp_path / "img", [(300, 200), (128, 256), (640, 480), (100, 60), (512, 512)]
    )
    expected = official_scores("ViT-S-32", checkpoint, images, PROMPT)

    scorer = Scorer(load_model("ViT-S-32", checkpoint), batch_size=2)
    result = scorer.score(PROMPT, images)

    assert result.broken == []
    assert result.scores == pytest.approx(expected, abs=1e-5)
    # Random weights give distinct scores: the comparison above is not trivially equal.
    assert len({round(score, 6) for score in expected}) == len(expected)


@pytest.mark.parametrize("antialias", [False, True])
def test_both_antialias_settings_equal_the_release_transform_under_that_torchvision(
    tmp_path: Path, antialias: bool
) -> None:
    torch.manual_seed(99)
    model, _, _ = official_model("ViT-S-32")
    checkpoint = tmp_path / "official.pt"
    torch.save({"state_dict": model.state_dict()}, checkpoint)
    # Much larger than 224 px with fine noise: antialiasing changes these pixels most.
    images = write_images(tmp_path / "img", [(900, 600), (480, 1024)], seed=5)
    expected = official_scores("ViT-S-32", checkpoint, images, PROMPT, antialias=antialias)
    other = official_scores("ViT-S-32", checkpoint, images, PROMPT, antialias=not antialias)

    hps = load_model("ViT-S-32", checkpoint)
    result = Scorer(hps, antialias=antialias).score(PROMPT, images)

    assert result.scores == pytest.approx(expected, abs=1e-5)
    # The two settings really differ on such images, so the match above tells them apart.
    assert max(abs(a - b) for a, b in zip(expected, other, strict=True)) > 1e-4


def test_grayscale_and_palette_images_score_as_the_official_scorer(tmp_path: Path) -> None:
    torch.manual_seed(7)
    model, _, _ = official_model("ViT-S-32")
    checkpoint = tmp_path / "official.pt"
    torch.save({"state_dict": model.state_dict()}, checkpoint)
    (rgb,) = write_images(tmp_path / "img", [(200, 150)], seed=3)
    gray = tmp_path / "gray.png"
    Image.open(rgb).convert("L").save(gray)
    palette = tmp_path / "palette.png"
    Image.open(rgb).convert("P").save(palette)
    expected = official_scores("ViT-S-32", checkpoint, [gray, palette], "a dog")

    result = Scorer(load_model("ViT-S-32", checkpoint)).score("a dog", [gray, palette])

    assert result.scores == pytest.approx(expected, abs=1e-5)


def test_vit_h_14_state_dict_of_the_official_copy_has_exactly_our_keys_and_shapes() -> None:
    open_clip = official("hpsv2.src.open_clip")
    with torch.device("meta"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = open_clip.create_model("ViT-H-14", None, device="meta").state_dict()
        ours = _build_network("ViT-H-14")[0].state_dict()

    assert sorted(theirs) == sorted(ours)
    assert {key: tuple(value.shape) for key, value in theirs.items()} == {
        key: tuple(value.shape) for key, value in ours.items()
    }
    # The full ViT-H-14: 32 image blocks of width 1280, 24 text blocks of width 1024.
    assert tuple(ours["visual.transformer.resblocks.31.mlp.c_fc.weight"].shape) == (5120, 1280)
    assert tuple(ours["transformer.resblocks.23.attn.in_proj_weight"].shape) == (3072, 1024)
