"""Run a recorded sweep in this process: the entry point of the Ray job (driver).

``python -m sweep.cluster.job run ID`` on the cluster, or in-process for a local sweep.
"""

from __future__ import annotations

import functools
import logging
import os
from pathlib import Path
from typing import Any

from sweep.states import TrialStatus

from ._artifacts import metadata_sha256
from ._callback import CancelStopper, ProgressCallback, RedisStateCallback
from ._malloc import limit_malloc_arenas
from ._optuna_journal import optuna_storage
from ._redis_store import RedisGone, RedisStateStore
from ._settings import redis_patience_s
from ._status import CANCELLED, FAILED, RUNNING, SUCCEEDED
from ._storage import check_storage_from_nodes

log = logging.getLogger(__name__)


def ensure_ray(address: str | None = None, **init_kwargs: Any) -> None:
    """Connect to ``address`` (or RAY_ADDRESS, as inside a Ray job), else start a local Ray
    bound to 127.0.0.1."""
    os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")
    limit_malloc_arenas()  # before Ray starts its threads: see _malloc
    import ray

    if ray.is_initialized():
        return
    address = address or os.environ.get("RAY_ADDRESS") or None
    if address:
        ray.init(address=address, log_to_driver=False, **init_kwargs)
    else:
        start_local_ray(**init_kwargs)


def start_local_ray(**init_kwargs: Any) -> None:
    """A new private Ray on this machine (node address 127.0.0.1, no dashboard).

    ``address="local"``: never whatever ``/tmp/ray/ray_current_cluster`` names, which is Ray's
    default for no address; an earlier ``ray start`` or a ``Cluster`` that was killed leaves
    that file behind, and ``ray.init`` would hang on the dead address."""
    import ray

    ray.init(
        address="local",
        include_dashboard=False,
        log_to_driver=False,
        _node_ip_address="127.0.0.1",
        **init_kwargs,
    )


def check_resources(spec, available: dict[str, float]) -> None:
    """Refuse per-trial resources that no node of this (non-autoscaling) cluster can give."""
    from sweep.search import SpecError

    if spec.resources.cpus > available.get("CPU", 0):
        raise SpecError(
            f"resources.cpus={spec.resources.cpus} but the cluster has "
            f"{available.get('CPU', 0):g} CPUs; lower resources.cpus"
        )
    if spec.resources.gpus > available.get("GPU", 0):
        raise SpecError(
            f"resources.gpus={spec.resources.gpus} but the cluster has "
            f"{available.get('GPU', 0):g} GPUs; set resources.gpus: 0 or add GPU "
            "workers"
        )


# statuses a trial keeps once the sweep is done with it
CLOSED = tuple(s for s in TrialStatus if s.closed)


def close_open_trials(
    store, sweep_id: str, known=(), status: str = TrialStatus.LOST, reason: str | None = None
) -> list[str]:
    """Trials left open when a sweep ends (started by a killed driver and never checkpointed
    by Ray Tune, or stopped by a cancel) are closed with ``status`` in Redis and as FAIL in
    the Optuna study, so nothing stays RUNNING forever."""
    import optuna

    from sweep.search._searcher import LOST_REASON, RAY_TRIAL_ATTR

    reason = LOST_REASON if reason is None else reason
    closed = []
    for trial_id, rec in store.trials(sweep_id).items():
        if trial_id not in known and rec.get("status") not in CLOSED:
            store.write_trial(
                sweep_id, trial_id, {**rec, "status": status, "error": reason}, None, status.lower()
            )
            closed.append(trial_id)
    storage = optuna_storage(
        store.url, sweep_id, store.keys, patience_s=getattr(store, "patience_s", None)
    )
    study = optuna.load_study(study_name=sweep_id, storage=storage)
    for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        if trial.system_attrs.get(RAY_TRIAL_ATTR) in known:
            continue  # Ray Tune still has it: closed by the next call, with its own status
        storage.set_trial_system_attr(trial._trial_id, f"sweep:{status.lower()}", reason)
        storage.set_trial_state_values(trial._trial_id, optuna.trial.TrialState.FAIL)
    return closed


def _stopped_reason(spec) -> str:
    if spec.time_budget_s is not None:
        return f"running when the sweep's time budget (time_budget_s={spec.time_budget_s:g}) ended"
    return "running when the sweep ended"


