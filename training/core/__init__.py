"""The HPS v2 fine-tuning library (torch-only): data, loss, recipe, loop, distributed.

Nothing here imports Django: it runs from a notebook, `python -m training`, torchrun, or
a worker. `train(TrainConfig(...))` fine-tunes; `evaluate_ranking_accuracy` measures.
"""

from training.core.config import TrainConfig, TrainResult
from training.core.errors import TrainingConfigError, TrainingDataError
from training.core.evaluation import evaluate_ranking_accuracy
from training.core.loop import train

__all__ = [
    "TrainConfig",
    "TrainResult",
    "TrainingConfigError",
    "TrainingDataError",
    "evaluate_ranking_accuracy",
    "train",
]
