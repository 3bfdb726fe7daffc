"""Training: typed configs, in-memory QA datasets, the Accelerate loop with resumable
checkpoints, and the objective interface recipes implement."""

from videoqa.training.config import TrainConfig, load_config, parse_config
from videoqa.training.data import QADataset, TrainBatch
from videoqa.training.objective import LossParts, Objective
from videoqa.training.trainer import Trainer, TrainingData, TrainResult, load_training_data

__all__ = [
    "LossParts",
    "Objective",
    "QADataset",
    "TrainBatch",
    "TrainConfig",
    "TrainResult",
    "Trainer",
    "TrainingData",
    "load_config",
    "load_training_data",
    "parse_config",
]
