"""The search: specs and search space, the trial function, the driver, retrain and export.

Specs, the search space, winners and Pareto fronts import without TensorFlow, pandas or
Ray, so the CLI parses and submits a sweep without them; the driver, the trial function,
evaluation and reports load their modules on first use.
"""

from typing import TYPE_CHECKING

import lazy_loader

from ._pareto import Scored, pareto_front, smallest_within
from ._schema import SpecError, from_mapping, load_yaml, override
from ._space import SHARED_PARAMS, Choice, FloatRange, IntRange, SearchSpace, parse_space
from ._sweep_spec import (
    COSTS,
    METRICS,
    AshaConfig,
    PretrainConfig,
    Resources,
    SweepSpec,
    default_spec_text,
    experiment_path,
    is_remote_uri,
    join_storage,
    parse_recorded_spec,
    parse_sweep_spec,
    spec_to_dict,
    storage_root,
)
from ._train_spec import TrainSpec, parse_train_spec
from ._winner import TrialSummary, Winner, select_winner

if TYPE_CHECKING:
    from ._driver import (
        BEST_DIR,
        Run,
        SweepOutcome,
        lost_on_restore,
        past_trials,
        prepare_data,
        retrain_and_export,
        run_sweep,
        search_only,
        shortfall,
        summarize,
    )
    from ._evaluate import evaluate_export
    from ._insight import compute_summary, write_comparison, write_search_report
    from ._pretrain import run_pretraining, with_language_model
    from ._searcher import finished_ray_trials
    from ._single import TrainingOutcome, run_training
    from ._trial import TrialContext, lstm_trial, train_epochs, trial_configs, trial_views
    from ._warm import WarmSource, WarmStart, seed_study, warm_start_points

__getattr__, _, _ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "_driver": [
            "BEST_DIR",
            "Run",
            "SweepOutcome",
            "lost_on_restore",
            "past_trials",
            "prepare_data",
            "retrain_and_export",
            "run_sweep",
            "search_only",
            "shortfall",
            "summarize",
        ],
        "_evaluate": ["evaluate_export"],
        "_insight": ["compute_summary", "write_comparison", "write_search_report"],
        "_pretrain": ["run_pretraining", "with_language_model"],
        "_searcher": ["finished_ray_trials"],  # imports Ray Tune
        "_single": ["TrainingOutcome", "run_training"],
        "_trial": ["TrialContext", "lstm_trial", "train_epochs", "trial_configs", "trial_views"],
        "_warm": ["WarmSource", "WarmStart", "seed_study", "warm_start_points"],
    },
)


__all__ = [
    "BEST_DIR",
    "COSTS",
    "METRICS",
    "SHARED_PARAMS",
    "AshaConfig",
    "Choice",
    "FloatRange",
    "IntRange",
    "PretrainConfig",
    "Resources",
    "Run",
    "Scored",
    "SearchSpace",
    "SpecError",
    "SweepOutcome",
    "SweepSpec",
    "TrainSpec",
    "TrainingOutcome",
    "TrialContext",
    "TrialSummary",
    "WarmSource",
    "WarmStart",
    "Winner",
    "compute_summary",
    "default_spec_text",
    "evaluate_export",
    "experiment_path",
    "finished_ray_trials",
    "from_mapping",
    "is_remote_uri",
    "join_storage",
    "load_yaml",
    "lost_on_restore",
    "lstm_trial",
    "override",
    "pareto_front",
    "parse_recorded_spec",
    "parse_space",
    "parse_sweep_spec",
    "parse_train_spec",
    "past_trials",
    "prepare_data",
    "retrain_and_export",
    "run_pretraining",
    "run_sweep",
    "run_training",
    "search_only",
    "seed_study",
    "select_winner",
    "shortfall",
    "smallest_within",
    "spec_to_dict",
    "storage_root",
    "summarize",
    "train_epochs",
    "trial_configs",
    "trial_views",
    "warm_start_points",
    "with_language_model",
    "write_comparison",
    "write_search_report",
]
