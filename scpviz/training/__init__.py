"""Training over task sequences (§5): the engine, objectives with named metrics, and the History of a run.

Modules: ``objectives`` (loss + metric), ``dice`` (the segmentation loss and score of §5.3), ``history`` (a run's record and its continual-learning metrics),
``engine`` (``train_task``, ``train_sequence``, ``evaluate``, ``adam``; ``HyperParams``, the training settings both
trainers take, and ``EpochEnd``, what their ``on_epoch`` callback receives), ``blind_reset`` (the causal test of a
penalty's blind spot), ``batchnorm_restore`` (the same kind of test for BatchNorm's running statistics).
"""

from .engine import EpochEnd, HyperParams, adam, evaluate, train_sequence, train_task
from .batchnorm_restore import batchnorm_restore_test, batchnorm_statistics
from .blind_reset import blind_entries, blind_reset_test
from .history import History
from .dice import dice_per_class, mean_dice, soft_dice_loss
from .objectives import (ACCURACY, CLASSIFICATION, DICE, L1_ERROR, METRICS, OBJECTIVES, RECONSTRUCTION, SEGMENTATION,
                         RECONSTRUCTION_LOSSES, Metric, Objective, reconstruction_objective,
                         metric_named, objective)

__all__ = ["train_task", "train_sequence", "evaluate", "adam", "HyperParams", "EpochEnd", "History", "Objective",
           "Metric", "ACCURACY", "L1_ERROR", "METRICS", "metric_named", "CLASSIFICATION", "RECONSTRUCTION", "OBJECTIVES",
           "objective", "RECONSTRUCTION_LOSSES", "reconstruction_objective", "blind_reset_test", "blind_entries",
           "batchnorm_statistics", "batchnorm_restore_test", "DICE", "SEGMENTATION", "soft_dice_loss", "dice_per_class",
           "mean_dice"]
