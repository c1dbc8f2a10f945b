"""Record real IMDB learning curves: configurations drawn uniformly from a search space,
each trained to the space's max epochs, every epoch's validation metrics and seconds kept.

The table feeds the surrogate and the simulator (``bench/simulate.py``). Configurations are
drawn with Optuna's RandomSampler (seeded), not by TPE, so the table covers the space evenly;
the first ``--seed-configs`` of them are trained again with other training seeds, to measure
seed noise. Each finished run is appended at once (one gzip member per run), so the recorder
can be stopped and restarted: it skips what the table holds. Trials train exactly as a
sweep's trials do (``search.train_epochs``).

    python bench/record_curves.py --data ../shared/data/imdb/aclImdb_v1.tar.gz
    python bench/record_curves.py --data ... --max-reviews 0 --workers 8   # full data
    python bench/record_curves.py --quick                                  # tiny, for CI
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import gzip
import json
import os
import platform
import signal
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

from _spaces import QUICK_SPACE  # bench/ is on sys.path when run as a script

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_TABLE = ROOT / "search" / "curves" / "imdb-4800.jsonl.gz"  # bundled
# what each run keeps of a trial's per-epoch report
EPOCH_KEYS = ("epoch", "val_accuracy", "val_loss", "val_auc", "accuracy", "loss", "epoch_seconds")


def read_table(path: Path) -> list[dict]:
    """Every complete run in ``path`` (a stopped recorder can leave a cut last member)."""
    from sweep.search._surrogate import read_rows

    return read_rows(path)


def _repair(path: Path, rows: list[dict]) -> None:
    """Rewrite the table with only its complete runs (drops a cut last member)."""
    tmp = path.with_suffix(".tmp")
    with gzip.open(tmp, "wt") as fh:
        fh.writelines(json.dumps(row) + "\n" for row in rows)
    os.replace(tmp, path)


def append_run(path: Path, row: dict) -> None:
    """One gzip member per run, flushed: a stop loses at most the run being written."""
    with open(path, "ab") as fh:
        fh.write(gzip.compress((json.dumps(row) + "\n").encode()))
        fh.flush()
        os.fsync(fh.fileno())


def machine() -> dict:
    flags = ""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and cpu == platform.machine():
                cpu = line.split(":", 1)[1].strip()
            if line.startswith("flags") and not flags:
                flags = line
    import tensorflow as tf

    gpus = [d.name for d in tf.config.list_physical_devices("GPU")]
    return {
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "amx": "amx_tile" in flags,
        "avx512_bf16": "avx512_bf16" in flags,
        "gpus": gpus,
        "tensorflow": tf.__version__,
        "python": platform.python_version(),
    }


def draw_configs(space, count: int, seed: int) -> list[dict]:
    """``count`` configurations drawn uniformly (Optuna's RandomSampler) from ``space``."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    configs = []
    for _ in range(count):
        trial = study.ask()
        configs.append(space(trial))
        study.tell(trial, 0.0)
    return configs


def plan(configs: list[dict], seed_configs: int, seeds: int) -> list[tuple[int, int]]:
    """(configuration index, training seed) of every run: each configuration once with seed
    0, the first ``seed_configs`` also with seeds 1 .. ``seeds`` - 1. The extra seeds come
    right after the first ``seed_configs`` configurations, so a table cut short still measures
    seed noise."""
    first = min(seed_configs, len(configs))
    runs = [(i, 0) for i in range(first)]
    runs += [(i, s) for i in range(first) for s in range(1, seeds)]
    runs += [(i, 0) for i in range(first, len(configs))]
    return runs


# -- worker processes ----------------------------------------------------------------------
_DATA = None
_SPEC = None


def _load(spec_mapping: dict) -> None:
    global _DATA, _SPEC
    from sweep.search import parse_sweep_spec, prepare_data

    _SPEC = parse_sweep_spec(spec_mapping)
    _, _DATA = prepare_data(_SPEC, progress=False)


def _train(index: int, seed: int, config: dict, threads: float, gpus: float) -> dict:
    from dataclasses import replace

    from sweep.search import TrialContext, train_epochs

    context = TrialContext(
        replace(_SPEC.train, seed=seed), _SPEC.asha.max_epochs, threads, _SPEC.metric, gpus
    )
    epochs, row = [], {}
    for _, metrics in train_epochs(config, _DATA, context):
        epochs.append({k: metrics[k] for k in EPOCH_KEYS})
        row = {"params": metrics["params"], "latency_ms": metrics["latency_ms"]}
    return {
        "index": index,
        "seed": seed,
        "config": config,
        "epochs": epochs,
        **row,
        "threads": threads,
        "gpus": gpus,
        # the machine's 1-minute load when the run ended: runs that shared the CPUs with
        # other work (a load above the workers' own) can be told apart
        "load_1m": round(os.getloadavg()[0], 2),
        "data": {
            "fingerprint": _DATA.fingerprint,
            "n_train": len(_DATA.y_train),
            "n_validation": len(_DATA.y_val),
        },
    }


def _commit() -> str:
    done = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    )
    return done.stdout.strip() or "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("SWEEP_IMDB", "imdb"))
    parser.add_argument("--out", type=Path, default=DEFAULT_TABLE, help="the table (.jsonl.gz)")
    parser.add_argument("--configs", type=int, default=200, help="configurations (200)")
    parser.add_argument(
        "--seed-configs", type=int, default=10, help="of them trained with --seeds seeds (10)"
    )
    parser.add_argument("--seeds", type=int, default=3, help="training seeds for those (3)")
    parser.add_argument("--draw-seed", type=int, default=0, help="seed of the draw (0)")
    parser.add_argument(
        "--max-reviews",
        type=int,
        default=6000,
        help="train and test reviews (6000: 4,800 train / 1,200 validation; 0: all)",
    )
    parser.add_argument("--workers", type=int, default=1, help="runs at once (1)")
    parser.add_argument("--threads", type=float, default=1, help="CPU threads per run (1)")
    parser.add_argument("--gpus", type=float, default=0, help="GPU share per run (0)")
    parser.add_argument(
        "--redo-above-load",
        type=float,
        default=None,
        metavar="LOAD",
        help="record again the runs that ended with the machine's 1-minute load above LOAD "
        "(their epoch times include other work; the workers themselves make a load of about "
        "--workers x --threads)",
    )
    parser.add_argument("--quick", action="store_true", help="a tiny space and data, for CI")
    args = parser.parse_args(argv)
    for name in ("configs", "workers", "seeds"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} {getattr(args, name)}: must be at least 1")
    if args.seed_configs < 0 or args.max_reviews < 0 or args.threads <= 0 or args.gpus < 0:
        parser.error("--seed-configs and --max-reviews must be 0 or more, --threads above 0")

    from sweep.search import parse_sweep_spec, spec_to_dict

    mapping = {
        "name": "curves",
        "data": {"source": args.data, "max_reviews": args.max_reviews or None},
        "asha": {"max_epochs": 2 if args.quick else 4, "grace_period": 1},
    }
    if args.quick:
        mapping["space"] = QUICK_SPACE
    spec = parse_sweep_spec(mapping)
    mapping = spec_to_dict(spec)
    configs = draw_configs(spec.space, args.configs, args.draw_seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    table = read_table(args.out)
    loaded = []
    if args.redo_above_load is not None:
        loaded = [r for r in table if r.get("load_1m", 0) > args.redo_above_load]
        table = [r for r in table if r.get("load_1m", 0) <= args.redo_above_load]
    if args.out.exists():
        _repair(args.out, table)
    done = {(r["index"], r["seed"]) for r in table}
    todo = [(i, s) for i, s in plan(configs, args.seed_configs, args.seeds) if (i, s) not in done]
    about = {
        "command": " ".join([Path(sys.argv[0]).name, *(argv or sys.argv[1:])]),
        "commit": _commit(),
        "date": datetime.date.today().isoformat(),
        "machine": machine(),
        "space": mapping["space"],
        "draw_seed": args.draw_seed,
        "max_epochs": spec.asha.max_epochs,
        "runs_before": len(table),
        "runs_planned": len(todo),
        "runs_redone_for_load": len(loaded),
    }
    from tqdm import tqdm

    # SIGTERM stops like Ctrl-C: the runs finished so far are kept and the session is recorded
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    pool = ProcessPoolExecutor(
        args.workers, mp_context=get_context("spawn"), initializer=_load, initargs=(mapping,)
    )
    stopped = False
    try:
        futures = [pool.submit(_train, i, s, configs[i], args.threads, args.gpus) for i, s in todo]
        for future in tqdm(as_completed(futures), total=len(futures), desc="runs"):
            append_run(args.out, {**future.result(), "machine": about["machine"]})
    except KeyboardInterrupt:
        stopped = True
        print("stopped: the runs finished so far are kept; run the same command to go on")
    finally:
        if stopped:  # runs in flight are lost either way: end them now, not when they finish
            for process in list((getattr(pool, "_processes", None) or {}).values()):
                process.terminate()
        pool.shutdown(wait=not stopped, cancel_futures=True)
        provenance = args.out.with_name(args.out.name.replace(".jsonl.gz", ".provenance.json"))
        history = json.loads(provenance.read_text()) if provenance.exists() else []
        history.append({**about, "stopped": stopped, "runs_after": len(read_table(args.out))})
        provenance.write_text(json.dumps(history, indent=2) + "\n")
    print(json.dumps({"table": str(args.out), **history[-1]}, indent=2))
    return 130 if stopped else 0


if __name__ == "__main__":
    sys.exit(main())
