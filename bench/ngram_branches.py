"""Benchmark: what the bag-of-n-grams branch and the LSTM each contribute.

(a) the bag alone: the n-gram branch of ``model.build_model`` (words and hashed bigrams,
fastText-style) with its own output layer, no LSTM, trained on the same split;
(b) with ``--model DIR``: each branch of an exported model that has the branch (a sweep's
``best/`` or a ``sweep train --ngram-buckets`` export), scored alone and as the model's mean
of logits, on the test split. Prints JSON with test accuracies.

    python bench/ngram_branches.py --data ../shared/data/imdb/aclImdb_v1.tar.gz \\
        --model runs/<sweep id>/best
    python bench/ngram_branches.py --data ... --quick     # 2,000 reviews, tiny models (CI)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def bag_only(vec, config, train_config) -> dict:
    """Train the n-gram branch alone (its own output layer) and test it."""
    import keras

    from sweep.model import evaluate, fit
    from sweep.model._builders import _ngram_bag

    ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    out = keras.layers.Dense(1, activation="sigmoid")(_ngram_bag(ids, config))
    net = keras.Model(ids, out, name="ngram_bag")
    t0 = time.perf_counter()
    history = fit(net, (vec.x_train, vec.y_train), (vec.x_val, vec.y_val), train_config)
    test, _ = evaluate(net, vec.x_test, vec.y_test)
    return {
        "val_accuracy_per_epoch": [r.val_accuracy for r in history],
        "test_accuracy": test.accuracy,
        "test_roc_auc": test.roc_auc,
        "train_seconds": time.perf_counter() - t0,
    }


def branches(model_dir: str, texts, labels) -> dict:
    """Test accuracy of each branch of an exported model alone, of their mean, and of the
    blend the model was exported with (its LSTM weight fitted on validation)."""
    import keras
    import numpy as np
    import tensorflow as tf

    from sweep.model import load_model

    full, meta = load_model(model_dir)
    if not meta["model_config"].get("ngram_buckets"):
        raise SystemExit(f"{model_dir}: this model has no n-gram branch (ngram_buckets is 0)")
    to_ids = keras.Model(full.input, full.get_layer("keep_last").output)
    net = next(layer for layer in full.layers if isinstance(layer, keras.Model))
    logits = keras.Model(
        net.input, [net.get_layer("lstm_logit").output, net.get_layer("ngram_logit").output]
    )
    ids = to_ids.predict(tf.constant(list(texts))[:, None], batch_size=512, verbose=0)
    lstm, bag = (np.asarray(z).ravel() for z in logits.predict(ids, batch_size=256, verbose=0))
    y = np.asarray(labels) == 1

    def accuracy(z):
        return float(((z > 0) == y).mean())

    blend = meta.get("branch_weight") or {}
    weight = blend.get("lstm")  # None: exported before the weight was fitted, or not fitted
    output = full.predict(tf.constant(list(texts))[:, None], batch_size=256, verbose=0)
    return {
        "model": str(model_dir),
        "lstm_branch_alone": accuracy(lstm),
        "ngram_branch_alone": accuracy(bag),
        "model_mean_of_logits": accuracy((lstm + bag) / 2),
        "lstm_weight_fitted_on_validation": weight,
        "fitted_blend": None if weight is None else accuracy(weight * lstm + (1 - weight) * bag),
        "model_output": float(((output.ravel() > 0.5) == y).mean()),  # with its weight
        "logit_correlation": float(np.corrcoef(lstm, bag)[0, 1]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("SWEEP_IMDB", "imdb"))
    parser.add_argument("--model", help="an exported model with the n-gram branch")
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    from sweep.data import DataConfig, prepare_splits, vectorize_splits
    from sweep.model import (
        ModelConfig,
        TrainConfig,
        branch_logits,
        build_model,
        configure_runtime,
        export_model,
        fit,
        fit_branch_weight,
        set_branch_weight,
    )

    configure_runtime(seed=0)
    n, vocab, length, buckets, epochs = (
        (2000, 2000, 64, 4096, 2) if args.quick else (None, 30_000, 400, 262_144, 4)
    )
    splits = prepare_splits(DataConfig(args.data, max_reviews=n), progress=False)
    vec = vectorize_splits(splits, vocab, length)
    config = ModelConfig(
        architecture="bilstm",
        pooling="max",
        vocab_size=vocab,
        sequence_length=length,
        embedding_dim=16 if args.quick else 128,
        units=8 if args.quick else 64,
        ngram_buckets=buckets,
    )
    # the rate the hybrid trains with; the branch's embedding scale makes it 10x for the bag
    bag_train = TrainConfig(
        learning_rate=args.learning_rate, batch_size=64, epochs=epochs, early_stopping_patience=0
    )
    result = {
        "benchmark": "ngram_branches",
        "quick": args.quick,
        "train_reviews": len(splits.train),
        "test_reviews": len(splits.test),
        "bag_only": {
            "config": {
                "vocab": vocab,
                "length": length,
                "buckets": buckets,
                "learning_rate": args.learning_rate,
                "epochs": epochs,
            }
        },
        "machine": f"{platform.machine()} {os.cpu_count()} CPUs",
    }
    result["bag_only"].update(bag_only(vec, config, bag_train))
    model_dir = args.model
    if model_dir is None and args.quick:  # train and export a tiny model with the branch
        net = build_model(config)
        fit(net, (vec.x_train, vec.y_train), None, TrainConfig(epochs=epochs, batch_size=64))
        weight = fit_branch_weight(branch_logits(net, vec.x_val), vec.y_val)
        set_branch_weight(net, weight)
        model_dir = export_model(
            net,
            vec.vocabulary,
            config,
            tempfile.mkdtemp() + "/m",
            metadata={"branch_weight": {"lstm": weight, "ngram": 1.0 - weight}},
            saved_model=False,
        )
    if model_dir is not None:
        result["branches"] = branches(model_dir, splits.test["text"], splits.test["label"])
    print(json.dumps(result, indent=2, default=float))


if __name__ == "__main__":
    main()
