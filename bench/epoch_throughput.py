"""Benchmark: a warm training epoch (the faster of epochs 2 and 3) of the same LSTM, (a) as
a plain Keras script is usually written versus (b) through this project's trial path.

Same model size (vocab 20k, length 200, embedding 128, 64 units, batch 128), same IMDB train
split (minus 20 % validation).  (a) tokenizes in Python per run, pre-pads with
``keras.utils.pad_sequences`` and calls ``model.fit`` on NumPy arrays without a mask, with
TensorFlow's default threads (the whole machine). (b) takes the vectorized arrays (as a trial
receives them from the Ray object store), builds ``model.build_model``'s model (padding never
reaches the classifier) and trains with ``model.fit`` on length-bucketed batches:

- (b1) one trial given the whole machine (thread pools sized to all CPUs);
- (b2) the sweep's layout on this machine: one trial per CPU, each with 1-thread pools, all at
  once (separate processes, as Ray runs them); reviews/second summed over the trials.

This VM's speed changes for minutes at a time (the same run has measured 975 and 1,600
reviews/s), so the three paths run one after another in each of ``--rounds`` rounds (default
3) and the ratios are taken within a round; the summary is the median over rounds.
``--keras-adam`` gives (b) Keras' own Adam instead of the fused one (``model.FusedAdam``), to
measure what the fused update gives; ``--lstm-kernel keras`` gives (b) ``keras.layers.LSTM``
instead of ``model.ProjectedLSTM`` (what ``auto`` picks on a CPU with native bfloat16).

Prints JSON with reviews/second, the ratios to (a) and validation accuracy after 3 epochs.

    python bench/epoch_throughput.py --data ../shared/data/imdb/aclImdb_v1.tar.gz
    python bench/epoch_throughput.py --data ... --keras-adam
    python bench/epoch_throughput.py --data ... --lstm-kernel keras
    python bench/epoch_throughput.py --data ... --quick     # 2,000 reviews, length 64 (CI)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import time
from collections import Counter

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

LSTM_KERNELS = ("auto", "keras", "projected")  # model.LSTM_KERNELS, without importing TF


def plain_keras(train, val, vocab, length, emb, units, batch) -> dict:
    import keras
    import numpy as np

    t0 = time.perf_counter()

    def words(text: str) -> list[str]:
        return re.sub(r"[^a-z0-9' ]", " ", text.lower()).split()

    counts = Counter(w for t in train["text"] for w in words(t))
    index = {w: i + 1 for i, (w, _) in enumerate(counts.most_common(vocab - 1))}

    def seqs(frame):
        return keras.utils.pad_sequences(
            [[index[w] for w in words(t) if w in index] for t in frame["text"]], maxlen=length
        )

    x, xv = seqs(train), seqs(val)
    tokenize_s = time.perf_counter() - t0
    net = keras.Sequential(
        [
            keras.Input((length,)),
            keras.layers.Embedding(vocab, emb),
            keras.layers.LSTM(units),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    net.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    y = train["label"].to_numpy()
    net.fit(x, y, batch_size=batch, epochs=1, verbose=0)  # first epoch: tracing and warm-up
    times = []  # two warm epochs, the faster counts (this VM's speed varies between runs)
    for epoch in (1, 2):
        t1 = time.perf_counter()
        net.fit(x, y, batch_size=batch, epochs=epoch + 1, initial_epoch=epoch, verbose=0)
        times.append(time.perf_counter() - t1)
    epoch_s = min(times)
    acc = net.evaluate(xv, val["label"].to_numpy(), verbose=0)[1]
    return {
        "tokenize_seconds": tokenize_s,
        "epoch_seconds": epoch_s,
        "reviews_per_second": len(x) / epoch_s,
        "val_accuracy_after_3_epochs": float(acc),
        "mean_tokens": float(np.mean([len(words(t)) for t in train["text"][:2000]])),
    }


def project_path(
    vec, vocab, length, emb, units, batch, cpus=None, keras_adam=False, lstm_kernel="auto"
) -> dict:
    import keras

    from sweep.data import sequence_view
    from sweep.model import (
        ModelConfig,
        TrainConfig,
        build_model,
        compile_model,
        configure_runtime,
        evaluate,
        fit,
    )

    configure_runtime(cpus=cpus or os.cpu_count(), seed=0)

    cfg = ModelConfig("lstm", vocab, length, emb, units, dropout=0.0, lstm_kernel=lstm_kernel)
    train = (sequence_view(vec.x_train, vocab, length), vec.y_train)
    val = (sequence_view(vec.x_val, vocab, length), vec.y_val)
    net = build_model(cfg)
    config = TrainConfig(
        epochs=1, batch_size=batch, early_stopping_patience=0, reduce_lr_patience=0
    )
    # the ablation: Keras' own Adam update instead of the fused kernel
    compile_model(net, config, keras.optimizers.Adam(config.learning_rate) if keras_adam else None)
    fit(net, train, None, config)  # first epoch: graph tracing and warm-up
    times = []  # two warm epochs, the faster counts, as for (a)
    for epoch in (1, 2):
        t1 = time.perf_counter()
        fit(net, train, None, config, initial_epoch=epoch, epochs=epoch + 1)
        times.append(time.perf_counter() - t1)
    epoch_s = min(times)
    metrics, _ = evaluate(net, *val)
    return {
        "epoch_seconds": epoch_s,
        "reviews_per_second": len(train[0]) / epoch_s,
        "val_accuracy_after_3_epochs": metrics.accuracy,
    }


def concurrent_trials(args, n: int) -> dict:
    """``n`` trial processes at once, 1 CPU each; reviews/second summed."""
    import subprocess
    import sys

    cmd = [sys.executable, __file__, "--data", args.data, "--worker"]
    cmd += ["--quick"] if args.quick else []
    cmd += ["--keras-adam"] if args.keras_adam else []
    cmd += ["--lstm-kernel", args.lstm_kernel]
    procs = [
        subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        for _ in range(n)
    ]
    rows = [json.loads(p.communicate()[0]) for p in procs]
    if any(p.returncode for p in procs):
        raise SystemExit("a concurrent trial process failed")
    return {
        "trials": n,
        "cpus_per_trial": 1,
        "reviews_per_second_each": [round(r["reviews_per_second"]) for r in rows],
        "reviews_per_second": sum(r["reviews_per_second"] for r in rows),
        "val_accuracy_after_3_epochs": rows[0]["val_accuracy_after_3_epochs"],
    }


def one_round(args, splits, vec, sizes) -> dict:
    """(a), (b1) and (b2) one after another, with their ratios."""
    vocab, length, emb, units, batch = sizes
    a = plain_keras(splits.train, splits.validation, vocab, length, emb, units, batch)
    b = project_path(vec, vocab, length, emb, units, batch, None, args.keras_adam, args.lstm_kernel)
    b2 = concurrent_trials(args, os.cpu_count() or 1)
    return {
        "plain_keras": a,
        "project_trial_path": b,
        "project_concurrent_trials": b2,
        "speedup": b["reviews_per_second"] / a["reviews_per_second"],
        "speedup_concurrent": b2["reviews_per_second"] / a["reviews_per_second"],
    }


def main() -> None:
    import statistics

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("SWEEP_IMDB", "imdb"))
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int, default=None, help="default 3 (1 with --quick)")
    parser.add_argument("--keras-adam", action="store_true", help="(b) with Keras' own Adam")
    parser.add_argument(
        "--lstm-kernel",
        choices=LSTM_KERNELS,
        default="auto",
        help="(b)'s LSTM: auto (projected on a CPU with native bfloat16), keras or projected",
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rounds is not None and args.rounds < 1:
        parser.error(f"--rounds {args.rounds}: must be at least 1")
    from sweep.data import DataConfig, prepare_splits, vectorize_splits
    from sweep.model import use_projected_lstm

    n, length, vocab, emb, units, batch = (
        (2000, 64, 5000, 32, 16, 128) if args.quick else (None, 200, 20_000, 128, 64, 128)
    )
    splits = prepare_splits(DataConfig(args.data, max_reviews=n), progress=False)
    t0 = time.perf_counter()
    vec = vectorize_splits(splits, vocab, length)
    vectorize_s = time.perf_counter() - t0
    if args.worker:  # one of the concurrent trials of (b2)
        row = project_path(
            vec, vocab, length, emb, units, batch, 1, args.keras_adam, args.lstm_kernel
        )
        print(json.dumps(row))
        return
    rounds_n = args.rounds or (1 if args.quick else 3)
    sizes = (vocab, length, emb, units, batch)
    rounds = [one_round(args, splits, vec, sizes) for _ in range(rounds_n)]

    def median(path: str) -> float:
        return statistics.median(r[path]["reviews_per_second"] for r in rounds)

    print(
        json.dumps(
            {
                "benchmark": "epoch_throughput",
                "quick": args.quick,
                "train_reviews": len(splits.train),
                "vocab": vocab,
                "length": length,
                "embedding": emb,
                "units": units,
                "batch": batch,
                "optimizer_b": "keras.optimizers.Adam" if args.keras_adam else "model.FusedAdam",
                "lstm_b": "ProjectedLSTM" if use_projected_lstm(args.lstm_kernel) else "keras LSTM",
                "vectorize_once_seconds": vectorize_s,
                "median_reviews_per_second": {
                    "plain_keras": median("plain_keras"),
                    "project_trial_path": median("project_trial_path"),
                    "project_concurrent_trials": median("project_concurrent_trials"),
                },
                "speedup": statistics.median(r["speedup"] for r in rounds),
                "speedup_concurrent": statistics.median(r["speedup_concurrent"] for r in rounds),
                "rounds": rounds,
                "machine": f"{platform.machine()} {os.cpu_count()} CPUs",
            },
            indent=2,
            default=float,
        )
    )


if __name__ == "__main__":
    main()
