"""OptunaSearch that tells Optuna the truth about trials ASHA stopped early, and never hands
out a configuration twice while the space has unseen ones.

Fidelity. Stock ``OptunaSearch.on_trial_complete`` tells every finished trial COMPLETE with
its last value, so a trial ASHA stopped after one epoch looks to TPE like a fully trained
one. Here a trial that ended before ``max_epochs`` (without an error) is told PRUNED: its
per-epoch values are already in the study as intermediate values, and TPE ranks pruned
trials by how far they got, as it does under Optuna's own pruners. With two objectives
Optuna takes no intermediate values, so a pruned trial is told PRUNED with none, and TPE puts
it behind every complete trial.

Duplicates. Ray asks for many suggestions before any result is in; on a small categorical
space TPE (and its random start-up phase) then repeats configurations. A repeat is told FAIL
(marked ``sweep:duplicate``, which TPE ignores) and a new one is asked for, first from TPE,
then from a random sampler; only when none of ``max_resample`` tries is new (the space is
exhausted, or nearly) is the repeat kept.

Each Optuna trial carries the Ray Tune trial id it ran as (``sweep:ray_trial``), so a resumed
sweep can tell which of the trials Ray restores had in fact finished before the driver died,
and the Ray Tune run it belongs to (``sweep:run``).

Quota. A run asks for ``quota`` trials. Ray Tune counts the trials it created, from its last
experiment snapshot when a killed driver is resumed; trials that started after that snapshot
and finished before the kill are in the study (and in Redis) but not in Ray's count, and Ray
would run as many again. The searcher counts the run's trials in the study and tells Ray it
has finished once they reach the quota. Before Ray restores a run, the run's trials still
open in the study that Ray's snapshot lacks are closed as lost (``close_lost``), so they do
not count and others run in their place; trials lost on restore (their checkpoint gone)
are made up afterwards (``search._driver.shortfall``).
"""

from __future__ import annotations

import json
import logging
import warnings
from typing import Any

from ray.tune.search.optuna import OptunaSearch

from ._space import STUDY_ONLY_NAMES

log = logging.getLogger(__name__)
DUPLICATE_ATTR = "sweep:duplicate"
RAY_TRIAL_ATTR = "sweep:ray_trial"
RUN_ATTR = "sweep:run"
LOST_ATTR = "sweep:lost"  # a trial its driver lost: closed FAIL, its place given to another
LOST_REASON = (
    "its driver died before Ray Tune checkpointed this trial, so the resumed sweep "
    "ran another trial in its place"
)


def finished_ray_trials(storage: Any, study_name: str, run_name: str | None = None) -> set[str]:
    """Ray Tune trial ids whose Optuna trial is COMPLETE or PRUNED in the study (of the Ray
    Tune run ``run_name`` only, when given)."""
    import optuna
    from optuna.trial import TrialState

    study = optuna.load_study(study_name=study_name, storage=storage)
    return {
        t.system_attrs[RAY_TRIAL_ATTR]
        for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))
        if RAY_TRIAL_ATTR in t.system_attrs
        and (run_name is None or t.system_attrs.get(RUN_ATTR) == run_name)
    }


def close_lost(storage: Any, study_name: str, run_name: str, ray_trials: set[str]) -> list[str]:
    """Close as lost (FAIL, ``sweep:lost``) the run's trials still open in the study that
    Ray's experiment snapshot (``ray_trials``) does not have; returns their Ray trial ids."""
    import optuna
    from optuna.trial import TrialState

    study = optuna.load_study(study_name=study_name, storage=storage)
    lost = []
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        ray_trial = t.system_attrs.get(RAY_TRIAL_ATTR)
        if t.system_attrs.get(RUN_ATTR) == run_name and ray_trial not in ray_trials:
            storage.set_trial_system_attr(t._trial_id, LOST_ATTR, LOST_REASON)
            storage.set_trial_state_values(t._trial_id, TrialState.FAIL)
            lost.append(ray_trial)
    return lost