def uploaded_data(store, sweep_id: str, record: dict[str, Any], spec):
    """The spec reading a data file uploaded with the job: from the job's working dir on the
    first run, which also copies it into the sweep's storage (``<experiment>/inputs/``) for
    the resumes and extensions that come without it; from there afterwards."""
    from dataclasses import replace

    import pyarrow.fs as pafs

    from sweep.search import experiment_path, join_storage

    upload = record.get("data_upload")
    if not upload:
        return spec
    here = Path(spec.data.source)
    stored = upload.get("stored")
    if stored is None:
        if not here.is_file():
            raise FileNotFoundError(
                f"the data uploaded with this sweep's job ({upload['from']}) is not in the "
                f"job's working dir ({here}), and was never stored"
            )
        stored = join_storage(experiment_path(spec, sweep_id), "inputs", upload["name"])
        if "://" in stored:
            fs, path = pafs.FileSystem.from_uri(stored)
        else:
            fs, path = pafs.LocalFileSystem(), stored
        fs.create_dir(path.rsplit("/", 1)[0])
        pafs.copy_files(str(here.resolve()), path, destination_filesystem=fs)
        store.set_fields(sweep_id, data_upload={**upload, "stored": stored})
    source = str(here.resolve()) if here.is_file() else stored
    return replace(spec, data=replace(spec.data, source=source))


WARM_START_TOP = 3  # best configurations taken from each earlier sweep


def sweep_runs(record: dict[str, Any]):
    """The sweep's Ray Tune runs (one per launch or extend), oldest first."""
    from sweep.search import Run

    spec_trials = int((record.get("spec") or {}).get("trials", 1))
    rows = record.get("runs") or [{"name": record["id"], "trials": spec_trials, "index": 0}]
    return [Run(r["name"], int(r["trials"]), int(r.get("index", i))) for i, r in enumerate(rows)]


def recorded_fingerprint(record: dict[str, Any]) -> str | None:
    """The data fingerprint of a sweep: recorded by its driver, else in its exported model."""
    if record.get("data_fingerprint"):
        return record["data_fingerprint"]
    artifact = record.get("artifact")
    if artifact and "://" not in artifact:
        try:
            import json

            meta = json.loads((Path(artifact) / "metadata.json").read_text())
            return meta.get("data", {}).get("fingerprint")
        except (OSError, ValueError):
            return None
    return None


def warm_sources(store, sweep_ids, top: int = WARM_START_TOP):
    """The best ``top`` configurations of each earlier sweep, with its data fingerprint."""
    from sweep.search import WarmSource

    out = []
    for source_id in sweep_ids:
        record = store.get_sweep(source_id) or {}
        mode = (record.get("spec") or {}).get("mode", "max")
        fingerprint = recorded_fingerprint(record)
        trials = store.trials(source_id)
        for trial_id, _ in store.leaderboard(source_id, mode, top):
            if trial_id in trials:
                config = trials[trial_id].get("config") or {}
                out.append(WarmSource(f"{source_id}/{trial_id}", fingerprint, config))
    return out


def scored_trials(store, sweep_id: str, spec, cost: str | None = None):
    """Trials with a metric and a measured cost, from the state store."""
    from sweep.search import Scored

    cost = cost or spec.cost or "params"
    rows = (Scored.from_record(r, cost) for r in store.trials(sweep_id).values())
    return [r for r in rows if r is not None]


def pareto_records(store, sweep_id: str, spec, cost: str | None = None) -> list[dict[str, Any]]:
    """The Pareto front (metric against cost) as records for the sweep hash."""
    from sweep.search import pareto_front

    cost = cost or spec.cost or "params"
    return [
        {"trial_id": r.trial_id, spec.metric: r.value, "epoch": r.epoch, cost: r.cost}
        for r in pareto_front(scored_trials(store, sweep_id, spec, cost), spec.mode)
    ]


