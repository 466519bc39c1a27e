"""The HPS scorer's torch-only core: load a model and checkpoint, score images, metrics.

Nothing here imports Django: it runs from a notebook, `python -m scoring`, or a worker.
"""

from scoring.core.images import ImageSource, source_name
from scoring.core.loading import HpsModel, load_model
from scoring.core.scorer import BrokenImage, Scorer, ScoreResult
from scoring.errors import BrokenImageError, ModelLoadError

__all__ = [
    "BrokenImage",
    "BrokenImageError",
    "HpsModel",
    "ImageSource",
    "ModelLoadError",
    "ScoreResult",
    "Scorer",
    "load_model",
    "source_name",
]
