"""Ray Tune callbacks: mirror every trial event into the state store as it happens, stop
the sweep when it is cancelled, and print a live progress line."""

from __future__ import annotations

import collections
import logging
import math
import time
from collections.abc import Callable, Collection
from typing import Any

import click
from ray.tune import Callback, Stopper

from sweep.search import lost_on_restore
from sweep.states import TrialStatus

from ._status import CANCELLED
from ._store import StateRegressed, StateStore

log = logging.getLogger(__name__)
LOST_ON_RESTORE = (
    "the checkpoint this trial was resumed from was gone (the killed driver's last "
    "snapshot predates it), so the resumed sweep ran another trial in its place"
)
_METRIC_KEYS = (
    "loss",
    "accuracy",
    "val_loss",
    "val_accuracy",
    "val_auc",
    "val_macro_f1",
    "epoch_seconds",
    "params",
    "latency_ms",
)


class RedisStateCallback(Callback):
    """Writes trial start / result / stop / error to the state store.

    Writes that fail (Redis restarting, network blip) are buffered in order and flushed at
    the next event, so a short outage loses nothing and never fails the sweep.
    """

    finished_in_study: Callable[[], Collection[str]] | None = None  # pickles of older versions
    _finished_ids: set[str] | None = None

    def __init__(
        self,
        store: StateStore,
        sweep_id: str,
        metric: str,
        mode: str,
        max_epochs: int,
        finished_in_study: Callable[[], Collection[str]] | None = None,
    ) -> None:
        self.store = store
        self.sweep_id = sweep_id
        self.metric = metric
        self.mode = mode
        # Ray trial ids the searcher saw finish (the Optuna study): a trial can finish there
        # and the driver die before this callback hears of it. Picklable: Ray pickles us.
        self.finished_in_study = finished_in_study
        self.max_epochs = max_epochs
        self._records: dict[str, dict[str, Any]] = {}
        self._pending: collections.deque = collections.deque()
        self._settled: set[str] = set()  # finished before a restart: writes are skipped
        self._finished_ids: set[str] | None = None

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_pending"] = collections.deque()
        state["_finished_ids"] = None
        return state

    # -- helpers ------------------------------------------------------------------------
    def _record(self, trial) -> dict[str, Any]:
        rec = self._records.get(trial.trial_id)
        if rec is None:
            rec = {
                "trial_id": trial.trial_id,
                "config": dict(trial.config or {}),
                "status": TrialStatus.PENDING,
                "epochs": 0,
                "best": None,
                "best_epoch": None,
                "metrics": {},
                "history": [],
                "node_ip": None,
                "started_at": None,
            }
            self._records[trial.trial_id] = rec
        return rec

    def _write(self, trial_id: str, event: str) -> None:
        rec = self._records[trial_id]
        self._pending.append((trial_id, dict(rec), rec.get("best"), event))
        self.flush()

    def flush(self) -> bool:
        while self._pending:
            trial_id, rec, score, event = self._pending[0]
            try:
                self.store.write_trial(self.sweep_id, trial_id, rec, score, event)
            except StateRegressed:
                raise  # fatal: never continue on a Redis that went backwards
            except Exception as exc:  # keep the sweep going; retry at the next event
                log.warning(
                    "state store write buffered (%d pending): %s",
                    len(self._pending),
                    type(exc).__name__,
                )
                return False
            self._pending.popleft()
        return True

    # -- Tune hooks ---------------------------------------------------------------------
    def on_trial_start(self, iteration, trials, trial, **info):
        if trial.trial_id in self._settled:
            return
        first_sight = trial.trial_id not in self._records
        if first_sight and self._finished_before(trial):
            return
        if getattr(trial, "latest_checkpoint_result", None) and self._restored(trial):
            return
        rec = self._record(trial)
        rec.update(status=TrialStatus.RUNNING, started_at=rec["started_at"] or time.time())
        self._write(trial.trial_id, "started")

    def on_trial_restore(self, iteration, trials, trial, **info):
        if trial.trial_id in self._settled:
            return
        self._record(trial)["restored"] = self._record(trial).get("restored", 0) + 1
        self._write(trial.trial_id, "restored")

    def on_trial_recover(self, iteration, trials, trial, **info):
        """A failed trial (e.g. its node died) is retried under FailureConfig."""
        if trial.trial_id in self._settled:
            return
        rec = self._record(trial)
        rec["recovered"] = rec.get("recovered", 0) + 1
        rec["last_failure"] = _error_text(trial)
        rec["status"] = TrialStatus.PENDING
        self._write(trial.trial_id, "recovered")

    def on_trial_result(self, iteration, trials, trial, result, **info):
        if trial.trial_id in self._settled:
            return
        rec = self._record(trial)
        value = result.get(self.metric)
        epoch = int(result.get("epoch", result.get("training_iteration", 0)))
        if epoch > rec["epochs"]:
            rec["train_seconds"] = rec.get("train_seconds", 0.0) + float(
                result.get("epoch_seconds", 0.0)
            )
        rec["epochs"] = epoch
        rec["metrics"] = {k: result[k] for k in _METRIC_KEYS if k in result}
        rec["node_ip"] = result.get("node_ip", rec["node_ip"])
        rec["node_id"] = result.get("node_id")
        if value is not None and math.isfinite(value):
            rec["history"] = [*rec["history"][: epoch - 1], value]
            better = rec["best"] is None or (
                value > rec["best"] if self.mode == "max" else value < rec["best"]
            )
            if better:
                rec["best"], rec["best_epoch"] = float(value), epoch
        self._write(trial.trial_id, "reported")

    def on_trial_complete(self, iteration, trials, trial, **info):
        if trial.trial_id in self._settled:
            return
        rec = self._record(trial)
        rec["status"] = TrialStatus.TERMINATED
        rec["stopped_early"] = rec["epochs"] < self.max_epochs
        rec["finished_at"] = time.time()
        self._write(trial.trial_id, "stopped_early" if rec["stopped_early"] else "completed")

    def on_trial_error(self, iteration, trials, trial, **info):
        if trial.trial_id in self._settled:
            return
        rec = self._record(trial)
        rec["finished_at"] = time.time()
        rec["error"] = _error_text(trial)
        if lost_on_restore(rec["error"]):
            rec["status"], rec["error"] = TrialStatus.LOST, f"{LOST_ON_RESTORE}: {rec['error']}"
            self._write(trial.trial_id, "lost")  # a resumed sweep runs a replacement
            return
        rec["status"] = TrialStatus.ERROR
        self._write(trial.trial_id, "errored")

    def _finished_before(self, trial) -> bool:
        """A driver that died finished this trial (Redis says so), and Ray, resumed from an
        older snapshot, runs it again: its record is final, nothing of the rerun is kept."""
        try:
            stored = self.store.trial(self.sweep_id, trial.trial_id)
        except Exception:  # unreachable store: Ray's own restore decides
            return False
        if stored and stored.get("status") == TrialStatus.TERMINATED:
            self._settled.add(trial.trial_id)
            return True
        return False

    def _restored(self, trial) -> bool:
        """Ray restores ``trial`` from a checkpoint after the driver died: go on from its
        stored record. True when it had in fact finished (Ray's last snapshot predates the
        end): its record is final, nothing of the rerun is kept."""
        try:
            stored = self.store.trial(self.sweep_id, trial.trial_id)
        except Exception:  # unreachable store: record the loss, the replacement still runs
            return False
        if not stored:  # (one it finished was settled by _finished_before)
            return False
        rec = {k: v for k, v in stored.items() if k != "error"}
        self._records[trial.trial_id] = {**rec, "status": TrialStatus.PENDING}
        if trial.trial_id not in self._study_finished():
            return False
        # the searcher recorded the end, the driver died before this callback heard of it
        rec = self._records[trial.trial_id]
        rec["status"] = TrialStatus.TERMINATED
        rec["stopped_early"] = rec["epochs"] < self.max_epochs
        rec["finished_at"] = time.time()
        rec["closed_on_resume"] = "finished before its driver died, recorded on resume"
        self._write(trial.trial_id, "stopped_early" if rec["stopped_early"] else "completed")
        self._settled.add(trial.trial_id)
        return True

    def _study_finished(self) -> Collection[str]:
        if self.finished_in_study is None:
            return ()
        if self._finished_ids is None:
            try:
                self._finished_ids = set(self.finished_in_study())
            except Exception:  # unreachable study: Ray's own restore decides
                log.warning("could not read the finished trials of the Optuna study")
                return ()
        return self._finished_ids

    def on_experiment_end(self, trials, **info):
        if not self.flush():
            time.sleep(1.0)
            self.flush()


