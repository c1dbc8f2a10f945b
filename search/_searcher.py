"""OptunaSearch that tells Optuna the truth about trials ASHA stopped early.

Stock ``OptunaSearch.on_trial_complete`` tells every finished trial COMPLETE with its last
value, so a trial ASHA stopped after one epoch looks to TPE like a fully trained one.  Here a
trial that ended before ``max_epochs`` (without an error) is told PRUNED: its per-epoch values
are already in the study as intermediate values, and TPE ranks pruned trials by how far they
got, as it does under Optuna's own pruners.
"""

from __future__ import annotations

import warnings
from typing import Any

from ray.tune.search.optuna import OptunaSearch


class FidelityAwareOptunaSearch(OptunaSearch):
    def __init__(self, *args: Any, max_epochs: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_epochs = max_epochs

    def on_trial_complete(
        self, trial_id: str, result: dict | None = None, error: bool = False
    ) -> None:
        from optuna.trial import TrialState

        epochs = (result or {}).get("training_iteration")
        if (
            error
            or not result
            or epochs is None
            or epochs >= self.max_epochs
            or trial_id in self._completed_trials
            or trial_id not in self._ot_trials
        ):
            return super().on_trial_complete(trial_id, result, error)
        ot_trial = self._ot_trials[trial_id]
        value = result.get(self.metric)
        if value is not None:  # the result that made ASHA stop the trial is not yet reported
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # Optuna warns if the step was reported
                ot_trial.report(value, epochs)
        self._ot_study.tell(ot_trial, state=TrialState.PRUNED)
        self._completed_trials.add(trial_id)
        return None
