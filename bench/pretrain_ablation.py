"""Benchmark: what the pre-trained encoder adds to the LSTM alone, and to the blend.

One bidirectional LSTM configuration trained three ways, through the sweep's own trial code
(``search.train_epochs``): from scratch, from the word vectors (PPMI + SVD on the training
and unlabelled reviews), and from the language model (``sweep pretrain``, cached in the
storage: a second run of this script reuses it). Each arm trains ``--epochs`` epochs on the
training split; the epoch with the best validation accuracy is scored once on the test
split. Also the language model's held-out perplexity and cost, and a linear probe of its
frozen states against a random LSTM's. With ``--ngram-buckets N`` the bilstm has the n-gram
branch beside it, and each arm also reports its LSTM branch alone, its n-gram branch alone
and the blend an export ships (the LSTM's weight fitted on validation). Prints JSON.

    python bench/pretrain_ablation.py --data ../shared/data/imdb/aclImdb_v1.tar.gz
    python bench/pretrain_ablation.py --data SMALL_ARCHIVE --quick   # tiny sizes (CI)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ARMS = ("scratch", "vectors", "lm")


def _spec(args):
    from sweep.search import parse_sweep_spec

    dims = [args.units]  # the language model's sizes: the classifier's
    return parse_sweep_spec(
        {
            "data": {"source": args.data, "max_reviews": args.max_reviews or None},
            "storage": args.storage,
            "space": {
                "vocab_size": [args.vocab_size],
                "sequence_length": [args.sequence_length],
                "embedding_dim": [args.embedding_dim],
                "units": dims,
                "encoder": list(ARMS),
            },
            "pretrain": {
                "epochs": args.lm_epochs,
                "window": args.window,
                "max_windows": args.max_windows,
                "cpus": os.cpu_count(),
            },
            "train": {"early_stopping_patience": 0, "reduce_lr_patience": 0},
        }
    )


def _arm(encoder: str, args, spec, data) -> dict:
    import numpy as np

    from sweep.data import sequence_view
    from sweep.model import evaluate
    from sweep.search import TrialContext, train_epochs

    config = {
        "architecture": "bilstm",
        "pooling": args.pooling,
        "vocab_size": args.vocab_size,
        "sequence_length": args.sequence_length,
        "embedding_dim": args.embedding_dim,
        "units": args.units,
        "dropout": args.dropout,
        "ngram_buckets": args.ngram_buckets,
        "optimizer": "adam",
        "learning_rate": args.learning_rate,
        "batch_size": args.batch_size,
        "encoder": encoder,
    }
    if encoder != "scratch":
        config.update(encoder_rate=args.encoder_rate, unfreeze=args.unfreeze)
    if args.ngram_buckets:
        config["ngram_dim"] = args.ngram_dim
    context = TrialContext(spec.train, args.epochs, os.cpu_count())
    start = time.perf_counter()
    best, best_weights, curve = -1.0, None, []
    for net, metrics in train_epochs(config, data, context):
        curve.append(round(metrics["val_accuracy"], 4))
        if metrics["val_accuracy"] > best:
            best, best_weights = metrics["val_accuracy"], net.get_weights()
    net.set_weights(best_weights)
    x_test = sequence_view(data.x_test, args.vocab_size, args.sequence_length)
    test, _ = evaluate(net, x_test, data.y_test, classes=data.classes)
    out = {
        "config": config,
        "val_accuracy_by_epoch": curve,
        "best_epoch": int(np.argmax(curve)) + 1,
        "test_accuracy": round(test.accuracy, 4),
        "test_roc_auc": round(test.roc_auc, 4),
        "train_seconds": round(time.perf_counter() - start, 1),
    }
    if args.ngram_buckets:
        x_val = sequence_view(data.x_val, args.vocab_size, args.sequence_length)
        out["branches"] = branches(net, (x_val, data.y_val), (x_test, data.y_test))
    return out


def branches(net, val, test) -> dict:
    """Test accuracy of the model's LSTM branch alone, its n-gram branch alone, and the blend
    an export ships: the LSTM's weight fitted on validation, as each trial fits it for the
    winner's exported model (``search.train_epochs``)."""
    import numpy as np

    from sweep.model import blend_classes, branch_logits, fit_branch_weight

    weight = fit_branch_weight(branch_logits(net, val[0]), val[1])
    logits, y = branch_logits(net, test[0]), np.asarray(test[1]).astype(int)
    return {
        "lstm_branch_alone": round(float(np.mean(blend_classes(logits, 1.0) == y)), 4),
        "ngram_branch_alone": round(float(np.mean(blend_classes(logits, 0.0) == y)), 4),
        "lstm_weight_fitted_on_validation": weight,
        "exported_blend": round(float(np.mean(blend_classes(logits, weight) == y)), 4),
    }