def execute_sweep(
    sweep_id: str,
    redis_url: str,
    *,
    prefix: str = "sweep:",
    ray_address: str | None = None,
    resume: bool = False,
    progress: bool = True,
    check_local_resources: bool = False,
    extra_callbacks: tuple = (),
) -> dict[str, Any]:
    """Run (or resume) the sweep recorded in Redis; returns the final sweep record.

    ``extra_callbacks``: more Ray Tune callbacks (benchmarks measure the run with them)."""
    limit_malloc_arenas()  # before Ray is imported here (ensure_ray's call comes later): _malloc
    import ray

    from sweep.search import (
        finished_ray_trials,
        join_storage,
        parse_recorded_spec,
        run_sweep,
        storage_root,
    )

    # objects Ray pickles (state store, Optuna journal backend) drop the password and read
    # it back from here when unpickled, e.g. by Tuner.restore on resume
    os.environ["SWEEP_REDIS_URL"] = redis_url
    patience = redis_patience_s()
    RedisStateStore(redis_url, prefix).ping()  # unreachable at the start: fail at once
    # from here, a Redis outage pauses the driver for up to ``patience`` s instead of ending
    # the sweep: the state store, the callback's store and the searcher's study all wait
    store = RedisStateStore(redis_url, prefix, patience_s=patience)
    record = store.get_sweep(sweep_id)
    if record is None:
        raise KeyError(f"sweep {sweep_id!r} is not recorded in Redis ({store!r})")
    spec = parse_recorded_spec(record["spec"])
    try:
        ensure_ray(ray_address)
        if check_local_resources:
            check_resources(spec, ray.cluster_resources())
        # every node writes there (trials' checkpoints): a folder only the head has fails
        # here, with the nodes named, rather than at the first checkpoint
        check_storage_from_nodes(storage_root(spec))
        spec = uploaded_data(store, sweep_id, record, spec)
        if resume:
            store.move(sweep_id, RUNNING, resume=True, reason="resumed")
        elif record["status"] != RUNNING:
            store.move(sweep_id, RUNNING)
        runs = sweep_runs(record)
        study = optuna_storage(redis_url, sweep_id, store.keys, patience_s=patience)
        finished = functools.partial(finished_ray_trials, study, sweep_id)
        callbacks = [
            RedisStateCallback(
                store, sweep_id, spec.metric, spec.mode, spec.asha.max_epochs, finished
            )
        ]
        if progress:
            callbacks.append(
                ProgressCallback(spec.metric, spec.mode, spec.asha.max_epochs, runs[-1].trials)
            )
        callbacks.extend(extra_callbacks)
        outcome = run_sweep(
            spec,
            sweep_id,
            optuna_storage=study,
            callbacks=callbacks,
            stopper=CancelStopper(store, sweep_id),
            on_status=lambda status, **fields: store.move(sweep_id, status, **fields),
            resume=resume,
            progress=progress,
            runs=runs,
            warm_sources=warm_sources(store, record.get("warm_start_from") or []),
            on_fields=lambda **fields: store.set_fields(sweep_id, **fields),
        )
        close_open_trials(store, sweep_id, {t.trial_id for t in outcome.trials})
        # what Ray Tune still ran when the run ended (its time budget): kept with its epochs
        close_open_trials(store, sweep_id, status=TrialStatus.STOPPED, reason=_stopped_reason(spec))
        finished = {
            "best_trial": outcome.winner.trial_id,
            "best_metric": outcome.winner.value,
            "experiment": join_storage(storage_root(spec), runs[-1].name),
            "pareto": pareto_records(store, sweep_id, spec),
        }
        if outcome.artifact is not None:  # a replayed sweep exports nothing
            finished.update(
                artifact=outcome.artifact,
                artifact_sha256=metadata_sha256(outcome.artifact),
                test_metrics={
                    "accuracy": outcome.test.accuracy,
                    "f1": outcome.test.f1,
                    "roc_auc": outcome.test.roc_auc,
                    "loss": outcome.test.loss,
                    "macro_f1": outcome.test.macro_f1,
                    "classes": outcome.test.classes,
                },
            )
        store.move(sweep_id, SUCCEEDED, **finished)
    except BaseException as exc:
        if isinstance(exc, RedisGone):  # nothing more can be recorded; resume when it is back
            raise
        current = (store.get_sweep(sweep_id) or {}).get("status")
        if current == CANCELLED:
            try:
                close_open_trials(
                    store,
                    sweep_id,
                    status=TrialStatus.CANCELLED,
                    reason="stopped by `sweep cancel`",
                )
            except Exception:
                log.exception("could not close the trials of cancelled sweep %s", sweep_id)
        if current not in (CANCELLED, SUCCEEDED, FAILED):
            reason = (
                "interrupted"
                if isinstance(exc, KeyboardInterrupt)
                else f"{type(exc).__name__}: {exc}"
            )
            try:
                store.move(sweep_id, FAILED, error=reason[:2000])
            except Exception:
                log.exception("could not record the failure of sweep %s", sweep_id)
        raise
    return store.get_sweep(sweep_id) or {}
