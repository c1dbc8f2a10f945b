"""Optuna's TPE, splitting the study into good and bad trials once per suggestion.

``TPESampler`` samples each parameter of a trial on its own (``sample_independent``), and
each call sorts the whole study into the trials below and above the ``gamma`` quantile
again, although nothing changed in between: with the default space's ten parameters that
repeated split is most of a suggestion's time once the study holds a thousand trials, and it
grows with the study (optuna#2172). Optuna has the fix under review (optuna#5464, revived as
optuna#6128: cache the split per trial); until it ships, ``SplitOnceTPESampler`` does the
same. Its suggestions are the same as ``TPESampler``'s with the same arguments: the split
is reused only for the same trial, the same trials in the same states, and the same
``n_below``, so it is the split Optuna would have computed.

The same holds for the observations each parameter's Parzen estimators are built from:
Optuna walks every trial of the study in Python, twice per parameter per suggestion. Here a
finished trial's value of a parameter (its internal representation, under that parameter's
distribution) is kept in a column indexed by trial number once, and each suggestion takes
the rows it needs with numpy. Only finished trials are kept: their parameters never change.

Both lean on Optuna's private ``_split_trials`` and ``_get_internal_repr``; if a later Optuna
renames them, the sampler works unchanged, only without the memo (``SPLIT_MEMO_ACTIVE`` says
which), and ``tests/search/test_tpe.py`` says so.
"""

from __future__ import annotations

import contextvars
from typing import Any

import numpy as np
from optuna.samplers import TPESampler
from optuna.samplers._tpe import sampler as _tpe_module

_memo: contextvars.ContextVar[dict | None] = contextvars.ContextVar("tpe_split", default=None)
_optuna_split = getattr(_tpe_module, "_split_trials", None)


def _split_trials_once(study: Any, trials: list, n_below: int) -> tuple[list, list]:
    memo = _memo.get()
    if memo is None:  # any other sampler in the process: Optuna's split, untouched
        return _optuna_split(study, trials, n_below)
    key = (id(study), n_below, tuple((t.number, t.state) for t in trials))
    if memo.get("key") != key:
        memo["key"], memo["split"] = key, _optuna_split(study, trials, n_below)
    below, above = memo["split"]
    return list(below), list(above)


SPLIT_MEMO_ACTIVE = callable(_optuna_split)
if SPLIT_MEMO_ACTIVE and _tpe_module._split_trials is _optuna_split:
    _tpe_module._split_trials = _split_trials_once


class _Column:
    """One parameter's internal values by trial number, for finished trials."""

    def __init__(self) -> None:
        self.values = np.zeros(0)
        self.present = np.zeros(0, dtype=bool)  # the trial has the parameter
        self.known = np.zeros(0, dtype=bool)  # the row is filled (the trial had finished)

    def grow(self, size: int) -> None:
        if size > len(self.known):
            size = max(size, 2 * len(self.known), 64)
            for name in ("values", "present", "known"):
                old = getattr(self, name)
                new = np.zeros(size, dtype=old.dtype)
                new[: len(old)] = old
                setattr(self, name, new)


class SplitOnceTPESampler(TPESampler):
    """``TPESampler`` (same arguments, same suggestions) that splits the study once per
    trial instead of once per parameter, and reads finished trials' values from columns."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._split_memo: tuple[int, dict] = (-1, {})
        self._columns: dict[tuple, _Column] = {}

    def __getstate__(self) -> dict:
        """Pickled (in Ray Tune's searcher snapshot) without the memo and the columns: they
        are rebuilt from the study on the next suggestion."""
        return {**self.__dict__, "_split_memo": (-1, {}), "_columns": {}}

    def sample_independent(self, study, trial, param_name, param_distribution):
        if self._split_memo[0] != trial.number:  # a new trial: the last one's split is stale
            self._split_memo = (trial.number, {})
        token = _memo.set(self._split_memo[1])
        try:
            return super().sample_independent(study, trial, param_name, param_distribution)
        finally:
            _memo.reset(token)

    def _get_internal_repr(self, trials, search_space, study):
        if _memo.get() is None or len(search_space) != 1 or self._is_multivariate(study):
            return super()._get_internal_repr(trials, search_space, study)
        ((name, distribution),) = search_space.items()
        # the storage object in the key keeps its id from being reused by another study's
        column = self._columns.setdefault(
            (study._storage, study._study_id, name, distribution), _Column()
        )
        numbers = np.fromiter((t.number for t in trials), dtype=np.int64, count=len(trials))
        column.grow(int(numbers.max()) + 1 if len(numbers) else 0)
        values, present = column.values[numbers], column.present[numbers]
        for i in np.flatnonzero(~column.known[numbers]):  # new trials, and running ones
            trial = trials[i]
            params = self._get_params(trial, study)
            present[i] = name in params
            values[i] = distribution.to_internal_repr(params[name]) if present[i] else 0.0
            if trial.state.is_finished():
                column.values[trial.number], column.present[trial.number] = values[i], present[i]
                column.known[trial.number] = True
        return {name: values[present]}
