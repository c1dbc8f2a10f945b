"""Learning curves for any configuration of a search space, from a table of real ones.

``CurveTable`` holds recorded runs (``bench/record_curves.py``): per configuration and
training seed, the validation metrics and seconds of every epoch. ``Surrogate`` fits
scikit-learn's extra trees on it (configuration -> validation accuracy after each epoch, and
seconds per epoch) and draws curves with the noise the table measured between training seeds;
``Tabular`` replays recorded configurations only, as a check on the surrogate.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

BUNDLED = "imdb-4800.jsonl.gz"  # in search/curves/


def read_rows(path: Path) -> list[dict]:
    """The complete runs of a table file (one JSON object per line, gzip members appended
    run by run); a recorder stopped mid-write leaves a cut last member, which is skipped."""
    rows: list[dict] = []
    if not path.exists():
        return rows
    with gzip.open(path, "rt") as fh, contextlib.suppress(EOFError, zlib.error, ValueError):
        for line in fh:
            if line.strip():
                rows.append(json.loads(line))
    return rows


@dataclass(frozen=True)
class Curve:
    """One trial's course: validation accuracy and seconds after each epoch."""

    val_accuracy: tuple[float, ...]
    epoch_seconds: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.val_accuracy) != len(self.epoch_seconds) or not self.val_accuracy:
            raise ValueError("a curve needs as many epoch times as accuracies, at least one")


@dataclass(frozen=True)
class Run:
    index: int
    seed: int
    config: dict[str, Any]
    curve: Curve


@dataclass
class CurveTable:
    runs: list[Run] = field(default_factory=list)
    source: str = ""

    @classmethod
    def load(cls, path: str | Path | None = None) -> CurveTable:
        """A table written by ``bench/record_curves.py`` (default: the bundled one)."""
        if path is None:
            ref = resources.files("sweep.search").joinpath("curves", BUNDLED)
            with resources.as_file(ref) as real:
                return cls.load(real)
        return cls.from_rows(read_rows(Path(path)), str(path))

    @classmethod
    def from_rows(cls, rows: Sequence[dict], source: str = "") -> CurveTable:
        runs = []
        for row in rows:
            epochs = sorted(row["epochs"], key=lambda e: e["epoch"])
            curve = Curve(
                tuple(float(e["val_accuracy"]) for e in epochs),
                tuple(float(e["epoch_seconds"]) for e in epochs),
            )
            runs.append(Run(int(row["index"]), int(row.get("seed", 0)), row["config"], curve))
        return cls(runs, source)

    @property
    def max_epochs(self) -> int:
        return max(len(r.curve.val_accuracy) for r in self.runs)

    def first_seed(self) -> list[Run]:
        """One run per configuration (its lowest training seed), full-length only."""
        best: dict[int, Run] = {}
        for run in self.runs:
            if len(run.curve.val_accuracy) == self.max_epochs and (
                run.index not in best or run.seed < best[run.index].seed
            ):
                best[run.index] = run
        return [best[i] for i in sorted(best)]

    def seed_spread(self) -> tuple[float, float]:
        """(sd of a run's mean offset, sd of the per-epoch wobble) of validation accuracy
        between training seeds of one configuration, pooled over the configurations that have
        several seeds; (0, 0) when none has."""
        offsets, wobbles = [], []
        groups: dict[int, list[np.ndarray]] = {}
        for run in self.runs:
            if len(run.curve.val_accuracy) == self.max_epochs:
                groups.setdefault(run.index, []).append(np.array(run.curve.val_accuracy))
        for curves in groups.values():
            if len(curves) < 2:
                continue
            stack = np.stack(curves)  # seeds x epochs
            centred = stack - stack.mean(axis=0)
            offset = centred.mean(axis=1)
            offsets.extend(offset)
            wobbles.extend((centred - offset[:, None]).ravel())
        if not offsets:
            return 0.0, 0.0
        return float(np.std(offsets, ddof=1)), float(np.std(wobbles, ddof=1))

    def seed_residuals(self) -> np.ndarray:
        """Every multi-seed run's validation-accuracy curve minus its configuration's mean
        curve (seeds x epochs), scaled by sqrt(n / (n - 1)) so their spread is the spread of
        one run about the mean, not about a mean of n; an empty (0 x epochs) array when no
        configuration has several seeds. Drawn whole, they keep what a Gaussian would lose:
        epochs move together, early epochs vary more, and a failed run is a large drop with
        no matching lucky jump."""
        groups: dict[int, list[np.ndarray]] = {}
        for run in self.runs:
            if len(run.curve.val_accuracy) == self.max_epochs:
                groups.setdefault(run.index, []).append(np.array(run.curve.val_accuracy))
        residuals = [
            (stack - stack.mean(axis=0)) * math.sqrt(len(stack) / (len(stack) - 1))
            for stack in (np.stack(curves) for curves in groups.values() if len(curves) > 1)
        ]
        return np.concatenate(residuals) if residuals else np.zeros((0, self.max_epochs))

    def best_final(self) -> float:
        return max(r.curve.val_accuracy[-1] for r in self.first_seed())

    @classmethod
    def from_trials(cls, trials: dict[str, dict], source: str = "") -> CurveTable:
        """A table of a past sweep's trials as Redis holds them (per-epoch history, seconds
        spent): every trial with at least one epoch, in the order they are given."""
        rows = []
        for index, trial in enumerate(trials.values()):
            history = [v for v in trial.get("history") or [] if v is not None]
            if not history:
                continue
            seconds = float(trial.get("train_seconds") or 0.0) / len(history) or 1.0
            epochs = [
                {"epoch": e + 1, "val_accuracy": v, "epoch_seconds": seconds}
                for e, v in enumerate(history)
            ]
            rows.append({"index": index, "seed": 0, "config": trial["config"], "epochs": epochs})
        return cls.from_rows(rows, source)


