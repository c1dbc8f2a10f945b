"""A sweep on a simulated clock: W workers, learning curves instead of training.

The decisions are the real ones: the sweep's searcher (``make_searcher``: the fidelity-aware
``OptunaSearch`` on an in-memory study) and Ray Tune's own ``ASHAScheduler`` object, called
through their interfaces in the order Ray Tune calls them (a result goes to the scheduler; a
trial it stops, or one at max epochs, is completed in the searcher with that result, the
others report it). Plain Optuna runs the seed's way: full-length trials, one after another
or W at a time on one study. Time advances from event to event, so thousands of simulated
trial-hours take seconds; a trial's start costs ``overhead_s`` (``bench/trial_overhead.py``).
"""

from __future__ import annotations

import heapq
import itertools
import math
from dataclasses import dataclass, field, replace
from types import SimpleNamespace
from typing import Any, Protocol

import numpy as np

from ._surrogate import Curve

METHODS = ("service", "stock", "random", "optuna_sequential", "optuna_parallel")


class CurveModel(Protocol):
    def curve(self, config: dict, rng: np.random.Generator) -> Curve: ...


@dataclass
class Outcome:
    """What one simulated sweep did: the best value over time and what it spent."""

    method: str
    workers: int
    seed: int
    timeline: list[tuple[float, float]] = field(default_factory=list)  # (time, best so far)
    trials: int = 0
    finished: int = 0
    stopped_early: int = 0
    trial_epochs: int = 0
    makespan: float = 0.0

    @property
    def best(self) -> float | None:
        return self.timeline[-1][1] if self.timeline else None

    def best_at(self, t: float) -> float | None:
        found = None
        for when, value in self.timeline:
            if when > t:
                break
            found = value
        return found

    def time_to(self, target: float) -> float:
        """Simulated seconds until the best reached ``target`` (inf if it never did)."""
        for when, value in self.timeline:
            if value >= target:
                return when
        return math.inf

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "workers": self.workers,
            "seed": self.seed,
            "best": self.best,
            "trials": self.trials,
            "finished": self.finished,
            "stopped_early": self.stopped_early,
            "trial_epochs": self.trial_epochs,
            "makespan_s": round(self.makespan, 1),
        }


class Clock:
    """Pending epoch ends, earliest first."""

    def __init__(self) -> None:
        self.now = 0.0
        self._events: list[tuple[float, int, Any]] = []
        self._order = itertools.count()

    def at(self, when: float, what: Any) -> None:
        heapq.heappush(self._events, (when, next(self._order), what))

    def next(self) -> Any:
        self.now, _, what = heapq.heappop(self._events)
        return what

    def __bool__(self) -> bool:
        return bool(self._events)


def record_best(outcome: Outcome, now: float, value: float, mode: str) -> None:
    last = outcome.best
    if last is None or (value > last if mode == "max" else value < last):
        outcome.timeline.append((now, value))


def simulate_asha(
    spec,
    curves: CurveModel,
    workers: int,
    seed: int = 0,
    *,
    budget_s: float | None = None,
    overhead_s: float = 1.5,
    method: str = "service",
    sampler: Any = None,
) -> Outcome:
    """The sweep's searcher and ASHA at ``workers`` trials at once, until ``spec.trials``
    trials have finished, or until ``budget_s`` simulated seconds (what runs then is cut)."""
    from ray.tune.schedulers import TrialScheduler

    from ._searcher import make_scheduler, make_searcher

    if spec.metric != "val_accuracy":
        raise ValueError(f"the curves hold val_accuracy; metric={spec.metric!r} cannot be replayed")
    np.random.seed(seed)  # ASHA draws a trial's bracket with numpy's global generator
    rng = np.random.default_rng(seed)
    searcher = make_searcher(replace(spec, seed=seed), "simulated", None, sampler=sampler)
    scheduler = make_scheduler(spec)
    outcome = Outcome(method, workers, seed)
    clock = Clock()
    running: dict[str, tuple[Any, Curve]] = {}
    counter = itertools.count()

    def start() -> bool:
        trial_id = f"t{next(counter):05d}"
        config = searcher.suggest(trial_id)
        if config is None:
            return False
        trial = SimpleNamespace(trial_id=trial_id)
        curve = curves.curve(config, rng)
        scheduler.on_trial_add(None, trial)
        running[trial_id] = (trial, curve)
        outcome.trials += 1
        clock.at(clock.now + overhead_s + curve.epoch_seconds[0], (trial_id, 1))
        return True

    def open_slots() -> bool:
        return (
            len(running) < workers
            and outcome.trials < spec.trials
            and (budget_s is None or clock.now < budget_s)
        )

    while True:
        while open_slots() and start():
            pass
        if not clock:
            break
        trial_id, epoch = clock.next()
        if budget_s is not None and clock.now > budget_s:  # the budget ends what runs
            clock.now = budget_s
            break
        trial, curve = running[trial_id]
        value = curve.val_accuracy[epoch - 1]
        outcome.trial_epochs += 1
        record_best(outcome, clock.now, value, spec.mode)
        result = {"training_iteration": epoch, "epoch": epoch, spec.metric: value}
        decision = scheduler.on_trial_result(None, trial, result)
        if decision == TrialScheduler.STOP or epoch >= spec.asha.max_epochs:
            searcher.on_trial_complete(trial_id, result)
            scheduler.on_trial_complete(None, trial, result)
            outcome.finished += 1
            outcome.stopped_early += epoch < spec.asha.max_epochs
            del running[trial_id]
        else:
            searcher.on_trial_result(trial_id, result)
            clock.at(clock.now + curve.epoch_seconds[epoch], (trial_id, epoch + 1))
    outcome.makespan = clock.now
    return outcome


