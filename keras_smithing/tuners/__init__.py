"""KerasTuner hooks: coarse-to-fine search, pruning, cost-aware objective, run records."""

from keras_smithing.tuners.coarse_to_fine import CoarseToFine, CoarseToFineOracle
from keras_smithing.tuners.hypermodel import SmithingHyperModel
from keras_smithing.tuners.importance import hyperparameter_importance
from keras_smithing.tuners.objectives import CostAwareObjective, TrialTimer
from keras_smithing.tuners.plots import plot_importance, plot_search
from keras_smithing.tuners.pruners import MedianPruner, PercentilePruner
from keras_smithing.tuners.records import TrialRecorder, read_records
