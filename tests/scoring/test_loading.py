"""Loading refuses anything doubtful, with a message that says what to do."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from scoring.core import ModelLoadError, Scorer, load_model
from tests.scoring.helpers import TINY_CONFIG, write_images, write_tiny_model


def test_official_format_bare_state_dict_and_ddp_prefix_give_the_same_scores(
    tmp_path: Path,
) -> None:
    config, checkpoint = write_tiny_model(tmp_path)
    state = torch.load(checkpoint)["state_dict"]
    bare = tmp_path / "bare.pt"
    torch.save(state, bare)
    ddp = tmp_path / "ddp.pt"
    torch.save({"state_dict": {f"module.{key}": value for key, value in state.items()}}, ddp)
    images = write_images(tmp_path / "img", [(80, 60), (40, 90)])

    scores = [
        Scorer(load_model(str(config), path)).score("a fox", images).scores
        for path in (checkpoint, bare, ddp)
    ]

    assert scores[0] == scores[1] == scores[2]
    assert scores[0][0] != scores[0][1]


def test_the_loaded_weights_are_the_checkpoints(tmp_path: Path) -> None:
    config, checkpoint = write_tiny_model(tmp_path, seed=5)
    hps = load_model(str(config), checkpoint)
    saved = torch.load(checkpoint)["state_dict"]
    for key, value in hps.model.state_dict().items():
        assert torch.equal(value, saved[key]), key
    assert hps.architecture == "tiny-clip"
    assert hps.image_size == 64


def test_missing_checkpoint_is_named(tmp_path: Path) -> None:
    config, _ = write_tiny_model(tmp_path)
    with pytest.raises(ModelLoadError, match=r"nope\.pt: checkpoint file not found"):
        load_model(str(config), tmp_path / "nope.pt")


def test_unknown_architecture_is_refused() -> None:
    with pytest.raises(ModelLoadError, match=r"unknown architecture 'ViT-Q-99'.*ViT-H-14"):
        load_model("ViT-Q-99", "whatever.pt")


def test_missing_config_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match=r"absent\.json: model-config file not found"):
        load_model(str(tmp_path / "absent.json"), tmp_path / "x.pt")


def test_config_file_without_towers_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "bad.json"
    config.write_text(json.dumps({"embed_dim": 8}), encoding="utf-8")
    with pytest.raises(ModelLoadError, match=r"missing: vision_cfg, text_cfg"):
        load_model(str(config), tmp_path / "x.pt")


def test_checkpoint_of_another_architecture_is_refused_with_the_mismatch(tmp_path: Path) -> None:
    _, checkpoint = write_tiny_model(tmp_path)
    wider = dict(TINY_CONFIG, embed_dim=48)
    other = tmp_path / "other.json"
    other.write_text(json.dumps(wider), encoding="utf-8")
    with pytest.raises(
        ModelLoadError, match=r"does not fit architecture other: .*shape mismatch.*--model"
    ):
        load_model(str(other), checkpoint)


def test_missing_and_unexpected_keys_are_listed(tmp_path: Path) -> None:
    config, checkpoint = write_tiny_model(tmp_path)
    state = torch.load(checkpoint)["state_dict"]
    del state["ln_final.weight"]
    state["extra.head"] = torch.zeros(1)
    broken = tmp_path / "broken.pt"
    torch.save({"state_dict": state}, broken)
    with pytest.raises(ModelLoadError) as caught:
        load_model(str(config), broken)
    assert "1 missing key(s), e.g. ln_final.weight" in str(caught.value)
    assert "1 unexpected key(s), e.g. extra.head" in str(caught.value)


def test_a_file_that_is_not_a_checkpoint_is_refused(tmp_path: Path) -> None:
    config, _ = write_tiny_model(tmp_path)
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(ModelLoadError, match=r"junk\.pt: not a readable torch checkpoint"):
        load_model(str(config), junk)
    listing = tmp_path / "list.pt"
    torch.save([1, 2, 3], listing)
    with pytest.raises(
        ModelLoadError, match=r"neither a state dict nor a dict with a 'state_dict'"
    ):
        load_model(str(config), listing)


def test_no_weights_means_an_error_not_a_random_model(tmp_path: Path) -> None:
    config, checkpoint = write_tiny_model(tmp_path)
    with pytest.raises(ModelLoadError, match="exactly one source of weights"):
        load_model(str(config))
    with pytest.raises(ModelLoadError, match="exactly one source of weights"):
        load_model(str(config), checkpoint, random_weights=True)


def test_pretrained_tag_not_in_the_cache_is_not_downloaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(ModelLoadError, match=r"not in the local cache and nothing is downloaded"):
        load_model("ViT-B-32", pretrained="laion2b_s34b_b79k")
    with pytest.raises(ModelLoadError, match=r"no pretrained tag 'nonsense'"):
        load_model("ViT-B-32", pretrained="nonsense")
