"""The search: specs and search space, the trial function, the driver, retrain and export."""

from ._schema import SpecError, from_mapping, load_yaml
from ._single import TrainingOutcome, run_training
from ._train_spec import TrainSpec, override, parse_train_spec

__all__ = [
    "SpecError",
    "TrainSpec",
    "TrainingOutcome",
    "from_mapping",
    "load_yaml",
    "override",
    "parse_train_spec",
    "run_training",
]
