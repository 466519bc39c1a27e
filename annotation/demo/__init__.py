"""The demo: real Stable Diffusion prompts with drawn stand-in images (seed), judged in
part by simulated annotators going through the real services (crowd)."""

from annotation.demo.seed import seed_demo

__all__ = ["seed_demo"]