def config_key(params: dict[str, Any]) -> str:
    """A canonical text of a configuration, equal for equal configurations."""
    return json.dumps(params, sort_keys=True, default=str)


class FidelityAwareOptunaSearch(OptunaSearch):
    def __init__(
        self,
        *args: Any,
        max_epochs: int,
        feedback: str = "pruned",
        max_resample: int = 48,
        tpe_retries: int = 4,
        run_name: str | None = None,
        quota: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.run_name = run_name
        self.quota = quota
        self.max_epochs = max_epochs
        self.feedback = feedback
        self.max_resample = max_resample
        self.tpe_retries = tpe_retries
        self.duplicates_skipped = 0
        self._keys: dict[int, str] = {}  # a finished trial's configuration key, by number

    def save(self, checkpoint_path: str) -> None:
        """Ray's experiment snapshot, without the key cache (rebuilt on demand)."""
        keys, self._keys = self._keys, {}
        try:
            super().save(checkpoint_path)
        finally:
            self._keys = keys

    # -- duplicates -------------------------------------------------------------------
    def set_max_concurrency(self, max_concurrent: int) -> bool:
        """Ray's ``max_concurrent_trials``, enforced here instead of by Ray's
        ConcurrencyLimiter: the limiter drops the completion of any trial it does not hold as
        live (one Ray restored from a snapshot newer than the searcher's, an errored one Ray
        resumes), so that trial's end would never reach the study."""
        self.max_live = max_concurrent
        return True

    def suggest(self, trial_id: str) -> dict | str | None:
        counted, live = self._run_counts()
        if counted is not None and counted >= self.quota:
            from ray.tune.search import Searcher

            return Searcher.FINISHED
        if 0 < getattr(self, "max_live", 0) <= live:
            return None  # Ray asks again when a trial ends
        params = self._suggest_unseen(trial_id)
        if isinstance(params, dict):  # the configuration, without names only the study has
            params = {k: v for k, v in params.items() if k not in STUDY_ONLY_NAMES}
        if params is not None and trial_id in self._ot_trials:
            storage, ot_trial = self._ot_study._storage, self._ot_trials[trial_id]
            storage.set_trial_system_attr(ot_trial._trial_id, RAY_TRIAL_ATTR, trial_id)
            if getattr(self, "run_name", None) is not None:
                storage.set_trial_system_attr(ot_trial._trial_id, RUN_ATTR, self.run_name)
        return params

    def _run_counts(self) -> tuple[int | None, int]:
        """This run's trials in the study (running, finished or failed by Ray Tune; not
        skipped duplicates or trials closed as lost), None without a run name or quota; and
        how many of them are running."""
        from optuna.trial import TrialState

        quota, run = getattr(self, "quota", None), getattr(self, "run_name", None)
        if run is None or self._ot_study is None:
            return None, sum(t not in self._completed_trials for t in self._ot_trials)
        counted = live = 0
        for t in self._ot_study.get_trials(deepcopy=False):
            attrs = t.system_attrs
            if attrs.get(RUN_ATTR) != run or LOST_ATTR in attrs:
                continue
            counted += 1
            live += (
                t.state == TrialState.RUNNING
                and attrs.get(RAY_TRIAL_ATTR) not in self._completed_trials
            )
        return (counted if quota is not None else None), live

    def _suggest_unseen(self, trial_id: str) -> dict | None:
        from optuna.samplers import RandomSampler
        from optuna.trial import TrialState

        params = super().suggest(trial_id)
        if params is None or not callable(self._space):
            return params
        sampler = self._ot_study.sampler
        try:
            for attempt in range(1, self.max_resample + 1):
                ot_trial = self._ot_trials[trial_id]
                if not self._seen_before(ot_trial.number, config_key(ot_trial.params)):
                    return params
                if attempt == self.max_resample:
                    log.info("keeping a repeated configuration: no unseen one in %d tries", attempt)
                    return params
                self._ot_study._storage.set_trial_system_attr(
                    ot_trial._trial_id, DUPLICATE_ATTR, True
                )
                self._ot_study.tell(ot_trial, state=TrialState.FAIL)
                self.duplicates_skipped += 1
                del self._ot_trials[trial_id]
                if attempt >= self.tpe_retries:
                    self._ot_study.sampler = RandomSampler(seed=self.duplicates_skipped)
                params = super().suggest(trial_id)
        finally:
            self._ot_study.sampler = sampler
        return params

    def _seen_before(self, number: int, key: str) -> bool:
        """Another live or finished trial (not a skipped duplicate) has this configuration.

        A trial's key is computed once (``_keys``): a study of thousands of trials would
        otherwise serialize every configuration again at every suggestion."""
        from optuna.trial import TrialState

        keys = self.__dict__.setdefault("_keys", {})  # a searcher saved by an older version
        states = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING)
        for t in self._ot_study.get_trials(deepcopy=False, states=states):
            if t.number == number or DUPLICATE_ATTR in t.system_attrs:
                continue
            if t.state == TrialState.RUNNING:  # its parameters may still be growing
                other = config_key(t.params)
            elif (other := keys.get(t.number)) is None:
                other = keys[t.number] = config_key(t.params)
            if other == key:
                return True
        return False

    # -- a trial the study already closed ----------------------------------------------
    def _known(self, trial_id: str) -> bool:
        """Whether this searcher can tell the study about the trial, reattaching it first if
        needed: a resumed driver can restore Ray's trial list from a snapshot newer than the
        searcher's, so Ray reports trials this searcher never suggested; the study (in
        Redis) has them, found by the Ray trial id each one carries."""
        import optuna

        if trial_id in self._ot_trials:
            return True
        for frozen in self._ot_study.get_trials(deepcopy=False):
            if frozen.system_attrs.get(RAY_TRIAL_ATTR) == trial_id:
                self._ot_trials[trial_id] = optuna.Trial(self._ot_study, frozen._trial_id)
                return True
        log.warning("trial %s is not in the study: its results stay out of TPE", trial_id)
        return False

    def _closed_state(self, trial_id: str):
        """The state the study closed this trial in, or None while it is open there.

        Ray can run a trial the study has closed: a resumed driver restores it from a
        snapshot older than its end (the searcher state in that snapshot still has it
        open). Telling Optuna about it would raise and end the whole run."""
        from optuna.trial import TrialState

        ot_trial = self._ot_trials.get(trial_id)
        if ot_trial is None or trial_id in self.__dict__.get("_reruns", ()):
            return None
        state = self._ot_study._storage.get_trial(ot_trial._trial_id).state
        if trial_id in self._completed_trials:
            # told FAIL when it errored; Ray resumes errored trials on a resume
            return state if state == TrialState.FAIL else None
        return state if state != TrialState.RUNNING else None

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        if not self._known(trial_id):
            return None
        if self._closed_state(trial_id) is not None:
            value = result.get(self.metric) if isinstance(self.metric, str) else None
            step = result.get("training_iteration")
            if value is not None and step is not None:  # kept for a rerun of a failed trial
                self.__dict__.setdefault("_rerun_values", {}).setdefault(trial_id, {})[
                    int(step)
                ] = float(value)
            return None
        return super().on_trial_result(trial_id, result)

    def _record_rerun(self, trial_id: str, result: dict) -> None:
        """A trial the study had failed (closed as lost by a resume, say) ran to its end
        after all: its result goes into the study as a trial of its own, as TPE would have
        heard it, with the same parameters (the failed one stays; the new one names it in
        ``sweep:rerun_of``)."""
        import optuna
        from optuna.trial import TrialState

        self.__dict__.setdefault("_reruns", set()).add(trial_id)
        failed = self._ot_study._storage.get_trial(self._ot_trials[trial_id]._trial_id)
        steps = self.__dict__.get("_rerun_values", {}).pop(trial_id, {})
        epochs = int(result.get("training_iteration") or 0)
        if isinstance(self.metric, str):
            value = result.get(self.metric)
            if value is None:
                return
            steps[epochs] = float(value)
            pruned = self.feedback == "pruned" and epochs < self.max_epochs
            values = None if pruned else [float(value)]
        else:
            if any(m not in result for m in self.metric):
                return
            pruned, values = False, [float(result[m]) for m in self.metric]
        self._ot_study.add_trial(
            optuna.trial.create_trial(
                params=failed.params,
                distributions=failed.distributions,
                values=values,
                state=TrialState.PRUNED if pruned else TrialState.COMPLETE,
                intermediate_values=steps if isinstance(self.metric, str) else None,
                system_attrs={
                    RAY_TRIAL_ATTR: trial_id,
                    "sweep:rerun_of": failed.number,
                    **(
                        {RUN_ATTR: failed.system_attrs[RUN_ATTR]}
                        if RUN_ATTR in failed.system_attrs
                        else {}
                    ),
                },
            )
        )

    # -- fidelity ---------------------------------------------------------------------
    def on_trial_complete(
        self, trial_id: str, result: dict | None = None, error: bool = False
    ) -> None:
        from optuna.trial import TrialState

        if trial_id not in self._completed_trials and not self._known(trial_id):
            self._completed_trials.add(trial_id)
            return None
        closed = self._closed_state(trial_id)
        if closed is not None:
            self._completed_trials.add(trial_id)
            if closed == TrialState.FAIL and result and not error:
                self._record_rerun(trial_id, result)
            return None  # a trial that had finished: its first end counts

        epochs = (result or {}).get("training_iteration")
        if (
            self.feedback != "pruned"
            or error
            or not result
            or epochs is None
            or epochs >= self.max_epochs
            or trial_id in self._completed_trials
            or trial_id not in self._ot_trials
        ):
            return super().on_trial_complete(trial_id, result, error)
        ot_trial = self._ot_trials[trial_id]
        value = result.get(self.metric) if isinstance(self.metric, str) else None
        if value is not None:  # the result that made ASHA stop the trial is not yet reported
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # Optuna warns if the step was reported
                ot_trial.report(value, epochs)
        self._ot_study.tell(ot_trial, state=TrialState.PRUNED)
        self._completed_trials.add(trial_id)
        return None


