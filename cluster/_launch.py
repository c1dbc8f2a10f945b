"""Launching a sweep, the package's side of ``sweep launch | resume | extend`` and of
``sweep.launch``: settle the spec for where the driver runs, record the sweep, then run the
driver here or submit it as a Ray job, and follow a job until the sweep ends."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from sweep.states import SweepStatus

from ._status import FINAL
from ._store import StateStore


class LaunchRefused(ValueError):
    """The sweep cannot run where asked (its data missing, node-local storage on a cluster
    of several machines, Ray unreachable or short of resources): nothing was recorded or
    submitted. The message names the value and the fix."""


def is_job_api(address: str | None) -> bool:
    """http(s):// is the dashboard's job API (submit a Ray job); host:port, auto or ray://
    connect this process as the driver."""
    return bool(address) and address.startswith(("http://", "https://"))


def place(spec: Any, address: str | None) -> Any:
    """Settle the spec's paths for where the driver runs and refuse what cannot work there
    (``LaunchRefused``), before anything is recorded or submitted; a ``Placement``."""
    from ._placement import Placement, place_for_job, place_here
    from ._ray import RayUnavailable, cluster_nodes
    from ._storage import storage_refusal

    if is_job_api(address):
        placement = place_for_job(spec, address)
        try:
            nodes = cluster_nodes(address)
        except RayUnavailable as exc:
            raise LaunchRefused(str(exc)) from None
    else:
        import ray

        from ._runner import check_resources, ensure_ray
        from ._storage import connected_nodes

        placement = Placement(place_here(spec))
        ensure_ray(address)
        check_resources(placement.spec, ray.cluster_resources())
        nodes = connected_nodes()
    where = address or "this machine"
    refusal = storage_refusal(placement.spec.storage, placement.spec.shared_storage, nodes, where)
    if refusal:
        raise LaunchRefused(refusal)
    return placement


def record_sweep(store: StateStore, placement: Any, warm_start: Iterable[str] = ()) -> str:
    """Record a new sweep of the placed spec (status pending); its id."""
    from sweep.search import spec_to_dict

    from ._keys import new_sweep_id

    spec = placement.spec
    sweep_id = new_sweep_id(spec.name)
    store.create_sweep(sweep_id, spec_to_dict(spec), spec.storage)
    if warm_start := list(warm_start):
        store.set_fields(sweep_id, warm_start_from=warm_start)
    if placement.data_upload:
        store.set_fields(sweep_id, data_upload=placement.data_upload)
    return sweep_id


def submit(
    store: StateStore,
    sweep_id: str,
    address: str,
    prefix: str,
    *,
    resume: bool = False,
    uploads: dict | None = None,
) -> str:
    """Submit the sweep's driver as a Ray job to the dashboard at ``address``; the job id.
    A refused submission fails a new sweep and leaves a resumed one as it was."""
    from ._ray import RayUnavailable, submit_sweep_job

    action = "resume" if resume else "run"
    try:
        job_id = submit_sweep_job(address, sweep_id, store.url, action, prefix, uploads)
    except RayUnavailable as exc:
        if not resume:
            store.move(sweep_id, SweepStatus.FAILED, error=str(exc))
        raise LaunchRefused(str(exc)) from None
    store.set_fields(sweep_id, ray_job_id=job_id, ray_address=address)
    return job_id


def run_here(
    store: StateStore,
    sweep_id: str,
    address: str | None,
    prefix: str,
    *,
    resume: bool = False,
    progress: bool = True,
) -> dict[str, Any]:
    """Run the sweep's driver in this process (connected to ``address``, else a local Ray);
    the final record. A failure propagates, with the sweep recorded failed."""
    from ._runner import execute_sweep

    return execute_sweep(
        sweep_id,
        store.url,
        prefix=prefix,
        resume=resume,
        ray_address=address,
        progress=progress,
        check_local_resources=not resume,
    )


def progress_line(store: StateStore, sweep_id: str, record: dict[str, Any]) -> str:
    """One line of a sweep's progress: status, trials done and running, the best metric."""
    from ._common import trial_counts

    c = trial_counts(store.trials(sweep_id))
    best = store.leaderboard(sweep_id, record.get("spec", {}).get("mode", "max"), 1)
    if not best:
        return f"[{record.get('status')}] trials {c['done']} done, {c['running']} running"
    return (
        f"[{record.get('status')}] trials {c['done'] + c['errored']} done "
        f"({c['stopped_early']} stopped early, {c['errored']} errored), "
        f"{c['running']} running; best {best[0][1]:.4f}"
    )


def follow(
    store: StateStore,
    sweep_id: str,
    *,
    address: str | None = None,
    job_id: str | None = None,
    interval: float = 2.0,
    on_update: Callable[[dict[str, Any]], None] = lambda record: None,
    stop: threading.Event | None = None,
) -> dict[str, Any]:
    """Wait for the sweep to reach a final status, passing its record to ``on_update`` at
    each look (``cluster._live`` shows it); the final record. A Ray job (``address``,
    ``job_id``) that ends before the sweep does (driver crashed, could not reach Redis, ...)
    fails the sweep with the job's last log lines. ``stop`` ends the wait early."""
    import redis

    from ._ray import job_log_tail, job_status
    from ._settings import redis_patience_s

    ended_since = down_since = None
    patience = redis_patience_s()
    while True:
        try:
            record = store.get_sweep(sweep_id) or {}
        except (redis.ConnectionError, redis.TimeoutError):
            # the driver waits out an outage as long (``PatientRetry``): so does its follower
            down_since = down_since or time.monotonic()
            if time.monotonic() - down_since > patience:
                raise
            if stop and stop.is_set():
                return {}
            record = None
        else:
            down_since = None
            on_update(record)
            if record.get("status") in FINAL or (stop and stop.is_set()):
                return record
        if address and job_id and record is not None:
            status = job_status(address, job_id)
            if status in ("SUCCEEDED", "FAILED", "STOPPED"):
                ended_since = ended_since or time.monotonic()
                if time.monotonic() - ended_since > 3 * interval:  # its last writes are in
                    tail = job_log_tail(address, job_id)
                    error = f"Ray job {job_id} ended {status} before the sweep finished: {tail}"
                    store.move(sweep_id, SweepStatus.FAILED, error=error[:2000])
                    record = store.get_sweep(sweep_id) or {}
                    on_update(record)
                    return record
        if stop is not None:
            stop.wait(interval)
        else:
            time.sleep(interval)
