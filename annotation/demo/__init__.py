"""The demo: real Stable Diffusion prompts with drawn stand-in images (seed), judged in
part by simulated annotators going through the real services (crowd), and a model with
random start weights that a demo training cycle fine-tunes on the CPU (model)."""

from annotation.demo.model import ensure_demo_model
from annotation.demo.seed import seed_demo

__all__ = ["ensure_demo_model", "seed_demo"]