def _error_text(trial) -> str:
    try:
        path = trial.error_file
        if path:
            with open(path) as fh:
                lines = [ln for ln in fh.read().strip().splitlines() if ln.strip()]
                return lines[-1][:500] if lines else "unknown error"
    except OSError:
        pass
    return "trial failed (no error file)"


class CancelStopper(Stopper):
    """Stops every trial once the sweep's status in the store is ``cancelled``."""

    def __init__(self, store: StateStore, sweep_id: str, every_s: float = 2.0) -> None:
        self.store = store
        self.sweep_id = sweep_id
        self.every_s = every_s
        self._checked = 0.0
        self._cancelled = False

    def __call__(self, trial_id, result):
        return self.stop_all()

    def stop_all(self) -> bool:
        now = time.monotonic()
        if not self._cancelled and now - self._checked >= self.every_s:
            self._checked = now
            try:
                record = self.store.get_sweep(self.sweep_id) or {}
                self._cancelled = record.get("status") == CANCELLED
            except Exception:  # an unreachable store must not stop the sweep
                pass
        return self._cancelled


class ProgressCallback(Callback):
    """One line per change: trials running / done / stopped early / errored, best so far."""

    def __init__(self, metric: str, mode: str, max_epochs: int, total: int) -> None:
        self.metric, self.mode, self.max_epochs, self.total = metric, mode, max_epochs, total
        self._best: float | None = None
        self._last = ""

    def _show(self, trials) -> None:
        running = sum(t.status == TrialStatus.RUNNING for t in trials)
        done = [t for t in trials if t.status == TrialStatus.TERMINATED]
        early = sum(
            (t.last_result or {}).get("training_iteration", 0) < self.max_epochs for t in done
        )
        errored = sum(t.status == TrialStatus.ERROR for t in trials)
        best = "-" if self._best is None else f"{self._best:.4f}"
        line = (
            f"trials {len(done) + errored}/{self.total} done ({early} stopped early, "
            f"{errored} errored), {running} running; best {self.metric} {best}"
        )
        if line != self._last:
            self._last = line
            click.echo(line)

    def on_trial_result(self, iteration, trials, trial, result, **info):
        value = result.get(self.metric)
        if (
            value is not None
            and math.isfinite(value)
            and (
                self._best is None
                or (value > self._best if self.mode == "max" else value < self._best)
            )
        ):
            self._best = float(value)
        self._show(trials)

    def on_trial_complete(self, iteration, trials, trial, **info):
        self._show(trials)

    def on_trial_error(self, iteration, trials, trial, **info):
        self._show(trials)