def uncovered(space: Any, table: CurveTable) -> list[str]:
    """What ``space`` asks for that the table's configurations never tried: a choice's
    value none of them had, a range beyond theirs (the surrogate would guess there)."""
    from ._space import Choice

    seen: dict[str, list] = {}
    for run in table.runs:
        for key, value in run.config.items():
            seen.setdefault(key, []).append(value)
    problems = []
    for name, param in vars(space).items():
        values = seen.get(name)
        if values is None:
            continue  # conditional parameters the table's architectures never used
        if isinstance(param, Choice):
            missing = [v for v in param.values if v not in values]
            if missing:
                problems.append(f"{name}: {missing} (the curves have {sorted(set(values))})")
        else:
            scale = math.log10 if param.log else float
            lo, hi = scale(min(values)), scale(max(values))
            slack = 0.1 * (hi - lo)  # samples of a range never land on its very ends
            if scale(param.low) < lo - slack or scale(param.high) > hi + slack:
                problems.append(
                    f"{name}: [{param.low}, {param.high}] (the curves span "
                    f"[{min(values):.4g}, {max(values):.4g}])"
                )
    return problems


def _columns(configs: Sequence[dict]) -> list[tuple[str, Any]]:
    """Feature columns: every numeric key (log-scaled where it spans decades), and one
    indicator per value of every categorical key; a key a configuration lacks reads 0."""
    numeric: set[str] = set()
    categories: dict[str, set] = {}
    for config in configs:
        for key, value in config.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                categories.setdefault(key, set()).add(str(value))
            else:
                numeric.add(key)
    cols: list[tuple[str, Any]] = [(k, None) for k in sorted(numeric)]
    cols += [(k, v) for k in sorted(categories) for v in sorted(categories[k])]
    return cols


_LOG_KEYS = ("learning_rate", "vocab_size", "ngram_buckets", "weight_decay")


def features(configs: Sequence[dict], columns: Sequence[tuple[str, Any]]) -> np.ndarray:
    out = np.zeros((len(configs), len(columns)))
    for i, config in enumerate(configs):
        for j, (key, value) in enumerate(columns):
            if value is None:
                x = config.get(key)
                if isinstance(x, (int, float)) and not isinstance(x, bool):
                    out[i, j] = math.log10(x + 1) if key in _LOG_KEYS else float(x)
            else:
                out[i, j] = 1.0 if str(config.get(key)) == value else 0.0
    return out


