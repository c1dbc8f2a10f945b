"""Benchmark: what the Redis state callback adds per trial report.

Starts its own redis-server on a free loopback port, drives RedisStateCallback with N
short dummy trials reporting E epochs each (as Ray Tune would call it), and prints JSON:
per-report latency (mean, p50, p99), reports per second, and whether every report landed.

    python bench/redis_callback_load.py            # 1000 trials x 10 reports
    python bench/redis_callback_load.py --quick    # 200 trials x 5 reports (CI)
"""

from __future__ import annotations

import argparse
import json
import platform
import socket
import subprocess
import tempfile
import time
from collections import Counter
from types import SimpleNamespace

import numpy as np
import redis

from sweep.cluster import RedisStateCallback, RedisStateStore


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small run for CI")
    parser.add_argument("--trials", type=int)
    parser.add_argument("--epochs", type=int)
    args = parser.parse_args()
    trials_n = args.trials or (200 if args.quick else 1000)
    epochs = args.epochs or (5 if args.quick else 10)
    port = _free_port()
    with tempfile.TemporaryDirectory() as folder:
        server = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--dir",
                folder,
                "--appendonly",
                "yes",
                "--save",
                "",
            ],
            stdout=subprocess.DEVNULL,
        )
        try:
            url = f"redis://127.0.0.1:{port}/0"
            for _ in range(100):
                try:
                    redis.Redis.from_url(url).ping()
                    break
                except redis.ConnectionError:
                    time.sleep(0.05)
            store = RedisStateStore(url)
            store.create_sweep("bench", {}, "/bench")
            cb = RedisStateCallback(store, "bench", "val_accuracy", "max", epochs)
            trials = [
                SimpleNamespace(trial_id=f"t{i:05d}", config={"i": i}, error_file=None)
                for i in range(trials_n)
            ]
            for t in trials:
                cb.on_trial_start(0, trials, t)
            latencies = []
            start = time.perf_counter()
            for epoch in range(1, epochs + 1):
                for i, t in enumerate(trials):
                    t0 = time.perf_counter()
                    cb.on_trial_result(
                        0,
                        trials,
                        t,
                        {"epoch": epoch, "val_accuracy": i / trials_n, "epoch_seconds": 0.001},
                    )
                    latencies.append(time.perf_counter() - t0)
            wall = time.perf_counter() - start
            for t in trials:
                cb.on_trial_complete(0, trials, t)
            counts = Counter(e["event"] for e in store.events("bench", count=10_000_000))
        finally:
            server.terminate()
            server.wait(10)
    lat = np.array(latencies) * 1000
    print(
        json.dumps(
            {
                "benchmark": "redis_callback_load",
                "trials": trials_n,
                "reports_per_trial": epochs,
                "reports": len(lat),
                "reports_landed": counts["reported"],
                "all_landed": counts["reported"] == len(lat) and counts["started"] == trials_n,
                "ms_per_report_mean": round(float(lat.mean()), 4),
                "ms_per_report_p50": round(float(np.percentile(lat, 50)), 4),
                "ms_per_report_p99": round(float(np.percentile(lat, 99)), 4),
                "reports_per_second": round(len(lat) / wall, 1),
                "machine": f"{platform.machine()} {platform.processor() or ''} "
                f"{__import__('os').cpu_count()} CPUs".strip(),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