def make_searcher(
    spec: Any,
    study_name: str,
    optuna_storage: Any = None,
    seed_offset: int = 0,
    sampler: Any = None,
    run_name: str | None = None,
    quota: int | None = None,
) -> FidelityAwareOptunaSearch:
    """The sweep's searcher: TPE on the sweep's Optuna study (in memory without a storage),
    random for its first ``spec.startup_trials`` trials; ``sampler`` replaces TPE (the
    simulator's random search). ``run_name`` and ``quota``: the Ray Tune run it serves and
    how many trials that run owes (see the module's docstring)."""
    import optuna

    from ._tpe import SplitOnceTPESampler

    metric, mode = spec.objectives
    if sampler is None:
        with warnings.catch_warnings():  # constant_liar and group are "experimental" in Optuna
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            sampler = SplitOnceTPESampler(
                n_startup_trials=spec.startup_trials,
                seed=spec.seed + seed_offset,
                constant_liar=spec.constant_liar,
                multivariate=spec.multivariate,
                group=spec.multivariate,  # the space is conditional: each group modelled apart
            )
    return FidelityAwareOptunaSearch(
        space=spec.space,
        metric=metric,
        mode=mode,
        study_name=study_name,
        storage=optuna_storage,
        sampler=sampler,
        max_epochs=spec.asha.max_epochs,
        feedback=spec.feedback,
        run_name=run_name,
        quota=quota,
    )


def make_scheduler(spec: Any):
    """Ray Tune's ASHA on epochs, as the spec sets it."""
    from ray.tune.schedulers import ASHAScheduler

    return ASHAScheduler(
        time_attr="training_iteration",
        metric=spec.metric,
        mode=spec.mode,
        max_t=spec.asha.max_epochs,
        grace_period=spec.asha.grace_period,
        reduction_factor=spec.asha.reduction_factor,
        brackets=spec.asha.brackets,
    )