class Surrogate:
    """Extra-trees regressors from a configuration to its validation accuracy after each
    epoch and its seconds per epoch; draws add the table's seed-to-seed noise."""

    def __init__(self, table: CurveTable, n_estimators: int = 200, seed: int = 0) -> None:
        from sklearn.ensemble import ExtraTreesRegressor

        runs = table.first_seed()
        if len(runs) < 5:
            raise ValueError(
                f"the curve table {table.source or ''} has {len(runs)} full-length "
                "configurations; a surrogate needs at least 5"
            )
        self.epochs = table.max_epochs
        self.columns = _columns([r.config for r in runs])
        x = features([r.config for r in runs], self.columns)
        acc = np.array([r.curve.val_accuracy for r in runs])
        secs = np.log(np.array([r.curve.epoch_seconds for r in runs]))
        kwargs = {"n_estimators": n_estimators, "random_state": seed, "min_samples_leaf": 2}
        self._acc = ExtraTreesRegressor(**kwargs).fit(x, acc)
        self._secs = ExtraTreesRegressor(**kwargs).fit(x, secs)
        self.residuals = table.seed_residuals()

    def mean_curve(self, config: dict) -> Curve:
        x = features([config], self.columns)
        acc = self._acc.predict(x)[0]
        secs = np.exp(self._secs.predict(x)[0])
        return Curve(tuple(float(a) for a in acc), tuple(float(s) for s in secs))

    def curve(self, config: dict, rng: np.random.Generator) -> Curve:
        """A curve as one training seed would give it: the mean curve plus one of the
        table's seed residual curves, drawn at random (none when the table has no seeds)."""
        mean = self.mean_curve(config)
        noise = (
            self.residuals[int(rng.integers(len(self.residuals)))]
            if len(self.residuals)
            else np.zeros(self.epochs)
        )
        acc = np.clip(np.array(mean.val_accuracy) + noise, 0.0, 1.0)
        return Curve(tuple(float(a) for a in acc), mean.epoch_seconds)


class Tabular:
    """Recorded configurations only: a draw replays one of that configuration's runs."""

    def __init__(self, table: CurveTable) -> None:
        self.runs: dict[str, list[Curve]] = {}
        for run in table.runs:
            self.runs.setdefault(_key(run.config), []).append(run.curve)
        self.configs = [r.config for r in table.first_seed()]

    def curve(self, config: dict, rng: np.random.Generator) -> Curve:
        found = self.runs.get(_key(config))
        if not found:
            raise KeyError("configuration not in the table (tabular mode replays only those)")
        return found[int(rng.integers(len(found)))]


def _key(config: dict) -> str:
    return json.dumps(config, sort_keys=True, default=str)


@dataclass(frozen=True)
class Validation:
    folds: int
    configurations: int
    mae_per_epoch: tuple[float, ...]
    spearman_final: float
    seconds_mape: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "folds": self.folds,
            "configurations": self.configurations,
            "mae_val_accuracy_per_epoch": [round(m, 4) for m in self.mae_per_epoch],
            "spearman_final_val_accuracy": round(self.spearman_final, 3),
            "epoch_seconds_mean_abs_pct_error": round(self.seconds_mape, 3),
        }


def cross_validate(table: CurveTable, folds: int = 5, seed: int = 0) -> Validation:
    """K-fold over configurations: each fold's surrogate predicts curves it never saw."""
    from scipy.stats import spearmanr
    from sklearn.model_selection import KFold

    runs = table.first_seed()
    truth = np.array([r.curve.val_accuracy for r in runs])
    secs = np.array([r.curve.epoch_seconds for r in runs])
    predicted = np.zeros_like(truth)
    predicted_secs = np.zeros_like(secs)
    for train, test in KFold(folds, shuffle=True, random_state=seed).split(runs):
        fold = Surrogate(CurveTable([runs[i] for i in train]), seed=seed)
        for i in test:
            mean = fold.mean_curve(runs[i].config)
            predicted[i], predicted_secs[i] = mean.val_accuracy, mean.epoch_seconds
    mae = np.abs(predicted - truth).mean(axis=0)
    rho = spearmanr(predicted[:, -1], truth[:, -1]).statistic
    mape = float(np.mean(np.abs(predicted_secs - secs) / secs))
    return Validation(folds, len(runs), tuple(float(m) for m in mae), float(rho), mape)