def linear_probe(data, args, n_train: int = 6000, n_val: int = 2000) -> dict:
    """What the language model's forward LSTM knows before any fine-tuning: scikit-learn's
    logistic regression on its mean-pooled, max-pooled and both pooled states (frozen),
    against the same LSTM randomly initialised; how large those states are, and how much
    each pooled feature varies from one review to the next (the median over units of its
    standard deviation across reviews: a feature that barely varies cannot tell reviews
    apart)."""
    import keras
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    from sweep.data import sequence_view
    from sweep.model._lstm import lstm_layer

    x = sequence_view(data.x_train[:n_train], args.vocab_size, args.sequence_length)
    x_val = sequence_view(data.x_val[:n_val], args.vocab_size, args.sequence_length)

    def pooled(net, ids):
        means, maxes = [], []
        for i in range(0, len(ids), 250):
            batch = ids[i : i + 250]
            states, real = net.predict(batch, verbose=0), (batch != 0)[..., None]
            means.append((states * real).sum(1) / np.maximum(real.sum(1), 1))
            maxes.append(np.where(real, states, -9.0).max(1))
        mean, top = np.concatenate(means), np.concatenate(maxes)
        return {"mean": mean, "max": top, "mean+max": np.concatenate([mean, top], axis=1)}

    result = {}
    for name, weights in (("language_model", data.language_model), ("random", None)):
        keras.utils.set_random_seed(0)
        embedding = keras.layers.Embedding(len(data.vocabulary), args.embedding_dim)
        lstm = lstm_layer(args.units, "lstm_0")
        ids = keras.Input((None,), dtype="int32")
        net = keras.Model(ids, lstm(embedding(ids)))
        if weights is not None:
            embedding.set_weights(weights["embedding"])
            lstm.set_weights(weights["lstm_0"])
        features, val_features = pooled(net, x), pooled(net, x_val)
        accuracy = {
            pool: round(
                float(
                    LogisticRegression(max_iter=2000)
                    .fit(features[pool], data.y_train[:n_train])
                    .score(val_features[pool], data.y_val[:n_val])
                ),
                4,
            )
            for pool in features
        }
        result[name] = {
            "val_accuracy": accuracy["mean+max"],
            "val_accuracy_by_pooling": accuracy,
            "mean_abs_state": round(float(np.abs(features["mean+max"]).mean()), 4),
            "spread_across_reviews": {
                pool: round(float(np.median(features[pool].std(axis=0))), 4)
                for pool in ("mean", "max")
            },
        }
    return {"n_train": len(x), "n_validation": len(x_val), **result}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default="imdb", help="the IMDB archive or folder")
    parser.add_argument("--storage", default="~/sweep-runs", help="where the cache lives")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for CI")
    parser.add_argument("--max-reviews", type=int, default=0, help="0: all")
    parser.add_argument("--epochs", type=int, default=4, help="classifier epochs per arm")
    parser.add_argument("--lm-epochs", type=int, default=2)
    parser.add_argument("--window", type=int, default=64)
    parser.add_argument("--max-windows", type=int, default=0, help="LM rows per epoch (0: all)")
    parser.add_argument("--vocab-size", type=int, default=20_000)
    parser.add_argument("--sequence-length", type=int, default=400)
    parser.add_argument("--embedding-dim", type=int, default=128)
    parser.add_argument("--units", type=int, default=128)
    parser.add_argument("--dropout", type=float, default=0.3)
    parser.add_argument("--pooling", default="max", choices=("last", "max", "mean"))
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--encoder-rate", type=float, default=0.5)
    parser.add_argument("--unfreeze", default="gradual", choices=("all", "gradual"))
    parser.add_argument(
        "--ngram-buckets",
        type=int,
        default=0,
        help="add the n-gram branch (e.g. 262144, the default space's): the arms then also "
        "report each branch alone and the blend with the weight fitted on validation",
    )
    parser.add_argument("--ngram-dim", type=int, default=16)
    parser.add_argument("--arms", default=",".join(ARMS), help="comma-separated subset")
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs, args.lm_epochs, args.window = 2, 1, 16
        args.vocab_size, args.sequence_length, args.embedding_dim, args.units = 300, 40, 16, 8
    arms = [arm for arm in args.arms.split(",") if arm]  # --arms "": the probe alone
    if bad := [a for a in arms if a not in ARMS]:
        parser.error(f"--arms: {bad} unknown; choose from {ARMS}")
    from sweep.search import prepare_data

    commit = subprocess.run(  # the code this run imports, before any later commit
        ["git", "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parent,
    ).stdout.strip()
    spec = _spec(args)
    started = time.perf_counter()
    _, data = prepare_data(spec, progress=False)
    prepare_seconds = time.perf_counter() - started
    lm = data.language_model_info
    results = {arm: _arm(arm, args, spec, data) for arm in arms}
    probe = linear_probe(data, args) if data.language_model is not None else None
    out = {
        "task": "IMDB polarity, "
        + ("bilstm and n-gram branch" if args.ngram_buckets else "LSTM alone (bilstm, no n-grams)"),
        "n_train": len(data.y_train),
        "n_validation": len(data.y_val),
        "n_test": len(data.y_test),
        "language_model": {
            k: lm.get(k)
            for k in (
                "key",
                "reused",
                "perplexity",
                "seconds",
                "device",
                "reviews",
                "tokens",
                "vocab_size",
                "settings",
            )
        },
        "prepare_seconds": round(prepare_seconds, 1),
        "linear_probe": probe,
        "arms": results,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "commit": commit,
    }
    print(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main()
