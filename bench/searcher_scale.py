"""The sweep's searcher as the study grows: suggestion latency at study sizes up to N.

The real searcher (``sweep.search._searcher.make_searcher``: TPE behind the fidelity-aware
``OptunaSearch``, with the run's quota and the concurrency limit the driver sets) on the
default space, asked and told N trials in turn (a quarter each
stopped at 1, 2, 3 and 4 epochs, as ASHA leaves them), with its study in memory and in
Redis (the journal a sweep uses). Prints p50 and p99 of the suggestion time over the 50
suggestions before each size, and the study's size in Redis.

    python bench/searcher_scale.py                # N = 2000, sizes 200, 1000, 2000
    python bench/searcher_scale.py --quick        # N = 100
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def measure(storage, trials: int, sizes: list[int]) -> dict:
    import optuna

    from sweep.search import parse_sweep_spec
    from sweep.search._searcher import make_searcher

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    spec = parse_sweep_spec({"trials": trials})
    # as the driver builds it: the run's quota counted in the study, concurrency limited here
    searcher = make_searcher(spec, "scale", storage, run_name="scale", quota=trials)
    searcher.set_max_concurrency(spec.concurrency)
    times = []
    for i in range(trials):
        began = time.perf_counter()
        config = searcher.suggest(f"t{i}")
        times.append(time.perf_counter() - began)
        digest = hashlib.sha256(json.dumps(config, sort_keys=True).encode()).digest()
        result = {"training_iteration": 1 + i % 4, "val_accuracy": 0.8 + digest[0] / 2560}
        searcher.on_trial_complete(f"t{i}", result)
    out = {}
    for size in sizes:
        window = sorted(times[max(0, size - 50) : size])
        out[str(size)] = {
            "p50_ms": round(1000 * window[len(window) // 2], 1),
            "p99_ms": round(1000 * window[min(len(window) - 1, int(0.99 * len(window)))], 1),
        }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=2000)
    parser.add_argument("--quick", action="store_true", help="100 trials")
    args = parser.parse_args(argv)
    trials = 100 if args.quick else args.trials
    if trials < 1:
        parser.error(f"--trials {trials}: must be at least 1")
    sizes = sorted({s for s in (50, 100, 200, 1000, 2000, trials) if s <= trials})

    import redis

    from sweep.cluster._keys import Keys
    from sweep.cluster._optuna_journal import optuna_storage

    port = _free_port()
    with tempfile.TemporaryDirectory() as folder:
        server = subprocess.Popen(
            [*("redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", folder),
             *("--appendonly", "yes", "--save", "")],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            url = f"redis://127.0.0.1:{port}/0"
            client = redis.Redis(port=port)
            for _ in range(100):
                try:
                    client.ping()
                    break
                except redis.ConnectionError:
                    time.sleep(0.05)
            in_memory = measure(None, trials, sizes)
            on_redis = measure(optuna_storage(url, "scale", Keys()), trials, sizes)
            journal = sum(client.memory_usage(k) or 0 for k in client.scan_iter("sweep:*"))
        finally:
            server.terminate()
            server.wait(10)
    print(
        json.dumps(
            {
                "benchmark": "searcher_scale",
                "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
                "load_1m": round(os.getloadavg()[0], 2),
                "trials": trials,
                "suggest_in_memory": in_memory,
                "suggest_on_redis_journal": on_redis,
                "journal_bytes_per_trial": round(journal / trials),
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
