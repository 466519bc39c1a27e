"""The official HPS v2 scorer's call pattern, with the release's own model code.

`hpsv2.img_score.score(image, prompt, cp=...)` keeps the network built once per process
(its `model_dict`) but on every call reloads the checkpoint from disk, rebuilds the
tokenizer, preprocesses one image, re-encodes the prompt, and runs one forward pass.
`OfficialScorer.score_one` repeats that body line for line with the release's open_clip
copy (img_score.py itself imports `requests` and `clint` for downloads we never do).
Used by scoring_cpu.py; torch and the installed hpsv2 only, no Django.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
import warnings
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import torch
from PIL import Image


def official_open_clip() -> Any:
    """hpsv2.src.open_clip without running hpsv2/__init__.py (which downloads)."""
    if "hpsv2" not in sys.modules:
        spec = importlib.util.find_spec("hpsv2")
        if spec is None or spec.origin is None:
            raise RuntimeError("hpsv2 is not installed (requirements-compat.txt)")
        package = types.ModuleType("hpsv2")
        package.__path__ = [str(Path(spec.origin).parent)]
        sys.modules["hpsv2"] = package
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return importlib.import_module("hpsv2.src.open_clip")


class OfficialScorer:
    def __init__(self, architecture: str, device: str = "cpu") -> None:
        self.open_clip = official_open_clip()
        self.architecture = architecture
        self.device = device
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.model, _, self.preprocess_val = self.open_clip.create_model_and_transforms(
                architecture,
                None,
                precision="amp",
                device=device,
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

    def save_random_checkpoint(self, path: Path) -> None:
        torch.save({"state_dict": self.model.state_dict()}, path)

    def score_one(self, image_path: str, prompt: str, checkpoint: str) -> float:
        model = self.model
        checkpoint_data = torch.load(checkpoint, map_location=self.device)
        model.load_state_dict(checkpoint_data["state_dict"])
        tokenizer = self.open_clip.get_tokenizer(self.architecture)
        model = model.to(self.device)
        model.eval()
        with torch.no_grad():
            image = self.preprocess_val(Image.open(image_path)).unsqueeze(0).to(device=self.device)
            text = tokenizer([prompt]).to(device=self.device)
            # torch.cuda.amp.autocast() in the release: fp16 on CUDA, nothing on CPU.
            autocast = (
                torch.autocast("cuda", dtype=torch.float16)
                if self.device == "cuda"
                else nullcontext()
            )
            with autocast:
                outputs = model(image, text)
                image_features, text_features = outputs["image_features"], outputs["text_features"]
                logits_per_image = image_features @ text_features.T
                hps_score = torch.diagonal(logits_per_image).cpu().numpy()
        return float(hps_score[0])


def main(argv: list[str]) -> int:
    """`python benchmarks/official_pattern.py ARCH CHECKPOINT PROMPT IMAGE...`: one
    process, one official call per image (the whole-command comparison)."""
    import json

    architecture, checkpoint, prompt, *images = argv
    scorer = OfficialScorer(architecture)
    print(json.dumps([scorer.score_one(image, prompt, checkpoint) for image in images]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
