"""The official release imports offline: its dataset classes and model factory are usable."""

from __future__ import annotations

import sys

from tests.official_hpsv2 import official


def test_official_modules_import_without_running_the_package_init() -> None:
    data = official("hpsv2.src.training.data")
    train = official("hpsv2.src.training.train")
    open_clip = official("hpsv2.src.open_clip")

    assert hasattr(data, "RankingDataset")
    assert hasattr(data, "ImageRewardDataset")
    assert callable(train.inversion_score)
    assert callable(open_clip.create_model_and_transforms)
    # The real package __init__ (which downloads weights) never ran.
    assert not hasattr(sys.modules["hpsv2"], "score")
