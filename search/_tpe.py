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

The split is Optuna's own private ``_split_trials``; if a later Optuna renames it, the
sampler works unchanged, only without the memo (``SPLIT_MEMO_ACTIVE`` says which).
"""

from __future__ import annotations

import contextvars
from typing import Any

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


class SplitOnceTPESampler(TPESampler):
    """``TPESampler`` (same arguments, same suggestions) that splits the study once per
    trial instead of once per parameter."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._split_memo: tuple[int, dict] = (-1, {})

    def sample_independent(self, study, trial, param_name, param_distribution):
        if self._split_memo[0] != trial.number:  # a new trial: the last one's split is stale
            self._split_memo = (trial.number, {})
        token = _memo.set(self._split_memo[1])
        try:
            return super().sample_independent(study, trial, param_name, param_distribution)
        finally:
            _memo.reset(token)