def simulate_optuna(
    spec,
    curves: CurveModel,
    workers: int,
    seed: int = 0,
    *,
    budget_s: float | None = None,
    overhead_s: float = 1.5,
    method: str | None = None,
) -> Outcome:
    """Plain Optuna TPE, the seed's way: every trial trains ``max_epochs`` and is told its
    best epoch's value; ``workers`` trials at once share one study (ask at start, tell at
    the end), or one after another with ``workers=1``."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    rng = np.random.default_rng(seed)
    direction = "maximize" if spec.mode == "max" else "minimize"
    study = optuna.create_study(direction=direction, sampler=optuna.samplers.TPESampler(seed=seed))
    name = method or ("optuna_sequential" if workers == 1 else "optuna_parallel")
    outcome = Outcome(name, workers, seed)
    clock = Clock()
    running: dict[int, tuple[Any, Curve]] = {}
    epochs = spec.asha.max_epochs

    def start() -> None:
        trial = study.ask()
        curve = curves.curve(spec.space(trial), rng)
        running[trial.number] = (trial, curve)
        outcome.trials += 1
        clock.at(clock.now + overhead_s + curve.epoch_seconds[0], (trial.number, 1))

    while True:
        while (
            len(running) < workers
            and outcome.trials < spec.trials
            and (budget_s is None or clock.now < budget_s)
        ):
            start()
        if not clock:
            break
        number, epoch = clock.next()
        if budget_s is not None and clock.now > budget_s:
            clock.now = budget_s
            break
        trial, curve = running[number]
        outcome.trial_epochs += 1
        record_best(outcome, clock.now, curve.val_accuracy[epoch - 1], spec.mode)
        if epoch < epochs:
            clock.at(clock.now + curve.epoch_seconds[epoch], (number, epoch + 1))
            continue
        pick = max if spec.mode == "max" else min
        study.tell(trial, pick(curve.val_accuracy[:epochs]))
        outcome.finished += 1
        del running[number]
    outcome.makespan = clock.now
    return outcome


def simulate(
    method: str,
    spec,
    curves: CurveModel,
    workers: int,
    seed: int = 0,
    **kwargs: Any,
) -> Outcome:
    """One simulated sweep of ``method`` (one of :data:`METHODS`)."""
    if method == "service":
        return simulate_asha(spec, curves, workers, seed, method=method, **kwargs)
    if method == "stock":
        stock = replace(spec, feedback="complete")
        return simulate_asha(stock, curves, workers, seed, method=method, **kwargs)
    if method == "random":
        import optuna

        sampler = optuna.samplers.RandomSampler(seed=seed)
        return simulate_asha(spec, curves, workers, seed, method=method, sampler=sampler, **kwargs)
    if method == "optuna_sequential":
        return simulate_optuna(spec, curves, 1, seed, method=method, **kwargs)
    if method == "optuna_parallel":
        return simulate_optuna(spec, curves, workers, seed, method=method, **kwargs)
    raise ValueError(f"method {method!r} is unknown; choose one of {list(METHODS)}")
