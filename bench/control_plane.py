"""The control plane at scale: thousands of replayed trials, dozens at once, on real Ray nodes.

A real redis-server and a real multi-node Ray on this machine (``ray.cluster_utils.Cluster``,
logical CPUs, e.g. 4 nodes x 16), and one sweep of ``trial: replay`` trials (they sleep their
epoch time and report a learning curve: no training) run by the real driver, searcher, ASHA,
Redis callback and Ray Tune checkpoints. Printed as JSON, at the sweep sizes of ``--at``:
trial-slot utilization (slot-seconds occupied by trials, and in epochs, over slots x time),
trials launched per second, the searcher's suggestion latency (p50/p99, wall time and the
driver thread's CPU time) as the study grows, the driver's memory per finished trial and its
growth between sizes, Redis memory per trial (state and the Optuna journal apart), the
event stream's length, Ray Tune's experiment snapshot time, and the latency of ``sweep status``,
``sweep trials --top 10`` and ``sweep list`` at the end, then again with the sweep's trials
copied up to the sizes of ``--cli-at``.

    python bench/control_plane.py                      # 2,000 trials, 64 at once, 10 s epochs
    python bench/control_plane.py --quick              # 200 trials, 16 at once, 0.2 s epochs
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Probe:
    """Instruments the driver in this process: suggestion latency against the study size,
    the experiment snapshot time, and memory when the sweep reaches each size."""

    def __init__(self, sizes: list[int]) -> None:
        # (trials suggested before, wall seconds, the driver thread's CPU seconds): on a
        # crowded machine the wall time is mostly waiting for a core; the CPU time is the cost
        self.suggest: list[tuple[int, float, float]] = []
        self.snapshots: list[float] = []
        self.memory: dict[int, float] = {}
        self.sizes = sizes
        self.finished = 0

    def install(self) -> None:
        from ray.tune.execution.experiment_state import _ExperimentCheckpointManager

        from sweep.search._searcher import FidelityAwareOptunaSearch

        probe = self
        suggest = FidelityAwareOptunaSearch.suggest
        save = _ExperimentCheckpointManager.sync_up_experiment_state

        def timed_suggest(searcher, trial_id):
            began, cpu = time.perf_counter(), time.thread_time()
            params = suggest(searcher, trial_id)
            # only suggestions that made a trial: with every slot taken the searcher answers
            # None at once (Ray asks again when a trial ends), which says nothing of its cost
            if isinstance(params, dict):
                probe.suggest.append(
                    (len(probe.suggest), time.perf_counter() - began, time.thread_time() - cpu)
                )
            return params

        def timed_save(manager, *args, **kwargs):
            began = time.perf_counter()
            try:
                return save(manager, *args, **kwargs)
            finally:
                probe.snapshots.append(time.perf_counter() - began)

        FidelityAwareOptunaSearch.suggest = timed_suggest
        _ExperimentCheckpointManager.sync_up_experiment_state = timed_save

    def callback(self):
        from ray.tune import Callback

        probe = self

        class Sizes(Callback):
            def on_trial_complete(self, iteration, trials, trial, **info):
                probe.finished += 1
                if probe.finished in probe.sizes:
                    probe.memory[probe.finished] = _rss_mb()

        return Sizes()


def _redis_memory(client, sweep_id: str, prefix: str = "sweep:") -> dict:
    state, journal = 0, 0
    for key in client.scan_iter(f"{prefix}{sweep_id}*"):
        size = client.memory_usage(key) or 0
        if b":optuna:" in key:
            journal += size
        else:
            state += size
    return {"state_bytes": state, "journal_bytes": journal}


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def _timed_cli(args: list[str], env: dict) -> float:
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "sweep.cluster", *args], env=env, capture_output=True, text=True
    )
    if done.returncode:
        raise RuntimeError(f"sweep {' '.join(args)}: {done.stderr[-500:]}")
    return round(time.perf_counter() - began, 3)


def _cli_seconds(sweep_id: str, env: dict, repeats: int = 3) -> dict:
    """Median seconds of `sweep status`, `sweep trials --top 10` and `sweep list`, each run
    as a user would (a fresh process: Python's start and imports included)."""
    commands = {
        "status": ["status", sweep_id],
        "trials_top_10": ["trials", sweep_id, "--top", "10"],
        "list": ["list"],
    }
    return {
        name: statistics.median(_timed_cli(args, env) for _ in range(repeats))
        for name, args in commands.items()
    }


def copy_trials(client, keys, sweep_id: str, size: int) -> None:
    """Grow the sweep's trial table and leaderboard to ``size`` with copies of its own
    finished trials under new ids (what `sweep status` and `trials` read), so the commands
    can be timed at sweep sizes this machine cannot run."""
    rows = client.hgetall(keys.trials(sweep_id))
    scores = dict(client.zrange(keys.leaderboard(sweep_id), 0, -1, withscores=True))
    originals = sorted(rows)
    with client.pipeline(transaction=False) as pipe:
        for n in range(len(rows), size):
            source = originals[n % len(originals)]
            record = json.loads(rows[source])
            record["trial_id"] = copy_id = f"{source.decode()}_copy{n}"
            pipe.hset(keys.trials(sweep_id), copy_id, json.dumps(record))
            if source in scores:
                pipe.zadd(keys.leaderboard(sweep_id), {copy_id: scores[source]})
            if n % 1000 == 0:
                pipe.execute()
        pipe.execute()


def utilization(trials: dict, slots: int) -> dict:
    """Slot-seconds occupied by trials (start to end) and spent in epochs, over slots x the
    time from the first start to the last end."""
    spans = [
        (t["started_at"], t["finished_at"])
        for t in trials.values()
        if t.get("started_at") and t.get("finished_at")
    ]
    if not spans:
        return {"occupied": None, "in_epochs": None, "makespan_s": None}
    begin, end = min(s for s, _ in spans), max(e for _, e in spans)
    makespan = max(end - begin, 1e-9)
    occupied = sum(e - s for s, e in spans)
    in_epochs = sum(float(t.get("train_seconds") or 0.0) for t in trials.values())
    return {
        "occupied": round(occupied / (slots * makespan), 3),
        "in_epochs": round(in_epochs / (slots * makespan), 3),
        "makespan_s": round(makespan, 1),
        "trials_per_second": round(len(spans) / makespan, 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=None, help="2000 (--quick: 200)")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--nodes", type=int, default=4, help="worker nodes (4)")
    parser.add_argument("--cpus-per-node", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=4, help="ASHA max epochs (4)")
    parser.add_argument("--epoch-seconds", type=float, default=10.0)
    parser.add_argument("--at", default=None, help="sweep sizes to report at (e.g. 200,1000)")
    parser.add_argument(
        "--cli-at",
        default="2000,10000",
        help="after the sweep, copy its trials up to these sizes and time the CLI again",
    )
    parser.add_argument("--quick", action="store_true", help="200 trials, 16 at once, 0.2 s")
    args = parser.parse_args(argv)
    if args.quick:
        args.concurrency, args.nodes, args.cpus_per_node = 16, 2, 8
        args.epoch_seconds = 0.2
    if args.trials is None:
        args.trials = 200 if args.quick else 2000
    sizes = sorted({int(v) for v in (args.at or "").split(",") if v} | {args.trials})
    sizes = [s for s in sizes if s <= args.trials] or [args.trials]
    if min(args.trials, args.concurrency, args.nodes, args.cpus_per_node) < 1:
        parser.error("--trials, --concurrency, --nodes and --cpus-per-node must be at least 1")

    import ray
    import redis
    from ray.cluster_utils import Cluster

    from sweep.cluster import RedisStateStore
    from sweep.cluster._malloc import limit_malloc_arenas
    from sweep.cluster._runner import execute_sweep
    from sweep.search import parse_sweep_spec, spec_to_dict

    # as `sweep launch` and the Ray job do before Ray starts: the driver's arenas (_malloc);
    # MALLOC_ARENA_MAX in the environment wins (e.g. 16 measures glibc's default on 2 cores)
    limit_malloc_arenas()
    probe = Probe(sizes)
    probe.install()
    # stdout is the JSON alone: Ray's processes inherit file descriptor 1 and print warnings
    # there (even at shutdown), so it points at stderr until the report is written
    sys.stdout.flush()
    json_out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    port = _free_port()
    with tempfile.TemporaryDirectory() as folder:
        server = subprocess.Popen(
            [
                *("redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", folder),
                *("--appendonly", "yes", "--save", ""),
            ],
            stdout=subprocess.DEVNULL,
        )
        url = f"redis://127.0.0.1:{port}/0"
        cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})
        try:
            for _ in range(args.nodes):
                cluster.add_node(num_cpus=args.cpus_per_node)
            cluster.wait_for_nodes()
            ray.init(address=cluster.address, log_to_driver=False)
            for _ in range(100):
                try:
                    redis.Redis(port=port).ping()
                    break
                except redis.ConnectionError:
                    time.sleep(0.05)
            spec = parse_sweep_spec(
                {
                    "name": "control-plane",
                    "trial": "replay",
                    "replay": {"epoch_seconds": args.epoch_seconds, "checkpoint_bytes": 4096},
                    "trials": args.trials,
                    "concurrency": args.concurrency,
                    "asha": {"max_epochs": args.epochs, "grace_period": 1, "reduction_factor": 2},
                    "storage": str(Path(folder) / "runs"),
                    "shared_storage": True,  # one machine: every node sees this folder
                    "max_failures": 1,
                }
            )
            store = RedisStateStore(url)
            sweep_id = "control-plane-bench"
            store.create_sweep(sweep_id, spec_to_dict(spec), spec.storage)
            began = time.monotonic()
            rss_before = _rss_mb()
            execute_sweep(sweep_id, url, progress=False, extra_callbacks=[probe.callback()])
            wall = time.monotonic() - began
            record = store.get_sweep(sweep_id)
            trials = store.trials(sweep_id)
            client = redis.Redis(port=port)
            env = {**os.environ, "SWEEP_REDIS_URL": url}
            cli = _cli_seconds(sweep_id, env)
            redis_per_trial = {  # before the copies below
                k: round(v / max(1, len(trials)))
                for k, v in _redis_memory(client, sweep_id).items()
            }
            events = client.xlen(f"sweep:{sweep_id}:events")
            cli_copied = {}
            for size in sorted({int(v) for v in args.cli_at.split(",") if v}):
                if size > len(trials):
                    copy_trials(client, store.keys, sweep_id, size)
                    rows = client.hlen(store.keys.trials(sweep_id))
                    cli_copied[str(size)] = {"trial_rows": rows, **_cli_seconds(sweep_id, env)}
            suggestion = {}
            for size in sizes:
                window = [(wall, cpu) for n, wall, cpu in probe.suggest if n < size][-200:]
                walls, cpus = [w for w, _ in window], [c for _, c in window]
                suggestion[str(size)] = {
                    "p50_ms": round(1000 * (_percentile(walls, 0.5) or 0), 2),
                    "p99_ms": round(1000 * (_percentile(walls, 0.99) or 0), 2),
                    "cpu_p50_ms": round(1000 * (_percentile(cpus, 0.5) or 0), 2),
                    "cpu_p99_ms": round(1000 * (_percentile(cpus, 0.99) or 0), 2),
                }
            memory = {
                str(size): round(1024 * (mb - rss_before) / size, 1)
                for size, mb in probe.memory.items()
            }
            # what each further finished trial adds, between successive sizes: the figure the
            # target is about (the first trials also pay for imports and Ray Tune's setup)
            grown = sorted(probe.memory.items())
            growth = {
                f"{a}-{b}": round(1024 * (mb_b - mb_a) / (b - a), 1)
                for (a, mb_a), (b, mb_b) in itertools.pairwise(grown)
            }
            report = {
                "benchmark": "control_plane",
                "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
                "ray_nodes": f"{args.nodes} x {args.cpus_per_node} logical CPUs (+ a 0-CPU head)",
                "trials": args.trials,
                "concurrency": args.concurrency,
                "epoch_seconds": args.epoch_seconds,
                "max_epochs": args.epochs,
                "status": record["status"],
                "finished_trials": sum(t["status"] == "TERMINATED" for t in trials.values()),
                "wall_s": round(wall, 1),
                "utilization": utilization(trials, args.concurrency),
                "suggestion_latency_by_study_size": suggestion,
                "driver_kb_per_finished_trial": memory,
                "driver_kb_growth_per_trial_between_sizes": growth,
                "redis_bytes_per_trial": redis_per_trial,
                "events_stream_length": events,
                "experiment_snapshot_s": {
                    "count": len(probe.snapshots),
                    "p50": round(statistics.median(probe.snapshots), 4)
                    if probe.snapshots
                    else None,
                    "max": round(max(probe.snapshots), 4) if probe.snapshots else None,
                },
                "cli_seconds_at_end": cli,
                "cli_seconds_with_copied_trials": cli_copied,
            }
        finally:
            ray.shutdown()
            cluster.shutdown()
            server.terminate()
            server.wait(10)
    print(json.dumps(report, indent=2), file=json_out, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
