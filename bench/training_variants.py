"""Benchmark: do the project's faster training variants train as well as Keras' own?

The throughput LSTM of ``bench/epoch_throughput.py`` (vocab 20k, length 200, embedding 128,
64 units, batch 128, no dropout) trained 3 epochs through the project's training path with each
variant, for several seeds (the seed sets the initial weights and the batch order; both
variants see the same ones). ``--compare`` picks the pair:

- ``optimizer`` (default): Keras' Adam against the fused update (``model.FusedAdam``), both
  with ``keras.layers.LSTM``. The two differ only where an embedding row's id repeats in a
  batch: Keras 3 squares each occurrence's gradient in Adam's second moment, the fused kernel
  the row's summed gradient, as Adam is defined (see ``model/_optimizers.py``).
- ``lstm-kernel``: ``keras.layers.LSTM`` against ``model.ProjectedLSTM`` (the input
  projection in bfloat16), both with the fused Adam.

Prints JSON with validation accuracy per epoch and epoch seconds.

    python bench/training_variants.py --data ../shared/data/imdb/aclImdb_v1.tar.gz  # seeds 0-3
    python bench/training_variants.py --data ... --compare lstm-kernel
    python bench/training_variants.py --data ... --quick                            # CI
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


VARIANTS = {  # --compare: (name, optimizer, LSTM kernel) for the baseline and the variant
    "optimizer": (("keras", "keras", "keras"), ("fused", "fused", "keras")),
    "lstm-kernel": (("keras", "fused", "keras"), ("projected", "fused", "projected")),
}


def run(vec, variant: tuple[str, str, str], seed: int, sizes, epochs: int) -> dict:
    import keras

    from sweep.model import (
        ModelConfig,
        TrainConfig,
        build_model,
        compile_model,
        configure_runtime,
        fit,
    )

    name, optimizer, kernel = variant

    vocab, length, emb, units, batch = sizes
    configure_runtime(cpus=os.cpu_count(), seed=seed)
    config = TrainConfig(
        epochs=epochs, batch_size=batch, early_stopping_patience=0, reduce_lr_patience=0, seed=seed
    )
    net = compile_model(
        build_model(
            ModelConfig("lstm", vocab, length, emb, units, dropout=0.0, lstm_kernel=kernel)
        ),
        config,
        keras.optimizers.Adam(config.learning_rate) if optimizer == "keras" else None,
    )
    history = fit(net, (vec.x_train, vec.y_train), (vec.x_val, vec.y_val), config)
    return {
        "variant": name,
        "optimizer": optimizer,
        "lstm_kernel": kernel,
        "seed": seed,
        "val_accuracy_per_epoch": [round(r.val_accuracy, 4) for r in history],
        "epoch_seconds": [round(r.seconds, 1) for r in history],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("SWEEP_IMDB", "imdb"))
    parser.add_argument("--seeds", type=int, default=4, help="seeds 0 .. N-1 (default 4)")
    parser.add_argument("--compare", choices=sorted(VARIANTS), default="optimizer")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.seeds < 1:
        parser.error(f"--seeds {args.seeds}: must be at least 1")
    from sweep.data import DataConfig, prepare_splits, vectorize_splits

    n, sizes, epochs, seeds = (
        (1000, (2000, 64, 16, 8, 64), 2, 2)
        if args.quick
        else (None, (20_000, 200, 128, 64, 128), 3, args.seeds)
    )
    splits = prepare_splits(DataConfig(args.data, max_reviews=n), progress=False)
    vec = vectorize_splits(splits, sizes[0], sizes[1])
    pair = VARIANTS[args.compare]
    runs = [run(vec, variant, seed, sizes, epochs) for seed in range(seeds) for variant in pair]

    def mean_final(name: str) -> float:
        finals = [r["val_accuracy_per_epoch"][-1] for r in runs if r["variant"] == name]
        return statistics.mean(finals)

    print(
        json.dumps(
            {
                "benchmark": "training_variants",
                "compare": args.compare,
                "quick": args.quick,
                "train_reviews": len(splits.train),
                "validation_reviews": len(splits.validation),
                "epochs": epochs,
                "mean_final_val_accuracy": {name: mean_final(name) for name, _, _ in pair},
                "runs": runs,
                "machine": f"{platform.machine()} {os.cpu_count()} CPUs",
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
